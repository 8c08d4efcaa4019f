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
    /// Delete the victims with their containers (default true); false: they leave the cluster as orphan nodes
    /// that keep their containers (Senlin's NODE_LEAVE). Read by scale-in, resize and `del_nodes`.
    #[serde(default = "yes")]
    pub destroy_after_deletion: bool,
    /// Seconds to wait, once the victims are chosen, before they are deleted (default 0; at most
    /// [`MAX_GRACE_PERIOD`]). Read by scale-in, resize, `del_nodes` and a user's delete of a member node.
    #[serde(default)]
    pub grace_period: u64,
    /// Lower the cluster's desired capacity by the nodes deleted (default true). Read by `del_nodes` and a
    /// user's delete of a member node; scale-in and resize set the desired capacity they computed.
    #[serde(default = "yes")]
    pub reduce_desired_capacity: bool,
}

impl Default for DeletionPolicy {
    /// Senlin's defaults.
    fn default() -> Self {
        Self { criteria: Criteria::Random, destroy_after_deletion: true, grace_period: 0, reduce_desired_capacity: true }
    }
}

/// The longest `grace_period` accepted: a day (every action has its own timeout too).
pub const MAX_GRACE_PERIOD: u64 = 86_400;

fn random() -> Criteria {
    Criteria::Random
}
fn yes() -> bool {
    true
}

/// Why nodes are being removed from a cluster: each reads the deletion policy as Senlin's action of that kind does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `CLUSTER_SCALE_IN` or `CLUSTER_RESIZE` shrinking: the policy's `destroy_after_deletion` and `grace_period`.
    Shrink,
    /// `CLUSTER_DEL_NODES`: the request's `destroy` unless a deletion policy is attached (Senlin's `do_del_nodes`
    /// takes the policy's decision over the input), its `grace_period` and `reduce_desired_capacity`.
    DelNodes { destroy: bool },
    /// A user's `NODE_DELETE` of a member: always destroyed; the policy's `grace_period` and
    /// `reduce_desired_capacity` (Senlin's `NodeAction.do_delete`).
    NodeDelete,
}

/// How the nodes leave, once decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovalPlan {
    /// Delete nodes and containers; false: the nodes become orphans and keep their containers.
    pub destroy: bool,
    /// Seconds to wait before removing them.
    pub grace_period: u64,
    /// Lower the cluster's desired capacity by the nodes removed (not read by [`Removal::Shrink`], which sets its own).
    pub reduce_desired_capacity: bool,
}

/// The enabled deletion policy among a cluster's policies, if any.
pub fn attached<'a>(policies: impl IntoIterator<Item = &'a super::PolicyProperties>) -> Option<&'a DeletionPolicy> {
    policies.into_iter().find_map(|p| match p {
        super::PolicyProperties::Deletion(d) => Some(d),
        _ => None,
    })
}

/// Owns how nodes leave a cluster: the deletion `policy` (when one is attached) read for `removal` as Senlin reads it.
pub fn plan_removal(policy: Option<&DeletionPolicy>, removal: Removal) -> RemovalPlan {
    let requested = match removal {
        Removal::DelNodes { destroy } => destroy,
        Removal::Shrink | Removal::NodeDelete => true,
    };
    match policy {
        None => RemovalPlan { destroy: requested, grace_period: 0, reduce_desired_capacity: true },
        Some(p) => RemovalPlan {
            destroy: removal == Removal::NodeDelete || p.destroy_after_deletion,
            grace_period: p.grace_period,
            reduce_desired_capacity: p.reduce_desired_capacity,
        },
    }
}

/// What victim selection knows of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// When the node was created.
    pub created_at: Timestamp,
    /// When the node's profile was created.
    pub profile_created_at: Timestamp,
    /// False for nodes in ERROR or WARNING, tainted or not yet ACTIVE (`Node::goes_first`): they go first.
    pub healthy: bool,
    /// The node's zone (or region, when applying a region plan).
    pub zone: String,
}

impl DeletionPolicy {
    /// Checks `grace_period`; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        crate::bounds::range(format!("{prefix}grace_period"), self.grace_period, 0, MAX_GRACE_PERIOD)
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
    fn removal_reads_the_policy_as_senlin() {
        let keep = DeletionPolicy { destroy_after_deletion: false, grace_period: 30, reduce_desired_capacity: false, ..Default::default() };
        let plan = |destroy, grace_period, reduce_desired_capacity| RemovalPlan { destroy, grace_period, reduce_desired_capacity };
        let cases = [
            // No policy: Senlin's defaults, the request's destroy for del_nodes.
            ("shrink, no policy", None, Removal::Shrink, plan(true, 0, true)),
            ("del_nodes destroy, no policy", None, Removal::DelNodes { destroy: true }, plan(true, 0, true)),
            ("del_nodes keep, no policy", None, Removal::DelNodes { destroy: false }, plan(false, 0, true)),
            ("node delete, no policy", None, Removal::NodeDelete, plan(true, 0, true)),
            // test_deletion_policy._update_action: the policy's three settings ride on the action.
            ("shrink keeps the victims as orphans", Some(&keep), Removal::Shrink, plan(false, 30, false)),
            ("the policy overrides del_nodes' destroy", Some(&keep), Removal::DelNodes { destroy: true }, plan(false, 30, false)),
            ("a node delete always destroys", Some(&keep), Removal::NodeDelete, plan(true, 30, false)),
            ("the default policy", Some(&DeletionPolicy::default()), Removal::DelNodes { destroy: false }, plan(true, 0, true)),
        ];
        for (name, policy, removal, expected) in cases {
            assert_eq!(plan_removal(policy, removal), expected, "{name}");
        }
    }

    #[test]
    fn grace_period_is_bounded() {
        let long = DeletionPolicy { grace_period: MAX_GRACE_PERIOD + 1, ..Default::default() };
        let error = long.validate_at("spec.properties.").unwrap_err();
        assert_eq!(error.field, "spec.properties.grace_period");
        assert!(error.to_string().contains("86400"), "{error}");
        assert!(DeletionPolicy { grace_period: MAX_GRACE_PERIOD, ..Default::default() }.validate_at("").is_ok());
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
