//! A fleet of hosts indexed for many placements: per request shape (request, settings, cluster)
//! the hosts that pass every filter, ordered by score, so a placement takes the first and a claim
//! re-filters and re-scores only the host it changed: O(log n) per placement, not a scan of every
//! host. A shape's first placement is a scan (its filings kept); the order is built at its second,
//! so shapes placed once (say, each with its own `avoid_hosts`) cost no more than `place`. The
//! choice is exactly `place`'s (highest score, ties to the lowest name); so is the no-fit
//! explanation, from refusals counted per reason as hosts are filed (no map per host).

use super::{Constraint, HostView, NoFit, Reason, Request, Settings, parse_constraints, refuse_with, score_with};
use crate::ClusterId;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, HashMap};

/// How many request shapes keep their filings (the least recently used is dropped first).
const SHAPES: usize = 8;

/// Hosts, the members of each cluster on them, and an index of the fitting hosts per request shape.
pub struct Fleet {
    hosts: Vec<HostView>,
    /// Each host's position in name order (input order among equal names): the tie-break.
    rank: Vec<u32>,
    /// Per cluster, how many of its members each host holds, by host index.
    members: HashMap<ClusterId, Vec<u32>>,
    /// The request shapes placed so far (at most `SHAPES`), the most recently used first.
    shapes: Vec<Shape>,
}

/// One request shape and the hosts that fit it, best first.
struct Shape {
    request: Request,
    settings: Settings,
    cluster: Option<ClusterId>,
    constraints: Vec<Constraint>,
    /// Each host's entry in `order`, or the first filter refusing it.
    keys: Vec<Result<Key, Reason>>,
    /// The fitting hosts, best first; built when the shape is placed a second time.
    order: Option<BTreeSet<Key>>,
    /// How many hosts each reason refuses (by `Reason as usize`).
    refused: [usize; Reason::ALL.len()],
}

/// Sorts hosts best first: higher score, then lower name rank (unique, so `index` never decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    score: Reverse<Score>,
    rank: u32,
    index: u32,
}

/// A score, totally ordered (`f64::total_cmp`, with -0.0 read as 0.0).
#[derive(Debug, Clone, Copy)]
struct Score(f64);

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Score {}

/// How many members of `cluster` each host holds, by host index (`None`: none anywhere).
fn members_of(members: &HashMap<ClusterId, Vec<u32>>, cluster: Option<ClusterId>) -> Option<&[u32]> {
    cluster.and_then(|c| members.get(&c)).map(Vec::as_slice)
}

impl Shape {
    /// Where `host` (at `index`, name rank `rank`, holding `members`) sorts, or why it is refused.
    fn key(&self, host: &HostView, index: usize, rank: u32, members: u32) -> Result<Key, Reason> {
        if let Some(reason) = refuse_with(host, members, &self.request, &self.constraints, &self.settings) {
            return Err(reason);
        }
        // Adding 0.0 turns -0.0 into 0.0, which `place`'s `>` holds equal.
        let score = score_with(host, members, &self.request, &self.settings) + 0.0;
        Ok(Key { score: Reverse(Score(score)), rank, index: index as u32 })
    }
}

impl Fleet {
    /// Files nothing yet: each request shape is filed when first placed, ordered when placed again.
    pub fn new(hosts: Vec<HostView>) -> Self {
        let mut by_name: Vec<usize> = (0..hosts.len()).collect();
        by_name.sort_by(|&a, &b| hosts[a].name.cmp(&hosts[b].name));
        let mut rank = vec![0; hosts.len()];
        for (position, &index) in by_name.iter().enumerate() {
            rank[index] = position as u32;
        }
        Self { hosts, rank, members: HashMap::new(), shapes: Vec::new() }
    }

    /// The index of the best host for `request`, placing a member of `cluster` (if any), or why
    /// there is none; the same answer as `place` over these hosts with `cluster`'s member counts.
    pub fn place(&mut self, request: &Request, settings: &Settings, cluster: Option<ClusterId>) -> Result<usize, NoFit> {
        let at = self.shapes.iter().position(|s| s.cluster == cluster && s.settings == *settings && s.request == *request);
        let (shape, best) = match at {
            Some(at) => {
                let mut shape = self.shapes.remove(at);
                let order = shape.order.get_or_insert_with(|| shape.keys.iter().filter_map(|k| k.ok()).collect());
                let best = order.first().copied();
                (shape, best)
            }
            None => {
                let shape = self.file(request, settings, cluster);
                let best = shape.keys.iter().filter_map(|k| k.ok()).min();
                (shape, best)
            }
        };
        let answer = best.map(|b| b.index as usize).ok_or_else(|| NoFit::from_counts(self.hosts.len(), &shape.refused));
        self.shapes.truncate(SHAPES - 1);
        self.shapes.insert(0, shape);
        answer
    }

