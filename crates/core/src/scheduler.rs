//! Placement: filter a region's hosts, score the survivors, pick one; explain when none fits.
//! Pure and deterministic (ties break on host name), like kube-scheduler's filter/score cycle.
//! `place` scans a slice of hosts once; `Fleet` (`fleet.rs`) keeps hosts indexed by score per
//! request shape, for many placements over many hosts.

mod fleet;

pub use fleet::Fleet;

use crate::profile::PortSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Compute resources: CPU in thousandths of a core, memory and disk in MiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub disk_mib: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState {
    Up,
    Down,
    Draining,
    Disabled,
}

/// What the scheduler knows of one host at decision time.
#[derive(Debug, Clone)]
pub struct HostView {
    pub name: String,
    pub zone: String,
    pub pool: String,
    pub labels: BTreeMap<String, String>,
    pub state: HostState,
    pub capacity: Resources,
    pub allocated: Resources,
    /// Measured CPU use, 0.0 to 1.0.
    pub cpu_utilisation: f64,
    /// Host ports already published there, as `(port, protocol)`.
    pub host_ports: BTreeSet<(u16, String)>,
    /// How many members of the cluster being placed already run there (read by `place`, `refuse`
    /// and `score`; a `Fleet` keeps its own counts per cluster instead: `Fleet::set_members`).
    pub cluster_members: u32,
    /// How many containers the host holds in all.
    pub containers: u32,
    pub images: BTreeSet<String>,
}

/// One placement request: a container and the rules around it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub resources: Resources,
    pub ports: Vec<PortSpec>,
    pub image: String,
    /// `host_node`: only this host.
    pub host: Option<String>,
    /// `host_cluster`: only hosts of this pool.
    pub pool: Option<String>,
    /// `key == value` / `key != value` over `zone`, `pool`, `name` and `label.KEY`.
    pub constraints: Vec<String>,
    /// Hosts excluded by hard anti-affinity.
    pub avoid_hosts: BTreeSet<String>,
    /// The rest of an affinity policy's wishes: zones excluded, hosts or zones required, favoured or shunned.
    pub affinity: AffinityRules,
}

/// Placement rules relative to a cluster's members, from an affinity policy; all empty means none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffinityRules {
    /// Hard anti-affinity by host, as the placement sees the hosts: a host already holding a
    /// member of the cluster (`HostView::cluster_members`, counted where the placement is written)
    /// is excluded, so members placed at the same time never share a host.
    pub avoid_member_hosts: bool,
    /// Hard anti-affinity by zone: zones excluded.
    pub avoid_zones: BTreeSet<String>,
    /// Hard affinity by host: when not empty, only these hosts.
    pub only_hosts: BTreeSet<String>,
    /// Hard affinity by zone: when not empty, only hosts in these zones.
    pub only_zones: BTreeSet<String>,
    /// Soft affinity by host: these hosts score higher.
    pub prefer_hosts: BTreeSet<String>,
    /// Soft affinity by zone: hosts in these zones score higher.
    pub prefer_zones: BTreeSet<String>,
    /// Soft anti-affinity by host: these hosts score lower.
    pub shun_hosts: BTreeSet<String>,
    /// Soft anti-affinity by zone: hosts in these zones score lower.
    pub shun_zones: BTreeSet<String>,
}

impl AffinityRules {
    /// Whether `host` breaks a hard rule: excluded by anti-affinity, or outside what affinity requires.
    fn refuse(&self, host: &HostView, members: u32) -> Option<Reason> {
        if self.avoid_zones.contains(&host.zone) || (self.avoid_member_hosts && members > 0) {
            return Some(Reason::AntiAffinity);
        }
        let outside = |set: &BTreeSet<String>, name: &String| !set.is_empty() && !set.contains(name);
        (outside(&self.only_hosts, &host.name) || outside(&self.only_zones, &host.zone)).then_some(Reason::Affinity)
    }

    /// +1 for a favoured host, -1 for a shunned one (0 when both or neither).
    fn wish(&self, host: &HostView) -> f64 {
        let favoured = self.prefer_hosts.contains(&host.name) || self.prefer_zones.contains(&host.zone);
        let shunned = self.shun_hosts.contains(&host.name) || self.shun_zones.contains(&host.zone);
        f64::from(u8::from(favoured)) - f64::from(u8::from(shunned))
    }
}

/// How much a soft affinity wish weighs in a score: more than the whole range of CPU utilisation, so a wish is kept
/// whenever a host that fits it exists.
const WISH_WEIGHT: f64 = 2.0;

