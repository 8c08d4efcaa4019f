//! The `deletion` policy: which nodes go when a cluster shrinks (Senlin's `DeletionPolicy` and `nodes_by_*`).

use crate::Timestamp;
use crate::validation::ValidationError;
use std::collections::BTreeMap;

/// How healthy victims are ordered; unhealthy nodes always go first, whatever the criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Criteria {
    /// The earliest created nodes first.
    OldestFirst,
    /// The latest created nodes first.
    YoungestFirst,
    /// Nodes of the oldest profile first (then the oldest node).
    OldestProfileFirst,
    /// Any order (Senlin's default).
    Random,
}

/// The properties of a `deletion` policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionPolicy {
    /// How victims are chosen (default `RANDOM`).
    #[serde(default = "random")]
    pub criteria: Criteria,
    /// Delete the victims' containers, not only take them out of the cluster (default true).
    #[serde(default = "yes")]
    pub destroy_after_deletion: bool,
    /// Seconds to wait before deleting the victims (default 0).
    #[serde(default)]
    pub grace_period: u64,
    /// Lower the cluster's desired capacity by the victims (default true).
    #[serde(default = "yes")]
    pub reduce_desired_capacity: bool,
}

impl Default for DeletionPolicy {
    /// Senlin's defaults.
    fn default() -> Self {
        Self { criteria: Criteria::Random, destroy_after_deletion: true, grace_period: 0, reduce_desired_capacity: true }
    }
}

fn random() -> Criteria {
    Criteria::Random
}
fn yes() -> bool {
    true
}

/// What victim selection knows of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// When the node was created.
    pub created_at: Timestamp,
    /// When the node's profile was created.
    pub profile_created_at: Timestamp,
    /// False for nodes in ERROR or WARNING (or otherwise judged unhealthy): they go first.
    pub healthy: bool,
    /// The node's zone (or region, when applying a region plan).
    pub zone: String,
}

impl DeletionPolicy {
    /// Nothing beyond the types to check; present so every policy validates alike.
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        crate::bounds::seconds(format!("{prefix}grace_period"), self.grace_period, 0)
    }

    /// [`select_victims`] with this policy's criteria.
    pub fn victims(&self, candidates: &[Candidate], count: usize, pick: impl FnMut(usize) -> usize) -> Vec<usize> {
        select_victims(candidates, count, self.criteria, pick)
    }
}

/// Indices of up to `count` victims among `candidates`, in deletion order.
///
/// Unhealthy candidates come first, in their given order (Senlin's `filter_error_nodes`); the rest follow by
/// `criteria`, ties keeping the given order. For `RANDOM`, `pick(n)` chooses one of the `n` healthy candidates left
/// (its result is taken modulo `n`).
pub fn select_victims(candidates: &[Candidate], count: usize, criteria: Criteria, mut pick: impl FnMut(usize) -> usize) -> Vec<usize> {
    let (mut victims, mut healthy): (Vec<usize>, Vec<usize>) = (0..candidates.len()).partition(|&i| !candidates[i].healthy);
    if victims.len() >= count {
        victims.truncate(count);
        return victims;
    }
    match criteria {
        Criteria::OldestFirst => healthy.sort_by_key(|&i| candidates[i].created_at),
        Criteria::YoungestFirst => healthy.sort_by_key(|&i| std::cmp::Reverse(candidates[i].created_at)),
        Criteria::OldestProfileFirst => healthy.sort_by_key(|&i| (candidates[i].profile_created_at, candidates[i].created_at)),
        Criteria::Random => {
            let mut shuffled = Vec::with_capacity(healthy.len());
            while !healthy.is_empty() && victims.len() + shuffled.len() < count {
                let n = healthy.len();
                shuffled.push(healthy.remove(pick(n) % n));
            }
            healthy = shuffled;
        }
    }
    let wanted = count - victims.len();
    victims.extend(healthy.into_iter().take(wanted));
    victims
}