    /// Changes host `index` (a claim, a new measure) and re-files it in every kept shape.
    pub fn update(&mut self, index: usize, change: impl FnOnce(&mut HostView)) {
        change(&mut self.hosts[index]);
        self.refile(index);
    }

    /// Whether `cluster`'s member counts were given (`set_members`) or counted (`add_member`).
    pub fn knows_members(&self, cluster: ClusterId) -> bool {
        self.members.contains_key(&cluster)
    }

    /// How many members of `cluster` each host holds, by host index (hosts absent hold none).
    pub fn set_members(&mut self, cluster: ClusterId, counts: HashMap<usize, u32>) {
        let mut dense = vec![0; self.hosts.len()];
        for (index, n) in counts {
            dense[index] = n;
        }
        self.members.insert(cluster, dense);
        self.shapes.retain(|s| s.cluster != Some(cluster));
    }

    /// One more member of `cluster` on host `index`.
    pub fn add_member(&mut self, cluster: ClusterId, index: usize) {
        self.members.entry(cluster).or_insert_with(|| vec![0; self.hosts.len()])[index] += 1;
        self.refile(index);
    }

    /// Filters and scores every host once for a new request shape (no order yet).
    fn file(&self, request: &Request, settings: &Settings, cluster: Option<ClusterId>) -> Shape {
        let mut shape = Shape {
            request: request.clone(),
            settings: *settings,
            cluster,
            constraints: parse_constraints(request),
            keys: Vec::with_capacity(self.hosts.len()),
            order: None,
            refused: [0; Reason::ALL.len()],
        };
        let members = members_of(&self.members, cluster);
        for (index, host) in self.hosts.iter().enumerate() {
            let key = shape.key(host, index, self.rank[index], members.map_or(0, |m| m[index]));
            if let Err(reason) = key {
                shape.refused[reason as usize] += 1;
            }
            shape.keys.push(key);
        }
        shape
    }