/// How scores are weighed, and how far allocations may exceed capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub strategy: Strategy,
    pub cpu_overcommit: f64,
    pub memory_overcommit: f64,
    pub disk_overcommit: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { strategy: Strategy::Spread, cpu_overcommit: 4.0, memory_overcommit: 1.0, disk_overcommit: 1.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Lowest CPU utilisation first, then fewest members of the cluster.
    Spread,
    /// Fullest host that still fits first.
    BinPack,
}

/// Why a host was filtered out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Down,
    Draining,
    Disabled,
    NotRequestedHost,
    OtherPool,
    Constraint,
    AntiAffinity,
    /// Outside the hosts or zones hard affinity keeps the cluster's members on.
    Affinity,
    InsufficientCpu,
    InsufficientMemory,
    InsufficientDisk,
    PortTaken,
}

impl Reason {
    /// Every reason, in order (`reason as usize` is its position).
    const ALL: [Reason; 12] = [
        Reason::Down,
        Reason::Draining,
        Reason::Disabled,
        Reason::NotRequestedHost,
        Reason::OtherPool,
        Reason::Constraint,
        Reason::AntiAffinity,
        Reason::Affinity,
        Reason::InsufficientCpu,
        Reason::InsufficientMemory,
        Reason::InsufficientDisk,
        Reason::PortTaken,
    ];
}

impl Reason {
    /// The reason as a short snake_case key (a metrics label).
    pub fn key(self) -> &'static str {
        match self {
            Reason::Down => "down",
            Reason::Draining => "draining",
            Reason::Disabled => "disabled",
            Reason::NotRequestedHost => "not_requested_host",
            Reason::OtherPool => "other_pool",
            Reason::Constraint => "constraint",
            Reason::AntiAffinity => "anti_affinity",
            Reason::Affinity => "affinity",
            Reason::InsufficientCpu => "insufficient_cpu",
            Reason::InsufficientMemory => "insufficient_memory",
            Reason::InsufficientDisk => "insufficient_disk",
            Reason::PortTaken => "port_taken",
        }
    }
}

/// Told of every scheduling decision the store makes (the metrics implement it): each placement,
/// and each no-fit, with how long the choice took.
pub trait Observer: Send + Sync {
    fn placed(&self, took: std::time::Duration);
    fn no_fit(&self, no_fit: &NoFit, took: std::time::Duration);
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Down => "DOWN",
            Reason::Draining => "DRAINING",
            Reason::Disabled => "DISABLED",
            Reason::NotRequestedHost => "not the requested host_node",
            Reason::OtherPool => "outside host_cluster",
            Reason::Constraint => "excluded by constraints",
            Reason::AntiAffinity => "excluded by anti-affinity",
            Reason::Affinity => "away from the cluster's members (affinity)",
            Reason::InsufficientCpu => "insufficient cpu",
            Reason::InsufficientMemory => "insufficient memory",
            Reason::InsufficientDisk => "insufficient disk",
            Reason::PortTaken => "host port taken",
        })
    }
}

/// No host fits: how many were considered and why each was refused (its first failing filter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NoFit {
    pub hosts: usize,
    pub reasons: BTreeMap<Reason, usize>,
}

impl NoFit {
    /// The explanation for `hosts` hosts refused as counted in `refused` (by `Reason as usize`).
    fn from_counts(hosts: usize, refused: &[usize; Reason::ALL.len()]) -> Self {
        let reasons = Reason::ALL.iter().zip(refused).filter(|(_, n)| **n > 0).map(|(r, n)| (*r, *n)).collect();
        NoFit { hosts, reasons }
    }
}

impl fmt::Display for NoFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no host fits: {} hosts", self.hosts)?;
        let mut reasons: Vec<_> = self.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (i, (reason, count)) in reasons.into_iter().enumerate() {
            write!(f, "{}{count} {reason}", if i == 0 { "; " } else { ", " })?;
        }
        Ok(())
    }
}

/// The first filter `host` fails for `request`, if any.
pub fn refuse(host: &HostView, request: &Request, settings: &Settings) -> Option<Reason> {
    refuse_with(host, host.cluster_members, request, &parse_constraints(request), settings)
}

