//! The `placement.zone` and `placement.region` policies: spread a cluster's nodes by weight (regions with caps).
//!
//! Like Senlin's `zone_placement.py` / `region_placement.py`, a plan says where new nodes go and how many victims each
//! zone gives up. Senlin hands out whole quotas in weight order; here nodes are handed out one at a time by the
//! Sainte-Laguë rule (next node to the zone with the highest `weight / (2 × count + 1)`), which keeps counts as close
//! to proportional as whole nodes allow, and deletion is its exact inverse (the most over-represented zone first).

use crate::validation::ValidationError;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// One zone of a zone placement policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// The zone's name, as hosts report it.
    pub name: String,
    /// Its share of the nodes, relative to the others (default 100, must be > 0).
    #[serde(default = "hundred")]
    pub weight: u32,
}

/// The properties of a `placement.zone` policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonePlacement {
    /// The zones to spread over (at least one).
    pub zones: Vec<Zone>,
}

/// One region of a region placement policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// The region's name.
    pub name: String,
    /// Its share of the nodes, relative to the others (default 100, must be > 0).
    #[serde(default = "hundred")]
    pub weight: u32,
    /// The most nodes it may hold (default -1: no cap).
    #[serde(default = "no_cap")]
    pub cap: i64,
}

/// The properties of a `placement.region` policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPlacement {
    /// The regions to spread over (at least one).
    pub regions: Vec<Region>,
}

fn hundred() -> u32 {
    100
}
fn no_cap() -> i64 {
    -1
}

/// A placement plan that cannot be met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// The caps leave room for fewer nodes than asked.
    #[error("There is no feasible plan to handle all nodes: {requested} requested, the regions' caps leave room for {room}.")]
    NoFeasiblePlan {
        /// The nodes asked for.
        requested: usize,
        /// The nodes the caps leave room for.
        room: usize,
    },
}

/// A place nodes may go: its name, weight (0 for a place outside the policy) and cap.
struct Slot<'a> {
    name: &'a str,
    weight: u64,
    cap: Option<usize>,
}

impl ZonePlacement {
    /// Checks the zone list; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        check_places(prefix, "zones", self.zones.iter().map(|z| (z.name.as_str(), z.weight)))
    }

    /// The zone of each of `count` new nodes, given the nodes each zone holds now.
    pub fn plan_create(&self, current: &BTreeMap<String, usize>, count: usize) -> Vec<String> {
        let slots: Vec<Slot<'_>> = self.zones.iter().map(|z| Slot { name: &z.name, weight: u64::from(z.weight), cap: None }).collect();
        let (plan, _) = create(&slots, current, count);
        plan
    }

    /// How many of `count` victims each zone gives up (zones outside the policy first; fewer if fewer nodes exist).
    pub fn plan_delete(&self, current: &BTreeMap<String, usize>, count: usize) -> BTreeMap<String, usize> {
        delete(self.zones.iter().map(|z| (z.name.as_str(), u64::from(z.weight))), current, count)
    }
}

impl RegionPlacement {
    /// Checks the region list; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        check_places(prefix, "regions", self.regions.iter().map(|r| (r.name.as_str(), r.weight)))?;
        for (i, region) in self.regions.iter().enumerate() {
            crate::bounds::range(format!("{prefix}regions[{i}].cap"), region.cap, -1, crate::bounds::MAX_CLUSTER_SIZE)?;
        }
        Ok(())
    }

    /// The region of each of `count` new nodes, given the nodes each region holds now; an error when caps cannot fit them.
    pub fn plan_create(&self, current: &BTreeMap<String, usize>, count: usize) -> Result<Vec<String>, PlacementError> {
        let slots: Vec<Slot<'_>> =
            self.regions.iter().map(|r| Slot { name: &r.name, weight: u64::from(r.weight), cap: usize::try_from(r.cap).ok() }).collect();
        match create(&slots, current, count) {
            (plan, None) => Ok(plan),
            (plan, Some(_)) => Err(PlacementError::NoFeasiblePlan { requested: count, room: plan.len() }),
        }
    }

    /// How many of `count` victims each region gives up (regions outside the policy first; fewer if fewer nodes exist).
    pub fn plan_delete(&self, current: &BTreeMap<String, usize>, count: usize) -> BTreeMap<String, usize> {
        delete(self.regions.iter().map(|r| (r.name.as_str(), u64::from(r.weight))), current, count)
    }
}

