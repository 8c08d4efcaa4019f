//! The policies attached to a cluster, applied where actions need them: scaling counts and
//! cooldowns, deletion victims, zone placement, affinity, rolling-update batches, and the
//! attach/detach/update actions themselves.

use crate::context::Ctx;
use crate::error::EngineError;
use crate::node::Outputs;
use flotilla_core::action::{ActionInputs, ActionKind};
use flotilla_core::cluster::Cluster;
use flotilla_core::node::Node;
use flotilla_core::policy::PolicyProperties;
use flotilla_core::policy::deletion::{self, Candidate, Criteria, Removal, RemovalPlan, select_victims, select_victims_by_zone};
use flotilla_core::policy::placement::RegionPlacement;
use flotilla_core::resize::ClusterSize;
use flotilla_core::scheduler::Request;
use flotilla_store::{Binding, ClusterChanges, Scope, Store};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Rolling-update batches: the nodes of each (indices into the nodes planned), and the pause between them.
pub(crate) struct BatchPlan {
    pub batches: Vec<Vec<usize>>,
    pub pause: Duration,
}

/// The enabled policies of `cluster`.
pub(crate) async fn enabled(store: &Store, cluster: flotilla_core::ClusterId) -> Result<Vec<Binding>, EngineError> {
    Ok(store.cluster_policies(cluster).await?.into_iter().filter(|b| b.enabled).collect())
}

/// The zone of each member's host (empty when unplaced).
async fn member_zones(store: &Store, nodes: &[Node]) -> Result<Vec<(String, String)>, EngineError> {
    let mut hosts = BTreeMap::new();
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let (name, zone) = match node.host_id {
            Some(id) => match hosts.get(&id) {
                Some(known) => Clone::clone(known),
                None => {
                    let host = store.host(&id.to_string()).await?;
                    let known = (host.name, host.zone);
                    hosts.insert(id, known.clone());
                    known
                }
            },
            None => (String::new(), String::new()),
        };
        out.push((name, zone));
    }
    Ok(out)
}

fn per_zone(zones: &[(String, String)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, zone) in zones.iter().filter(|(_, z)| !z.is_empty()) {
        *counts.entry(zone.clone()).or_insert(0) += 1;
    }
    counts
}

/// The zone of each of `count` new nodes, as a `placement.zone` policy plans it.
pub(crate) async fn zones_for_new_nodes(store: &Store, cluster: &Cluster, count: i64) -> Result<Vec<Option<String>>, EngineError> {
    let count = count.max(0) as usize;
    for binding in enabled(store, cluster.id).await? {
        if let PolicyProperties::PlacementZone(policy) = &binding.policy.spec.properties {
            let nodes = store.cluster_nodes(cluster.id).await?;
            let current = per_zone(&member_zones(store, &nodes).await?);
            return Ok(policy.plan_create(&current, count).into_iter().map(Some).collect());
        }
    }
    Ok(vec![None; count])
}

/// The region each of `count` new nodes is planned for: a `placement.region` policy's plan
/// (weights and caps over the regions' current counts) over the regions that are up (this one,
/// and the others the central lists UP that answer), else this region.
/// `here` is this region's name.
pub(crate) async fn regions_for_new_nodes(store: &Store, here: &str, cluster: &Cluster, count: i64) -> Result<Vec<String>, EngineError> {
    let count = count.max(0) as usize;
    let Some(policy) = region_placement(store, cluster).await? else { return Ok(vec![here.to_owned(); count]) };
    let nodes = store.cluster_nodes(cluster.id).await?;
    plan_regions(&regions_up(store, here).await?, &policy, nodes.iter(), count)
}

/// Where a member of `cluster` whose region was lost (or whose member failed) goes: the region
/// placement's plan over the regions up now. The members to move (this one and those in regions
/// that are down) are planned together, in index order, counting the others, so that members
/// moved at once spread as one plan says. Without a region placement policy, this region.
pub(crate) async fn region_for_replacement(ctx: &Ctx, cluster: &Cluster, node: &Node) -> Result<String, EngineError> {
    let Some(policy) = region_placement(ctx.store(), cluster).await? else { return Ok(ctx.shared.config.region.clone()) };
    let up = regions_up(ctx.store(), &ctx.shared.config.region).await?;
    let nodes = ctx.store().cluster_nodes(cluster.id).await?;
    let (mut moving, staying): (Vec<&Node>, Vec<&Node>) = nodes.iter().partition(|n| n.id == node.id || !up.contains(&n.region));
    moving.sort_by_key(|n| n.index);
    let position = moving.iter().position(|n| n.id == node.id).unwrap_or(0);
    // The caps may leave room for fewer than all: the first in index order go, the others stay.
    let mut refused = EngineError::failed("the region placement planned nothing");
    for count in (position + 1..=moving.len().max(1)).rev() {
        match plan_regions(&up, &policy, staying.iter().copied(), count) {
            Ok(plan) => return plan.get(position).cloned().ok_or(refused),
            Err(e) => refused = e,
        }
    }
    Err(refused)
}

