//! The policies attached to a cluster, applied where actions need them: scaling counts and
//! cooldowns, deletion victims, zone placement, affinity, rolling-update batches, and the
//! attach/detach/update actions themselves.

use crate::context::Ctx;
use crate::error::EngineError;
use crate::node::Outputs;
use flotilla_core::action::{ActionInputs, ActionKind};
use flotilla_core::cluster::Cluster;
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::policy::PolicyProperties;
use flotilla_core::policy::deletion::{Candidate, Criteria, select_victims, select_victims_by_zone};
use flotilla_core::resize::ClusterSize;
use flotilla_core::scheduler::Request;
use flotilla_store::{Binding, ClusterChanges, Scope};
use rand::Rng;
use std::collections::BTreeMap;
use std::time::Duration;

/// Rolling-update batches: their sizes, and the pause between them.
pub(crate) struct BatchPlan {
    pub sizes: Vec<usize>,
    pub pause: Duration,
}

/// The enabled policies of `cluster`.
async fn enabled(ctx: &Ctx, cluster: &Cluster) -> Result<Vec<Binding>, EngineError> {
    Ok(ctx.store().cluster_policies(cluster.id).await?.into_iter().filter(|b| b.enabled).collect())
}

/// The zone of each member's host (empty when unplaced).
async fn member_zones(ctx: &Ctx, nodes: &[Node]) -> Result<Vec<(String, String)>, EngineError> {
    let mut hosts = BTreeMap::new();
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let (name, zone) = match node.host_id {
            Some(id) => match hosts.get(&id) {
                Some(known) => Clone::clone(known),
                None => {
                    let host = ctx.store().host(&id.to_string()).await?;
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
pub(crate) async fn zones_for_new_nodes(ctx: &Ctx, cluster: &Cluster, count: i64) -> Result<Vec<Option<String>>, EngineError> {
    let count = count.max(0) as usize;
    for binding in enabled(ctx, cluster).await? {
        if let PolicyProperties::PlacementZone(policy) = &binding.policy.spec.properties {
            let nodes = ctx.store().cluster_nodes(cluster.id).await?;
            let current = per_zone(&member_zones(ctx, &nodes).await?);
            return Ok(policy.plan_create(&current, count).into_iter().map(Some).collect());
        }
    }
    Ok(vec![None; count])
}

/// The region each of `count` new nodes is planned for: a `placement.region` policy's plan
/// (weights and caps over the regions' current counts), else this region. The plan is recorded
/// on the nodes; across regions it is followed once regions are federated.
pub(crate) async fn regions_for_new_nodes(ctx: &Ctx, cluster: &Cluster, count: i64) -> Result<Vec<String>, EngineError> {
    let count = count.max(0) as usize;
    for binding in enabled(ctx, cluster).await? {
        if let PolicyProperties::PlacementRegion(policy) = &binding.policy.spec.properties {
            let mut current = BTreeMap::new();
            for node in ctx.store().cluster_nodes(cluster.id).await? {
                *current.entry(node.region).or_insert(0) += 1;
            }
            return policy.plan_create(&current, count).map_err(|e| EngineError::failed(e.to_string()));
        }
    }
    Ok(vec![ctx.shared.config.region.clone(); count])
}

/// Narrows a member's placement as an `affinity` policy says.
pub(crate) async fn shape_request(ctx: &Ctx, cluster: Option<flotilla_core::ClusterId>, request: &mut Request) -> Result<(), EngineError> {
    let Some(cluster) = cluster else { return Ok(()) };
    let cluster = ctx.store().cluster(Scope::All, &cluster.to_string()).await?;
    for binding in enabled(ctx, &cluster).await? {
        if let PolicyProperties::Affinity(policy) = &binding.policy.spec.properties {
            let nodes = ctx.store().cluster_nodes(cluster.id).await?;
            policy.apply(request, &member_zones(ctx, &nodes).await?);
        }
    }
    Ok(())
}

/// How many nodes a scale action adds or removes: the user's count, else the scaling policy's
/// adjustment, else 1; checked as Senlin's scaling policy does.
pub(crate) async fn scale_count(ctx: &Ctx, cluster: &Cluster, kind: ActionKind, requested: Option<i64>) -> Result<i64, EngineError> {
    for binding in enabled(ctx, cluster).await? {
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
    for binding in enabled(ctx, cluster).await? {
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
    let bindings = enabled(ctx, cluster).await?;
    let criteria = bindings
        .iter()
        .find_map(|b| match &b.policy.spec.properties {
            PolicyProperties::Deletion(d) => Some(d.criteria),
            _ => None,
        })
        .unwrap_or(Criteria::YoungestFirst);
    let zones = member_zones(ctx, &nodes).await?;
    let mut profiles = BTreeMap::new();
    let mut candidates = Vec::with_capacity(nodes.len());
    for (node, (_, zone)) in nodes.iter().zip(&zones) {
        if let std::collections::btree_map::Entry::Vacant(slot) = profiles.entry(node.profile_id) {
            slot.insert(ctx.store().profile(Scope::All, &node.profile_id.to_string()).await?.created_at);
        }
        // Nodes made in one transaction share a millisecond: the index breaks the tie.
        let created_at = node.created_at + chrono::Duration::microseconds(node.index);
        let healthy = node.status == NodeStatus::Active;
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

/// The rolling update's batches, as the batch policy says (default: all at once).
pub(crate) async fn batches(ctx: &Ctx, cluster: &Cluster, total: usize) -> Result<BatchPlan, EngineError> {
    for binding in enabled(ctx, cluster).await? {
        if let PolicyProperties::Batch(policy) = &binding.policy.spec.properties {
            return Ok(BatchPlan { sizes: policy.plan(total), pause: Duration::from_secs(policy.pause_time) });
        }
    }
    Ok(BatchPlan { sizes: if total == 0 { vec![] } else { vec![total] }, pause: Duration::ZERO })
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