/// At least one place, names given and distinct, weights above 0.
fn check_places<'a>(prefix: &str, list: &str, places: impl Iterator<Item = (&'a str, u32)>) -> Result<(), ValidationError> {
    let mut seen = BTreeSet::new();
    for (i, (name, weight)) in places.enumerate() {
        crate::bounds::entries(format!("{prefix}{list}"), i + 1)?;
        crate::bounds::text(format!("{prefix}{list}[{i}].name"), name, crate::bounds::MAX_KEY_LEN)?;
        if name.trim().is_empty() {
            return Err(ValidationError::new(format!("{prefix}{list}[{i}].name"), name, "is required"));
        }
        if !seen.insert(name) {
            return Err(ValidationError::new(format!("{prefix}{list}[{i}].name"), name, "is listed twice"));
        }
        if weight == 0 {
            return Err(ValidationError::new(format!("{prefix}{list}[{i}].weight"), weight, "must be > 0"));
        }
    }
    if seen.is_empty() {
        return Err(ValidationError::new(format!("{prefix}{list}"), "[]", "give at least one"));
    }
    Ok(())
}

/// Hands out `count` nodes one at a time (Sainte-Laguë); stops early, returning how many were left, when every slot is full.
fn create(slots: &[Slot<'_>], current: &BTreeMap<String, usize>, count: usize) -> (Vec<String>, Option<usize>) {
    let mut counts: Vec<u64> = slots.iter().map(|s| current.get(s.name).copied().unwrap_or(0) as u64).collect();
    let mut plan = Vec::with_capacity(count);
    for placed in 0..count {
        // The highest weight / (2c + 1); ties: the heavier, then the first name.
        let best = (0..slots.len()).filter(|&i| slots[i].cap.is_none_or(|cap| counts[i] < cap as u64)).max_by(|&a, &b| {
            let qa = u128::from(slots[a].weight) * u128::from(2 * counts[b] + 1);
            let qb = u128::from(slots[b].weight) * u128::from(2 * counts[a] + 1);
            qa.cmp(&qb).then(slots[a].weight.cmp(&slots[b].weight)).then(slots[b].name.cmp(slots[a].name))
        });
        let Some(i) = best else { return (plan, Some(count - placed)) };
        counts[i] += 1;
        plan.push(slots[i].name.to_owned());
    }
    (plan, None)
}

/// Takes `count` victims one at a time from the most over-represented place, the inverse of [`create`].
fn delete<'a>(weights: impl Iterator<Item = (&'a str, u64)>, current: &BTreeMap<String, usize>, count: usize) -> BTreeMap<String, usize> {
    let weights: BTreeMap<&str, u64> = weights.collect();
    // Every place holding nodes, with its weight (0 when the policy does not name it).
    let mut places: Vec<(&str, u64, u64)> = current
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(name, &n)| (name.as_str(), weights.get(name.as_str()).copied().unwrap_or(0), n as u64))
        .collect();
    let mut plan = BTreeMap::new();
    for _ in 0..count {
        let worst = (0..places.len()).filter(|&i| places[i].2 > 0).max_by(|&a, &b| over_represented(places[a], places[b]));
        let Some(i) = worst else { break };
        places[i].2 -= 1;
        *plan.entry(places[i].0.to_owned()).or_insert(0) += 1;
    }
    plan
}