/// The regions up now: this one, and the others the central lists UP that answer.
async fn regions_up(store: &Store, here: &str) -> Result<BTreeSet<String>, EngineError> {
    let mut up: BTreeSet<String> = store.peer_regions().await?.into_iter().filter(|p| p.up).map(|p| p.name).collect();
    up.insert(here.to_owned());
    Ok(up)
}

async fn region_placement(store: &Store, cluster: &Cluster) -> Result<Option<RegionPlacement>, EngineError> {
    Ok(enabled(store, cluster.id).await?.into_iter().find_map(|b| match b.policy.spec.properties {
        PolicyProperties::PlacementRegion(policy) => Some(policy),
        _ => None,
    }))
}

/// `policy`'s plan for `count` nodes over those of its regions that are `up`, given `members`.
fn plan_regions<'a>(
    up: &BTreeSet<String>,
    policy: &RegionPlacement,
    members: impl Iterator<Item = &'a Node>,
    count: usize,
) -> Result<Vec<String>, EngineError> {
    let usable = RegionPlacement { regions: policy.regions.iter().filter(|r| up.contains(&r.name)).cloned().collect() };
    if usable.regions.is_empty() {
        let named: Vec<&str> = policy.regions.iter().map(|r| r.name.as_str()).collect();
        return Err(EngineError::failed(format!("no region of the placement policy is up: {}", named.join(", "))));
    }
    let mut current = BTreeMap::new();
    for node in members {
        *current.entry(node.region.clone()).or_insert(0) += 1;
    }
    usable.plan_create(&current, count).map_err(|e| EngineError::failed(e.to_string()))
}

/// Narrows a member's placement as an `affinity` policy among its cluster's enabled `policies` says.
pub(crate) async fn shape_request(
    store: &Store,
    cluster: Option<flotilla_core::ClusterId>,
    policies: &[Binding],
    request: &mut Request,
) -> Result<(), EngineError> {
    let Some(cluster) = cluster else { return Ok(()) };
    for binding in policies {
        if let PolicyProperties::Affinity(policy) = &binding.policy.spec.properties {
            let nodes = store.cluster_nodes(cluster).await?;
            policy.apply(request, &member_zones(store, &nodes).await?);
        }
    }
    Ok(())
}

/// How many nodes a scale action adds or removes: the user's count, else the scaling policy's
/// adjustment, else 1; checked as Senlin's scaling policy does.
pub(crate) async fn scale_count(ctx: &Ctx, cluster: &Cluster, kind: ActionKind, requested: Option<i64>) -> Result<i64, EngineError> {
    for binding in enabled(ctx.store(), cluster.id).await? {
        if let PolicyProperties::Scaling(policy) = &binding.policy.spec.properties
            && policy.applies_to(kind.as_str())
        {
            let size = ClusterSize { desired: cluster.desired_capacity, min_size: cluster.min_size, max_size: cluster.max_size };
            let current = ctx.store().cluster_nodes(cluster.id).await?.len() as i64;
            return policy
                .count(&size, current, requested, ctx.shared.config.max_nodes_per_cluster)
                .map_err(|e| EngineError::failed(e.to_string()));
        }
    }
    Ok(requested.unwrap_or(1))
}

/// Starts the scaling policy's cooldown after a successful scale action.
pub(crate) async fn start_cooldown(ctx: &Ctx, cluster: &Cluster, kind: ActionKind) -> Result<(), EngineError> {
    for binding in enabled(ctx.store(), cluster.id).await? {
        if let PolicyProperties::Scaling(policy) = &binding.policy.spec.properties
            && policy.applies_to(kind.as_str())
            && policy.adjustment.cooldown > 0
        {
            let cooldown = chrono::Duration::try_seconds(i64::try_from(policy.adjustment.cooldown).unwrap_or(i64::MAX));
            let until =
                cooldown.and_then(|c| flotilla_core::now().checked_add_signed(c)).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
            ctx.store().update_cluster(cluster.id, ClusterChanges { cooldown_until: Some(until), ..Default::default() }).await?;
        }
    }
    Ok(())
}