/// The first filter `host`, holding `members` of the cluster being placed, fails.
fn refuse_with(host: &HostView, members: u32, request: &Request, constraints: &[Constraint], settings: &Settings) -> Option<Reason> {
    match host.state {
        HostState::Up => {}
        HostState::Down => return Some(Reason::Down),
        HostState::Draining => return Some(Reason::Draining),
        HostState::Disabled => return Some(Reason::Disabled),
    }
    if request.host.as_ref().is_some_and(|h| h != &host.name) {
        return Some(Reason::NotRequestedHost);
    }
    if request.pool.as_ref().is_some_and(|p| p != &host.pool) {
        return Some(Reason::OtherPool);
    }
    if !constraints.iter().all(|c| c.holds(host)) {
        return Some(Reason::Constraint);
    }
    if request.avoid_hosts.contains(&host.name) {
        return Some(Reason::AntiAffinity);
    }
    if let Some(reason) = request.affinity.refuse(host, members) {
        return Some(reason);
    }
    let fits = |want: u64, used: u64, capacity: u64, ratio: f64| used.saturating_add(want) as f64 <= capacity as f64 * ratio;
    let (want, used, cap) = (request.resources, host.allocated, host.capacity);
    if !fits(want.cpu_millis, used.cpu_millis, cap.cpu_millis, settings.cpu_overcommit) {
        return Some(Reason::InsufficientCpu);
    }
    if !fits(want.memory_mib, used.memory_mib, cap.memory_mib, settings.memory_overcommit) {
        return Some(Reason::InsufficientMemory);
    }
    if !fits(want.disk_mib, used.disk_mib, cap.disk_mib, settings.disk_overcommit) {
        return Some(Reason::InsufficientDisk);
    }
    let port_taken = request.ports.iter().filter_map(|p| p.host.map(|h| (h, p.protocol.clone()))).any(|p| host.host_ports.contains(&p));
    port_taken.then_some(Reason::PortTaken)
}

/// A parsed `key == value` / `key != value`; unparseable text never holds.
struct Constraint {
    key: String,
    value: String,
    equal: bool,
    valid: bool,
}

fn parse_constraints(request: &Request) -> Vec<Constraint> {
    request
        .constraints
        .iter()
        .map(|text| {
            let (split, equal) = match text.split_once("!=") {
                Some(kv) => (Some(kv), false),
                None => (text.split_once("=="), true),
            };
            let (key, value) = split.unwrap_or(("", ""));
            Constraint { key: key.trim().to_owned(), value: value.trim().to_owned(), equal, valid: split.is_some() }
        })
        .collect()
}

impl Constraint {
    /// Whether `host` satisfies it; an unknown key never matches `==`.
    fn holds(&self, host: &HostView) -> bool {
        if !self.valid {
            return false;
        }
        let actual = match self.key.as_str() {
            "zone" => Some(host.zone.as_str()),
            "pool" => Some(host.pool.as_str()),
            "name" => Some(host.name.as_str()),
            key => key.strip_prefix("label.").and_then(|l| host.labels.get(l)).map(String::as_str),
        };
        (actual == Some(self.value.as_str())) == self.equal
    }
}

/// Higher is better. Spread prefers idle hosts (measured CPU), then few members of the cluster,
/// then little allocated, then few containers; bin-pack prefers the host whose memory is most
/// allocated. An image already present adds a little; a soft affinity wish (favoured or shunned host) outweighs the rest.
pub fn score(host: &HostView, request: &Request, settings: &Settings) -> f64 {
    score_with(host, host.cluster_members, request, settings)
}

/// `score` for `host` holding `members` of the cluster being placed.
fn score_with(host: &HostView, members: u32, request: &Request, settings: &Settings) -> f64 {
    let image_bonus = if host.images.contains(&request.image) { 0.05 } else { 0.0 };
    let base = match settings.strategy {
        Strategy::Spread => {
            (1.0 - host.cpu_utilisation.clamp(0.0, 1.0))
                - 0.1 * f64::from(members)
                - 0.05 * allocated_share(host)
                - 0.001 * f64::from(host.containers)
        }
        Strategy::BinPack => {
            let capacity = (host.capacity.memory_mib as f64).max(1.0);
            host.allocated.memory_mib as f64 / capacity
        }
    };
    base + image_bonus + WISH_WEIGHT * request.affinity.wish(host)
}

/// The larger of the host's allocated CPU and memory shares, 0.0 to 1.0 (or more when overcommitted).
fn allocated_share(host: &HostView) -> f64 {
    let share = |used: u64, capacity: u64| used as f64 / (capacity as f64).max(1.0);
    share(host.allocated.cpu_millis, host.capacity.cpu_millis).max(share(host.allocated.memory_mib, host.capacity.memory_mib))
}