    /// Re-filters and re-scores host `index` in every kept shape.
    fn refile(&mut self, index: usize) {
        let host = &self.hosts[index];
        for shape in &mut self.shapes {
            match (shape.keys[index], &mut shape.order) {
                (Ok(old), Some(order)) => _ = order.remove(&old),
                (Ok(_), None) => {}
                (Err(reason), _) => shape.refused[reason as usize] -= 1,
            }
            let members = members_of(&self.members, shape.cluster).map_or(0, |m| m[index]);
            let key = shape.key(host, index, self.rank[index], members);
            match (key, &mut shape.order) {
                (Ok(key), Some(order)) => _ = order.insert(key),
                (Ok(_), None) => {}
                (Err(reason), _) => shape.refused[reason as usize] += 1,
            }
            shape.keys[index] = key;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host, no_fit, want};
    use super::super::{AffinityRules, HostState, Strategy, place};
    use super::*;
    use crate::profile::PortSpec;

    /// A small deterministic generator (no dependency).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// 240 hosts of every kind: states, zones, pools, labels, ports, allocations, equal scores
    /// (names in reverse of input order, so ties are decided by name, not position).
    fn mixed() -> Vec<HostView> {
        (0..240u32)
            .map(|i| {
                let mut h = host(&format!("h{:03}", 239 - i), f64::from(i % 4) / 4.0);
                h.state = [HostState::Up, HostState::Up, HostState::Up, HostState::Down, HostState::Draining, HostState::Disabled]
                    [(i % 6) as usize];
                h.zone = format!("az{}", i % 3);
                h.pool = if i % 5 == 0 { "web" } else { "default" }.into();
                h.labels.insert("disk".into(), if i % 2 == 0 { "ssd" } else { "hdd" }.into());
                h.allocated.memory_mib = u64::from(i % 7) * 1024;
                if i % 9 == 0 {
                    h.host_ports.insert((8080, "tcp".into()));
                }
                if i % 11 == 0 {
                    h.images.insert("busybox".into());
                }
                h
            })
            .collect()
    }

    #[test]
    fn chooses_and_explains_as_place_does_while_hosts_fill() {
        let zones = |z: &str| BTreeSet::from([z.to_owned()]);
        let port = vec![PortSpec { container: 80, protocol: "tcp".into(), host: Some(8080) }];
        let shapes = [
            (want(512), Settings::default()),
            (Request { constraints: vec!["label.disk == ssd".into(), "zone != az2".into()], ..want(1024) }, Settings::default()),
            (Request { pool: Some("web".into()), ports: port, ..want(256) }, Settings::default()),
            (Request { affinity: AffinityRules { avoid_member_hosts: true, ..Default::default() }, ..want(256) }, Settings::default()),
            (Request { affinity: AffinityRules { prefer_zones: zones("az1"), ..Default::default() }, ..want(768) }, Settings::default()),
            (want(2048), Settings { strategy: Strategy::BinPack, ..Settings::default() }),
        ];
        let clusters = [ClusterId::new(), ClusterId::new()];
        let mut views = mixed();
        let mut members: HashMap<ClusterId, Vec<u32>> = clusters.iter().map(|c| (*c, vec![0; views.len()])).collect();
        let mut fleet = Fleet::new(views.clone());
        let (mut rng, mut placed, mut refused) = (Lcg(7), 0, 0);
        for step in 0..1_500 {
            let (request, settings) = &shapes[rng.below(shapes.len() as u64) as usize];
            let cluster = clusters[rng.below(2) as usize];
            for (view, n) in views.iter_mut().zip(&members[&cluster]) {
                view.cluster_members = *n;
            }
            let expected = place(&views, request, settings).map(|chosen| views.iter().position(|v| std::ptr::eq(v, chosen)).unwrap());
            let got = fleet.place(request, settings, Some(cluster));
            assert_eq!(got, expected, "step {step}");
            let Ok(index) = got else {
                refused += 1;
                continue;
            };
            placed += 1;
            let claim = |h: &mut HostView| {
                h.allocated.memory_mib += request.resources.memory_mib;
                h.allocated.cpu_millis += request.resources.cpu_millis;
                h.containers += 1;
                h.host_ports.extend(request.ports.iter().filter_map(|p| p.host.map(|n| (n, p.protocol.clone()))));
            };
            claim(&mut views[index]);
            fleet.update(index, claim);
            fleet.add_member(cluster, index);
            members.get_mut(&cluster).unwrap()[index] += 1;
        }
        assert!(placed > 300 && refused > 100, "both paths ran: {placed} placed, {refused} refused");
    }

    #[test]
    fn one_fitting_host_among_ten_thousand_is_found_then_explained() {
        let mut hosts: Vec<HostView> = (0..10_000).map(|i| host(&format!("h{i:05}"), 0.0)).collect();
        hosts[7_321].labels.insert("gpu".into(), "yes".into());
        let mut fleet = Fleet::new(hosts);
        let request = Request { constraints: vec!["label.gpu == yes".into()], ..want(4096) };
        let s = Settings::default();
        assert_eq!(fleet.place(&request, &s, None), Ok(7_321));
        fleet.update(7_321, |h| h.allocated.memory_mib += 4096);
        assert_eq!(fleet.place(&request, &s, None), Ok(7_321), "half full, it still fits");
        fleet.update(7_321, |h| h.allocated.memory_mib += 4096);
        assert_eq!(
            fleet.place(&request, &s, None).unwrap_err().to_string(),
            "no host fits: 10000 hosts; 9999 excluded by constraints, 1 insufficient memory"
        );
        fleet.update(7_321, |h| h.allocated.memory_mib = 0);
        assert_eq!(fleet.place(&request, &s, None), Ok(7_321), "freed, it fits again");
    }

    #[test]
    fn no_fit_explanation_is_places() {
        let (hosts, request, explanation) = no_fit();
        let expected = place(&hosts, &request, &Settings::default()).unwrap_err();
        let got = Fleet::new(hosts).place(&request, &Settings::default(), None).unwrap_err();
        assert_eq!(got, expected);
        assert_eq!(got.to_string(), explanation);
    }

    #[test]
    fn members_are_counted_per_cluster() {
        let apart = Request { affinity: AffinityRules { avoid_member_hosts: true, ..Default::default() }, ..want(64) };
        let s = Settings::default();
        let (a, b) = (ClusterId::new(), ClusterId::new());
        let mut fleet = Fleet::new(vec![host("x", 0.1), host("y", 0.2)]);
        assert!(!fleet.knows_members(a));
        for expected in [0, 1] {
            let index = fleet.place(&apart, &s, Some(a)).unwrap();
            assert_eq!(index, expected);
            fleet.add_member(a, index);
        }
        assert!(fleet.knows_members(a));
        assert_eq!(fleet.place(&apart, &s, Some(a)).unwrap_err().to_string(), "no host fits: 2 hosts; 2 excluded by anti-affinity");
        assert_eq!(fleet.place(&apart, &s, Some(b)), Ok(0), "another cluster's members do not count");
        fleet.set_members(b, HashMap::from([(0, 3)]));
        assert_eq!(fleet.place(&apart, &s, Some(b)), Ok(1), "given counts replace the index");
        assert_eq!(fleet.place(&want(64), &s, Some(b)), Ok(1), "spread: fewer members first");
    }
}