/// The `count` nodes to delete: unhealthy ones first, then as the deletion policy's criteria
/// and the zone placement's plan say (default: the youngest).
pub(crate) async fn victims(ctx: &Ctx, cluster: &Cluster, nodes: Vec<Node>, count: usize) -> Result<Vec<Node>, EngineError> {
    let bindings = enabled(ctx.store(), cluster.id).await?;
    let criteria = bindings
        .iter()
        .find_map(|b| match &b.policy.spec.properties {
            PolicyProperties::Deletion(d) => Some(d.criteria),
            _ => None,
        })
        .unwrap_or(Criteria::YoungestFirst);
    let zones = member_zones(ctx.store(), &nodes).await?;
    let mut profiles = BTreeMap::new();
    let mut candidates = Vec::with_capacity(nodes.len());
    for (node, (_, zone)) in nodes.iter().zip(&zones) {
        if let std::collections::btree_map::Entry::Vacant(slot) = profiles.entry(node.profile_id) {
            slot.insert(ctx.store().profile(Scope::All, &node.profile_id.to_string()).await?.created_at);
        }
        // Nodes made in one transaction share a millisecond: the index breaks the tie.
        let created_at = node.created_at + chrono::Duration::microseconds(node.index);
        let healthy = !node.goes_first();
        candidates.push(Candidate { created_at, profile_created_at: profiles[&node.profile_id], healthy, zone: zone.clone() });
    }
    let pick = |n: usize| rand::rng().random_range(0..n.max(1));
    let chosen = match bindings.iter().find_map(|b| match &b.policy.spec.properties {
        PolicyProperties::PlacementZone(z) => Some(z),
        _ => None,
    }) {
        Some(zone_policy) => select_victims_by_zone(&candidates, &zone_policy.plan_delete(&per_zone(&zones), count), criteria, pick),
        None => select_victims(&candidates, count, criteria, pick),
    };
    Ok(chosen.into_iter().map(|i| nodes[i].clone()).collect())
}

/// The rolling update's batches of `nodes`, as the batch policy says: unhealthy and tainted nodes
/// in the first batches (default: all at once).
pub(crate) async fn batches(ctx: &Ctx, cluster: &Cluster, nodes: &[Node]) -> Result<BatchPlan, EngineError> {
    for binding in enabled(ctx.store(), cluster.id).await? {
        if let PolicyProperties::Batch(policy) = &binding.policy.spec.properties {
            let healthy: Vec<bool> = nodes.iter().map(|n| !n.goes_first()).collect();
            return Ok(BatchPlan { batches: policy.plan_nodes(&healthy), pause: Duration::from_secs(policy.pause_time) });
        }
    }
    let all = if nodes.is_empty() { vec![] } else { vec![(0..nodes.len()).collect()] };
    Ok(BatchPlan { batches: all, pause: Duration::ZERO })
}

/// How nodes leave `cluster` for `removal`, as its deletion policy (if any) says.
pub(crate) async fn removal(ctx: &Ctx, cluster: flotilla_core::ClusterId, removal: Removal) -> Result<RemovalPlan, EngineError> {
    let bindings = enabled(ctx.store(), cluster).await?;
    Ok(deletion::plan_removal(deletion::attached(bindings.iter().map(|b| &b.policy.spec.properties)), removal))
}

/// `CLUSTER_ATTACH_POLICY`, `CLUSTER_DETACH_POLICY`, `CLUSTER_UPDATE_POLICY`.
pub(crate) async fn bind(ctx: &Ctx, cluster: Cluster, kind: ActionKind, inputs: ActionInputs) -> Result<Outputs, EngineError> {
    let ActionInputs::Policy { policy, enabled } = inputs else { return Err(EngineError::failed(format!("{kind} needs a policy"))) };
    let policy = ctx.store().policy(Scope::All, &policy.to_string()).await?;
    match kind {
        ActionKind::ClusterAttachPolicy => ctx.store().attach_policy(cluster.id, &policy, enabled.unwrap_or(true)).await?,
        ActionKind::ClusterDetachPolicy => ctx.store().detach_policy(cluster.id, policy.id).await?,
        _ => ctx.store().set_policy_enabled(cluster.id, policy.id, enabled.unwrap_or(true)).await?,
    }
    Ok(Outputs::from([("policy".to_owned(), policy.name.to_string())]))
}