/// Which of two places gives up a node first: the highest (2c − 1) / weight, a place outside the policy before any
/// other; ties: the lighter, then the last name (the reverse of [`create`]'s order).
fn over_represented((name_a, wa, ca): (&str, u64, u64), (name_b, wb, cb): (&str, u64, u64)) -> Ordering {
    let by_share = match (wa, wb) {
        (0, 0) => ca.cmp(&cb),
        (0, _) => Ordering::Greater,
        (_, 0) => Ordering::Less,
        _ => (u128::from(2 * ca - 1) * u128::from(wb)).cmp(&(u128::from(2 * cb - 1) * u128::from(wa))),
    };
    by_share.then(wb.cmp(&wa)).then(name_a.cmp(name_b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones(list: &[(&str, u32)]) -> ZonePlacement {
        ZonePlacement { zones: list.iter().map(|&(name, weight)| Zone { name: name.into(), weight }).collect() }
    }

    type Counts = BTreeMap<String, usize>;

    fn counts(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
        list.iter().map(|&(name, n)| (name.to_owned(), n)).collect()
    }

    #[test]
    fn zone_create_table() {
        let cases: Vec<(&str, ZonePlacement, Counts, usize, Vec<&str>)> = vec![
            ("equal weights, empty", zones(&[("a", 100), ("b", 100), ("c", 100)]), counts(&[]), 4, vec!["a", "b", "c", "a"]),
            ("fills the emptiest zone first", zones(&[("a", 100), ("b", 100)]), counts(&[("a", 3), ("b", 1)]), 3, vec!["b", "b", "a"]),
            ("2:1 weights", zones(&[("a", 200), ("b", 100)]), counts(&[]), 3, vec!["a", "b", "a"]),
            ("2:1 weights, six nodes", zones(&[("a", 200), ("b", 100)]), counts(&[]), 6, vec!["a", "b", "a", "a", "b", "a"]),
            ("zones outside the policy are ignored", zones(&[("a", 100)]), counts(&[("x", 5)]), 2, vec!["a", "a"]),
            ("nothing asked", zones(&[("a", 100)]), counts(&[]), 0, vec![]),
        ];
        for (name, policy, current, count, expected) in cases {
            assert_eq!(policy.plan_create(&current, count), expected, "{name}");
        }
    }

    #[test]
    fn zone_delete_table() {
        let cases: Vec<(&str, ZonePlacement, Counts, usize, Counts)> = vec![
            (
                "most over-represented first",
                zones(&[("a", 100), ("b", 100), ("c", 100)]),
                counts(&[("a", 5), ("b", 6), ("c", 1)]),
                2,
                counts(&[("b", 2)]),
            ),
            ("evens out", zones(&[("a", 100), ("b", 100)]), counts(&[("a", 4), ("b", 2)]), 4, counts(&[("a", 3), ("b", 1)])),
            ("by weight", zones(&[("a", 200), ("b", 100)]), counts(&[("a", 3), ("b", 3)]), 2, counts(&[("b", 2)])),
            ("zones outside the policy first", zones(&[("a", 100)]), counts(&[("a", 3), ("x", 1)]), 2, counts(&[("a", 1), ("x", 1)])),
            ("more than there are", zones(&[("a", 100)]), counts(&[("a", 2)]), 5, counts(&[("a", 2)])),
        ];
        for (name, policy, current, count, expected) in cases {
            assert_eq!(policy.plan_delete(&current, count), expected, "{name}");
        }
    }

    #[test]
    fn delete_undoes_create() {
        let policy = zones(&[("a", 300), ("b", 200), ("c", 100)]);
        let mut current = counts(&[("a", 2), ("b", 1)]);
        let before = current.clone();
        for zone in policy.plan_create(&current.clone(), 7) {
            *current.entry(zone).or_insert(0) += 1;
        }
        assert_eq!(current, counts(&[("a", 5), ("b", 3), ("c", 2)]));
        for (zone, n) in policy.plan_delete(&current, 7) {
            *current.get_mut(&zone).unwrap() -= n;
        }
        current.retain(|_, n| *n > 0);
        assert_eq!(current, before);
    }

    #[test]
    fn region_caps() {
        let policy = RegionPlacement {
            regions: vec![Region { name: "r1".into(), weight: 100, cap: 2 }, Region { name: "r2".into(), weight: 100, cap: -1 }],
        };
        assert_eq!(policy.plan_create(&counts(&[]), 4).unwrap(), vec!["r1", "r2", "r1", "r2"]);
        assert_eq!(policy.plan_create(&counts(&[("r1", 2)]), 2).unwrap(), vec!["r2", "r2"]);
        let capped = RegionPlacement { regions: vec![Region { name: "r1".into(), weight: 100, cap: 3 }] };
        let err = capped.plan_create(&counts(&[("r1", 1)]), 3).unwrap_err();
        assert_eq!(err.to_string(), "There is no feasible plan to handle all nodes: 3 requested, the regions' caps leave room for 2.");
        assert_eq!(capped.plan_delete(&counts(&[("r1", 3)]), 1), counts(&[("r1", 1)]));
    }

    #[test]
    fn validation_names_the_field() {
        let p = "spec.properties.";
        assert_eq!(zones(&[("a", 100)]).validate_at(p), Ok(()));
        assert_eq!(zones(&[]).validate_at(p).unwrap_err().field, "spec.properties.zones");
        assert_eq!(zones(&[("a", 100), ("a", 1)]).validate_at(p).unwrap_err().field, "spec.properties.zones[1].name");
        assert_eq!(zones(&[("a", 0)]).validate_at(p).unwrap_err().field, "spec.properties.zones[0].weight");
        assert_eq!(zones(&[(" ", 1)]).validate_at(p).unwrap_err().field, "spec.properties.zones[0].name");
        let bad_cap = RegionPlacement { regions: vec![Region { name: "r".into(), weight: 1, cap: -2 }] };
        assert_eq!(bad_cap.validate_at(p).unwrap_err().field, "spec.properties.regions[0].cap");
    }
}