/// The best host for `request`, or why there is none.
pub fn place<'h>(hosts: &'h [HostView], request: &Request, settings: &Settings) -> Result<&'h HostView, NoFit> {
    let mut best: Option<(&HostView, f64)> = None;
    let constraints = parse_constraints(request);
    for host in hosts {
        if refuse_with(host, host.cluster_members, request, &constraints, settings).is_some() {
            continue;
        }
        let s = score(host, request, settings);
        let better = match best {
            None => true,
            Some((b, bs)) => s > bs || (s == bs && host.name < b.name),
        };
        if better {
            best = Some((host, s));
        }
    }
    best.map(|(h, _)| h).ok_or_else(|| explain(hosts, request, &constraints, settings))
}

/// Why no host fits: every host's first failing filter, counted (only computed when nothing fits).
fn explain(hosts: &[HostView], request: &Request, constraints: &[Constraint], settings: &Settings) -> NoFit {
    let mut refused = [0; Reason::ALL.len()];
    for host in hosts {
        if let Some(reason) = refuse_with(host, host.cluster_members, request, constraints, settings) {
            refused[reason as usize] += 1;
        }
    }
    NoFit::from_counts(hosts.len(), &refused)
}

impl Request {
    /// What a container spec asks of the scheduler.
    pub fn for_spec(spec: &crate::profile::ContainerProperties) -> Request {
        Request {
            resources: Resources { cpu_millis: spec.cpu_millis(), memory_mib: spec.memory_mib(), disk_mib: 0 },
            ports: spec.ports.iter().filter(|p| p.host.is_some()).cloned().collect(),
            image: crate::image::normalize_reference(&spec.image),
            host: spec.host_node.clone(),
            pool: spec.host_cluster.clone(),
            constraints: spec.constraints.clone(),
            avoid_hosts: BTreeSet::new(),
            affinity: AffinityRules::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn host(name: &str, cpu_util: f64) -> HostView {
        HostView {
            name: name.into(),
            zone: "az1".into(),
            pool: "default".into(),
            labels: BTreeMap::new(),
            state: HostState::Up,
            capacity: Resources { cpu_millis: 4000, memory_mib: 8192, disk_mib: 100_000 },
            allocated: Resources::default(),
            cpu_utilisation: cpu_util,
            host_ports: BTreeSet::new(),
            cluster_members: 0,
            containers: 0,
            images: BTreeSet::new(),
        }
    }

    pub(super) fn want(memory: u64) -> Request {
        Request { resources: Resources { cpu_millis: 500, memory_mib: memory, disk_mib: 0 }, image: "busybox".into(), ..Default::default() }
    }

    #[test]
    fn filters_table() {
        let s = Settings::default();
        let mut full = host("full", 0.0);
        full.allocated.memory_mib = 8000;
        let mut ported = host("ported", 0.0);
        ported.host_ports.insert((8080, "tcp".into()));
        let mut ssd = host("ssd", 0.0);
        ssd.labels.insert("disk".into(), "ssd".into());
        let down = HostView { state: HostState::Down, ..host("down", 0.0) };
        let web = HostView { pool: "web".into(), ..host("web", 0.0) };
        let port = |p: u16| vec![PortSpec { container: 80, protocol: "tcp".into(), host: Some(p) }];
        let cases: Vec<(&HostView, Request, Option<Reason>)> = vec![
            (&down, want(64), Some(Reason::Down)),
            (&full, want(256), Some(Reason::InsufficientMemory)),
            (&full, want(64), None),
            (&ported, Request { ports: port(8080), ..want(64) }, Some(Reason::PortTaken)),
            (&ported, Request { ports: port(8081), ..want(64) }, None),
            (&ssd, Request { constraints: vec!["label.disk == ssd".into()], ..want(64) }, None),
            (&ssd, Request { constraints: vec!["label.disk == hdd".into()], ..want(64) }, Some(Reason::Constraint)),
            (&ssd, Request { constraints: vec!["zone != az1".into()], ..want(64) }, Some(Reason::Constraint)),
            (&web, Request { pool: Some("web".into()), ..want(64) }, None),
            (&ssd, Request { pool: Some("web".into()), ..want(64) }, Some(Reason::OtherPool)),
            (&web, Request { pool: Some("web".into()), host: Some("ssd".into()), ..want(64) }, Some(Reason::NotRequestedHost)),
            (&ssd, Request { avoid_hosts: ["ssd".to_owned()].into(), ..want(64) }, Some(Reason::AntiAffinity)),
            (&ssd, Request { resources: Resources { cpu_millis: 16_001, ..Default::default() }, ..want(0) }, Some(Reason::InsufficientCpu)),
        ];
        for (i, (h, request, expected)) in cases.into_iter().enumerate() {
            assert_eq!(refuse(h, &request, &s), expected, "case {i} on {}", h.name);
        }
    }

    #[test]
    fn spread_picks_lowest_utilisation_then_fewest_members() {
        let s = Settings::default();
        let hosts = vec![host("a", 0.7), host("b", 0.2), host("c", 0.5)];
        assert_eq!(place(&hosts, &want(64), &s).unwrap().name, "b");
        let mut crowded = hosts.clone();
        crowded[1].cluster_members = 5;
        assert_eq!(place(&crowded, &want(64), &s).unwrap().name, "c");
        let ties = vec![host("z", 0.1), host("y", 0.1)];
        assert_eq!(place(&ties, &want(64), &s).unwrap().name, "y", "ties break on name");
    }

    #[test]
    fn binpack_fills_the_fullest_host() {
        let s = Settings { strategy: Strategy::BinPack, ..Settings::default() };
        let mut busy = host("busy", 0.9);
        busy.allocated.memory_mib = 4096;
        let hosts = vec![host("idle", 0.0), busy];
        assert_eq!(place(&hosts, &want(64), &s).unwrap().name, "busy");
    }

    /// Twelve hosts none of which fits the request: 7 full, 3 DOWN, 2 avoided; and the explanation.
    pub(super) fn no_fit() -> (Vec<HostView>, Request, &'static str) {
        let mut hosts: Vec<HostView> = (0..7)
            .map(|i| HostView { allocated: Resources { memory_mib: 8192, ..Default::default() }, ..host(&format!("m{i}"), 0.0) })
            .collect();
        hosts.extend((0..3).map(|i| HostView { state: HostState::Down, ..host(&format!("d{i}"), 0.0) }));
        hosts.extend((0..2).map(|i| host(&format!("x{i}"), 0.0)));
        let request = Request { avoid_hosts: ["x0".to_owned(), "x1".to_owned()].into(), ..want(64) };
        (hosts, request, "no host fits: 12 hosts; 7 insufficient memory, 3 DOWN, 2 excluded by anti-affinity")
    }

    #[test]
    fn no_fit_explains_every_host() {
        let (hosts, request, explanation) = no_fit();
        let err = place(&hosts, &request, &Settings::default()).unwrap_err();
        assert_eq!(err.to_string(), explanation);
    }

    #[test]
    fn affinity_rules_filter_and_score() {
        let s = Settings::default();
        let one = |name: &str| BTreeSet::from([name.to_owned()]);
        // a holds a member of the cluster already.
        let a = HostView { cluster_members: 1, ..host("a", 0.1) };
        let b = HostView { zone: "az2".into(), ..host("b", 0.6) };
        let none = AffinityRules::default();
        // (rules, why a is refused, why b is refused, the pick); a is the idler host.
        let cases = [
            (AffinityRules { avoid_zones: one("az1"), ..none.clone() }, Some(Reason::AntiAffinity), None, "b"),
            (AffinityRules { avoid_member_hosts: true, ..none.clone() }, Some(Reason::AntiAffinity), None, "b"),
            (AffinityRules { only_hosts: one("b"), ..none.clone() }, Some(Reason::Affinity), None, "b"),
            (AffinityRules { only_zones: one("az1"), ..none.clone() }, None, Some(Reason::Affinity), "a"),
            (AffinityRules { prefer_hosts: one("b"), ..none.clone() }, None, None, "b"),
            (AffinityRules { prefer_zones: one("az2"), ..none.clone() }, None, None, "b"),
            (AffinityRules { shun_hosts: one("a"), ..none.clone() }, None, None, "b"),
            (AffinityRules { shun_zones: one("az1"), ..none.clone() }, None, None, "b"),
            (AffinityRules { prefer_hosts: one("a"), shun_zones: one("az1"), ..none.clone() }, None, None, "a"),
            (none.clone(), None, None, "a"),
        ];
        let hosts = vec![a.clone(), b.clone()];
        for (i, (affinity, refuse_a, refuse_b, best)) in cases.into_iter().enumerate() {
            let request = Request { affinity, ..want(64) };
            assert_eq!(refuse(&a, &request, &s), refuse_a, "case {i} on a");
            assert_eq!(refuse(&b, &request, &s), refuse_b, "case {i} on b");
            assert_eq!(place(&hosts, &request, &s).unwrap().name, best, "case {i}");
        }
        let request = Request { affinity: AffinityRules { only_hosts: one("gone"), ..none }, ..want(64) };
        assert_eq!(
            place(&hosts, &request, &s).unwrap_err().to_string(),
            "no host fits: 2 hosts; 2 away from the cluster's members (affinity)"
        );
    }
}