/// Victims zone by zone, as a placement plan asks (`zone → how many`); Senlin's `_victims_by_zones`.
///
/// Each zone's victims are chosen among its own candidates by [`select_victims`]; zones come in name order.
pub fn select_victims_by_zone(
    candidates: &[Candidate],
    plan: &BTreeMap<String, usize>,
    criteria: Criteria,
    mut pick: impl FnMut(usize) -> usize,
) -> Vec<usize> {
    let mut victims = Vec::new();
    for (zone, &count) in plan {
        let in_zone: Vec<usize> = (0..candidates.len()).filter(|&i| &candidates[i].zone == zone).collect();
        let subset: Vec<Candidate> = in_zone.iter().map(|&i| candidates[i].clone()).collect();
        victims.extend(select_victims(&subset, count, criteria, &mut pick).into_iter().map(|j| in_zone[j]));
    }
    victims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap()
    }

    /// A node created at minute `created`, of a profile created at minute `profile`.
    fn node(created: i64, profile: i64, healthy: bool, zone: &str) -> Candidate {
        Candidate { created_at: at(created), profile_created_at: at(profile), healthy, zone: zone.into() }
    }

    #[test]
    fn select_victims_table() {
        use Criteria::*;
        let nodes = vec![
            node(10, 1, true, "az1"),  // 0
            node(5, 2, true, "az2"),   // 1
            node(20, 0, false, "az1"), // 2: unhealthy
            node(1, 3, true, "az2"),   // 3
            node(15, 0, true, "az1"),  // 4
        ];
        let first = |_: usize| 0;
        let last = |n: usize| n - 1;
        type Pick<'a> = &'a dyn Fn(usize) -> usize;
        let cases: Vec<(&str, usize, Criteria, Pick<'_>, Vec<usize>)> = vec![
            ("oldest first, unhealthy first", 3, OldestFirst, &first, vec![2, 3, 1]),
            ("youngest first", 3, YoungestFirst, &first, vec![2, 4, 0]),
            ("oldest profile first, then oldest node", 3, OldestProfileFirst, &first, vec![2, 4, 0]),
            ("random picks the first left", 3, Random, &first, vec![2, 0, 1]),
            ("random picks the last left", 3, Random, &last, vec![2, 4, 3]),
            ("count covered by unhealthy nodes", 1, YoungestFirst, &first, vec![2]),
            ("count zero", 0, OldestFirst, &first, vec![]),
            ("count beyond the candidates", 9, OldestFirst, &first, vec![2, 3, 1, 0, 4]),
            ("out-of-range picks wrap", 2, Random, &|n| n + 1, vec![2, 1]),
        ];
        for (name, count, criteria, pick, expected) in cases {
            assert_eq!(select_victims(&nodes, count, criteria, pick), expected, "{name}");
        }
    }

    #[test]
    fn several_unhealthy_keep_their_order() {
        let nodes = vec![node(1, 0, false, "a"), node(2, 0, true, "a"), node(3, 0, false, "a")];
        assert_eq!(select_victims(&nodes, 2, Criteria::YoungestFirst, |_| 0), vec![0, 2]);
    }

    #[test]
    fn victims_follow_a_zone_plan() {
        let nodes = vec![
            node(10, 0, true, "az1"), // 0
            node(5, 0, true, "az2"),  // 1
            node(20, 0, true, "az1"), // 2
            node(1, 0, false, "az2"), // 3: unhealthy
            node(2, 0, true, "az1"),  // 4
        ];
        let plan = BTreeMap::from([("az1".to_owned(), 2), ("az2".to_owned(), 1)]);
        assert_eq!(select_victims_by_zone(&nodes, &plan, Criteria::OldestFirst, |_| 0), vec![4, 0, 3]);
        assert_eq!(DeletionPolicy::default().victims(&nodes, 1, |_| 0), vec![3]);
    }
}
