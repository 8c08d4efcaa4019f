//! Cluster actions: each plans, writes its node actions (the DAG: children depend on nothing,
//! the cluster action depends on them all), waits for them, and settles the cluster's status.

use crate::context::Ctx;
use crate::error::EngineError;
use crate::node::Outputs;
use flotilla_core::action::{Action, ActionInputs, ActionKind, Cause, NodeOperation, RecoverAction, Target};
use flotilla_core::cluster::{Cluster, ClusterStatus};
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::policy::deletion::{Removal, RemovalPlan};
use flotilla_core::resize::{self, ClusterSize};
use flotilla_core::{Name, NodeId, ProfileId};
use flotilla_store::{ClusterChanges, NodeChanges, Scope, StoreError};
use rand::Rng;
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) async fn run(ctx: &Ctx) -> Result<Outputs, EngineError> {
    let Target::Cluster(id) = ctx.action.target else { return Err(EngineError::failed("not a cluster action")) };
    let cluster = ctx.store().cluster(Scope::All, &id.to_string()).await?;
    let inputs = ctx.action.inputs.clone();
    match (ctx.action.kind, inputs) {
        (ActionKind::ClusterCreate, _) => create(ctx, cluster).await,
        (ActionKind::ClusterScaleOut, ActionInputs::Scale { count }) => scale_out(ctx, cluster, count).await,
        (ActionKind::ClusterScaleIn, ActionInputs::Scale { count }) => scale_in(ctx, cluster, count, None).await,
        (ActionKind::ClusterResize, ActionInputs::Resize(request)) => resize(ctx, cluster, request.into()).await,
        (ActionKind::ClusterAddNodes, ActionInputs::Nodes { nodes, .. }) => add_nodes(ctx, cluster, &nodes).await,
        (ActionKind::ClusterDelNodes, ActionInputs::Nodes { nodes, destroy }) => del_nodes(ctx, cluster, &nodes, destroy).await,
        (ActionKind::ClusterReplaceNodes, ActionInputs::Replace { pairs }) => replace_nodes(ctx, cluster, &pairs).await,
        (ActionKind::ClusterCheck, _) => {
            for_each_node(ctx, cluster, ClusterStatus::Checking, ActionKind::NodeCheck, ActionInputs::None, |_| true).await
        }
        (ActionKind::ClusterRecover, ActionInputs::Recover { action }) => recover(ctx, cluster, action).await,
        (ActionKind::ClusterRecover, _) => recover(ctx, cluster, RecoverAction::Recreate).await,
        (ActionKind::ClusterOperation, ActionInputs::Operation { operation: op, filters }) => operation(ctx, cluster, op, filters).await,
        (ActionKind::ClusterUpdate, ActionInputs::Update { profile }) => crate::rollout::run(ctx, cluster, profile).await,
        (ActionKind::ClusterDelete, ActionInputs::Delete { force }) => delete(ctx, cluster, force).await,
        (ActionKind::ClusterDelete, _) => delete(ctx, cluster, false).await,
        (kind @ (ActionKind::ClusterAttachPolicy | ActionKind::ClusterDetachPolicy | ActionKind::ClusterUpdatePolicy), inputs) => {
            crate::policies::bind(ctx, cluster, kind, inputs).await
        }
        (kind, inputs) => Err(EngineError::failed(format!("{kind} cannot run with inputs {inputs:?}"))),
    }
}

pub(crate) async fn set_status(ctx: &Ctx, cluster: &Cluster, status: ClusterStatus, reason: impl Into<String>) -> Result<(), EngineError> {
    ctx.store().update_cluster(cluster.id, ClusterChanges { status: Some((status, reason.into())), ..Default::default() }).await?;
    Ok(())
}

fn size(cluster: &Cluster) -> ClusterSize {
    ClusterSize { desired: cluster.desired_capacity, min_size: cluster.min_size, max_size: cluster.max_size }
}

/// Fails with Senlin's message, or answers the children's failures as this action's failure.
fn outcome(failures: Vec<String>, what: &str, outputs: Outputs) -> Result<Outputs, EngineError> {
    if failures.is_empty() {
        Ok(outputs)
    } else {
        let shown: Vec<&str> = failures.iter().take(3).map(String::as_str).collect();
        Err(EngineError::failed(format!("{} of the node actions of {what} failed: {}", failures.len(), shown.join("; "))))
    }
}

/// New nodes written (with their actions) per transaction: the first are placed while the rest
/// are written.
const NODES_PER_WRITE: usize = 1000;

/// Writes `count` new nodes of `cluster` and their NODE_CREATE actions, a transaction per
/// [`NODES_PER_WRITE`], each handed to the dispatcher as it commits. `zones` gives each new
/// node's zone. Callers count from the cluster's nodes, so an action taken over from a silent
/// engine writes only the nodes it had not written.
pub(crate) async fn spawn_creates(ctx: &Ctx, cluster: &Cluster, count: i64, zones: &[Option<String>]) -> Result<(), EngineError> {
    if count <= 0 {
        return Ok(());
    }
    let regions = crate::policies::regions_for_new_nodes(ctx.store(), &ctx.shared.config.region, cluster, count).await?;
    let first = ctx.store().take_node_indexes(cluster.id, count).await?;
    let now = flotilla_core::now();
    // Each write's rows are made as it is written: 10,000 at once were the cluster action's peak.
    for from in (0..count).step_by(NODES_PER_WRITE) {
        let mut chunk = Vec::with_capacity(NODES_PER_WRITE.min((count - from) as usize));
        for i in from..count.min(from + NODES_PER_WRITE as i64) {
            let node = new_node(cluster, first + i, regions.get(i as usize).cloned().unwrap_or_default(), now)?;
            let zone = zones.get(i as usize).cloned().flatten();
            let name = node.name.as_str();
            let action =
                Action::new(ActionKind::NodeCreate, Target::Node(node.id), name, cluster.project_id, cluster.user_id, Cause::Derived)
                    .inputs(ActionInputs::NodeCreate { zone })
                    .derived(&ctx.action);
            chunk.push((node, action));
        }
        let claimed = crate::handover::claim(ctx, chunk.iter_mut().map(|(_, action)| action));
        ctx.store().create_nodes(&chunk).await?;
        claimed.hand_over(chunk.iter().map(|(_, action)| action));
        ctx.shared.wake.notify_one();
    }
    Ok(())
}

/// `cluster`'s new member number `index`, in `region`, named by the cluster's node naming.
pub(crate) fn new_node(cluster: &Cluster, index: i64, region: String, now: flotilla_core::Timestamp) -> Result<Node, EngineError> {
    let name = cluster
        .config
        .node_name(cluster.name.as_str(), index, &mut || rand::rng().sample(rand::distr::Alphanumeric).to_ascii_lowercase() as char);
    let name = Name::parse("node name", &name).map_err(|e| EngineError::failed(e.to_string()))?;
    Ok(Node {
        id: NodeId::new(),
        name,
        project_id: cluster.project_id,
        user_id: cluster.user_id,
        cluster_id: Some(cluster.id),
        index,
        role: String::new(),
        profile_id: cluster.profile_id,
        status: NodeStatus::Init,
        status_reason: String::new(),
        tainted: false,
        physical_id: None,
        host_id: None,
        region,
        metadata: Default::default(),
        created_at: now,
        updated_at: now,
    })
}

/// Writes one derived `kind` action per node, unless this action already did.
async fn spawn_for(ctx: &Ctx, nodes: &[Node], kind: ActionKind, inputs: ActionInputs) -> Result<(), EngineError> {
    if nodes.is_empty() || ctx.store().has_children(ctx.action.id).await? {
        return Ok(());
    }
    submit_children(ctx, nodes, kind, inputs).await
}

/// Writes one derived `kind` action per node, those this engine has room for claimed by it and
/// handed to its dispatcher (`handover.rs`).
pub(crate) async fn submit_children(ctx: &Ctx, nodes: &[Node], kind: ActionKind, inputs: ActionInputs) -> Result<(), EngineError> {
    let mut children: Vec<Action> = nodes
        .iter()
        .map(|n| {
            Action::new(kind, Target::Node(n.id), n.name.as_str(), n.project_id, n.user_id, Cause::Derived)
                .inputs(inputs.clone())
                .derived(&ctx.action)
        })
        .collect();
    let claimed = crate::handover::claim(ctx, children.iter_mut());
    ctx.store().submit_child_actions(&children).await?;
    claimed.hand_over(&children);
    ctx.shared.wake.notify_one();
    Ok(())
}

async fn create(ctx: &Ctx, cluster: Cluster) -> Result<Outputs, EngineError> {
    set_status(ctx, &cluster, ClusterStatus::Creating, "creating its nodes").await?;
    // Taken over from a silent engine: only the nodes it had not written yet.
    let count = cluster.desired_capacity - ctx.store().cluster_nodes(cluster.id).await?.len() as i64;
    let zones = crate::policies::zones_for_new_nodes(ctx.store(), &cluster, count).await?;
    spawn_creates(ctx, &cluster, count, &zones).await?;
    let failures = ctx.wait_children().await?;
    outcome(failures, "the cluster's creation", Outputs::new())
}

/// Remembers the desired capacity this action set, so a takeover does not apply it twice.
async fn settle_desired(ctx: &Ctx, cluster: &Cluster, desired: i64, min: Option<i64>, max: Option<i64>) -> Result<i64, EngineError> {
    let current = ctx.store().action(Scope::All, &ctx.action.id.to_string()).await?;
    if let Some(stored) = current.outputs.get("desired_capacity").and_then(|d| d.parse().ok()) {
        return Ok(stored);
    }
    let changes = ClusterChanges { desired_capacity: Some(desired), min_size: min, max_size: max, ..Default::default() };
    ctx.store().update_cluster(cluster.id, changes).await?;
    let mut outputs = current.outputs;
    outputs.insert("desired_capacity".to_owned(), desired.to_string());
    ctx.store().set_action_outputs(ctx.action.id, &outputs).await?;
    Ok(desired)
}

/// The desired capacity this action already settled (before a takeover), if any.
async fn settled(ctx: &Ctx) -> Result<Option<i64>, EngineError> {
    let current = ctx.store().action(Scope::All, &ctx.action.id.to_string()).await?;
    Ok(current.outputs.get("desired_capacity").and_then(|d| d.parse().ok()))
}

async fn scale_out(ctx: &Ctx, cluster: Cluster, count: Option<i64>) -> Result<Outputs, EngineError> {
    let desired = match settled(ctx).await? {
        Some(desired) => desired,
        None => {
            let count = crate::policies::scale_count(ctx, &cluster, ActionKind::ClusterScaleOut, count).await?;
            let current = ctx.store().cluster_nodes(cluster.id).await?.len() as i64;
            let target = resize::scale_out_target(&size(&cluster), current, count, ctx.shared.config.max_nodes_per_cluster)
                .map_err(|e| EngineError::failed(e.to_string()))?;
            settle_desired(ctx, &cluster, target, None, None).await?
        }
    };
    let outputs = grow_to(ctx, &cluster, desired).await?;
    crate::policies::start_cooldown(ctx, &cluster, ActionKind::ClusterScaleOut).await?;
    Ok(outputs)
}

/// Adds nodes until the cluster has `desired`.
async fn grow_to(ctx: &Ctx, cluster: &Cluster, desired: i64) -> Result<Outputs, EngineError> {
    set_status(ctx, cluster, ClusterStatus::Resizing, format!("scaling out to {desired}")).await?;
    let nodes = ctx.store().cluster_nodes(cluster.id).await?;
    let count = desired - nodes.len() as i64;
    let zones = crate::policies::zones_for_new_nodes(ctx.store(), cluster, count).await?;
    spawn_creates(ctx, cluster, count, &zones).await?;
    let failures = ctx.wait_children().await?;
    outcome(failures, "the scale-out", Outputs::from([("desired_capacity".to_owned(), desired.to_string())]))
}

async fn scale_in(ctx: &Ctx, cluster: Cluster, count: Option<i64>, plan: Option<(i64, i64, i64)>) -> Result<Outputs, EngineError> {
    let (desired, min, max) = match (plan, settled(ctx).await?) {
        (Some(plan), _) => plan,
        (None, Some(desired)) => (desired, cluster.min_size, cluster.max_size),
        (None, None) => {
            let count = crate::policies::scale_count(ctx, &cluster, ActionKind::ClusterScaleIn, count).await?;
            let current = ctx.store().cluster_nodes(cluster.id).await?.len() as i64;
            let target = resize::scale_in_target(&size(&cluster), current, count, ctx.shared.config.max_nodes_per_cluster)
                .map_err(|e| EngineError::failed(e.to_string()))?;
            (target, cluster.min_size, cluster.max_size)
        }
    };
    let desired = settle_desired(ctx, &cluster, desired, Some(min), Some(max)).await?;
    let outputs = shrink_to(ctx, &cluster, desired).await?;
    if plan.is_none() {
        crate::policies::start_cooldown(ctx, &cluster, ActionKind::ClusterScaleIn).await?;
    }
    Ok(outputs)
}

/// Deletes nodes (the deletion policy's choice) until the cluster has `desired`.
async fn shrink_to(ctx: &Ctx, cluster: &Cluster, desired: i64) -> Result<Outputs, EngineError> {
    set_status(ctx, cluster, ClusterStatus::Resizing, format!("scaling in to {desired}")).await?;
    let nodes = ctx.store().cluster_nodes(cluster.id).await?;
    let count = nodes.len() as i64 - desired;
    let victims = if count > 0 { crate::policies::victims(ctx, cluster, nodes, count as usize).await? } else { Vec::new() };
    let names: Vec<String> = victims.iter().map(|n| n.name.to_string()).collect();
    let plan = crate::policies::removal(ctx, cluster.id, Removal::Shrink).await?;
    let failures = remove_nodes(ctx, &victims, plan).await?;
    let outputs = Outputs::from([("desired_capacity".to_owned(), desired.to_string()), (removed_key(plan).to_owned(), names.join(","))]);
    outcome(failures, "the scale-in", outputs)
}

/// The output naming the nodes taken out: `deleted`, or `removed` when they were kept as orphans.
fn removed_key(plan: RemovalPlan) -> &'static str {
    if plan.destroy { "deleted" } else { "removed" }
}

/// Takes `nodes` out of their cluster as `plan` says (Senlin's `_delete_nodes`): after its grace period, deleted
/// with their containers, or (not `destroy`) left as orphan nodes that keep their containers (Senlin's NODE_LEAVE).
/// Answers the failures of the node deletions.
async fn remove_nodes(ctx: &Ctx, nodes: &[Node], plan: RemovalPlan) -> Result<Vec<String>, EngineError> {
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    // The grace runs once: a takeover that finds the deletions already written does not wait again.
    if plan.grace_period > 0 && !ctx.store().has_children(ctx.action.id).await? {
        ctx.pause(Duration::from_secs(plan.grace_period)).await?;
    }
    if plan.destroy {
        spawn_for(ctx, nodes, ActionKind::NodeDelete, ActionInputs::None).await?;
        return ctx.wait_children().await;
    }
    for node in nodes {
        ctx.store().update_node(node.id, NodeChanges { cluster: Some((None, -1)), ..Default::default() }).await?;
    }
    Ok(Vec::new())
}

async fn resize(ctx: &Ctx, cluster: Cluster, request: resize::ResizeRequest) -> Result<Outputs, EngineError> {
    // Senlin's engine starts a relative adjustment from the node count (`Node.count_by_cluster`); a takeover
    // keeps what the first run settled (the count has moved since).
    let current = ctx.store().cluster_nodes(cluster.id).await?.len() as i64;
    let plan = match settled(ctx).await? {
        Some(desired) => resize::ResizePlan { desired, min_size: cluster.min_size, max_size: cluster.max_size },
        None => resize::resize(&size(&cluster), current, &request, ctx.shared.config.max_nodes_per_cluster)
            .map_err(|e| EngineError::failed(e.to_string()))?,
    };
    if plan.desired >= current {
        let desired = settle_desired(ctx, &cluster, plan.desired, Some(plan.min_size), Some(plan.max_size)).await?;
        grow_to(ctx, &cluster, desired).await
    } else {
        scale_in(ctx, cluster, None, Some((plan.desired, plan.min_size, plan.max_size))).await
    }
}

/// `cluster`'s members among `ids`, or a failure naming the first that is not one.
async fn members(ctx: &Ctx, cluster: &Cluster, ids: &[NodeId]) -> Result<Vec<Node>, EngineError> {
    let nodes = ctx.store().nodes_by_id(ids).await?;
    if let Some(stranger) = nodes.iter().find(|n| n.cluster_id != Some(cluster.id)) {
        return Err(EngineError::failed(format!("node {} is not a member of cluster {}", stranger.name, cluster.name)));
    }
    Ok(nodes)
}

/// Orphan nodes among `ids` ready to join `cluster`, or a failure naming the first that is not.
async fn orphans(ctx: &Ctx, cluster: &Cluster, ids: &[NodeId]) -> Result<Vec<Node>, EngineError> {
    let nodes = ctx.store().nodes_by_id(ids).await?;
    for node in &nodes {
        if node.cluster_id.is_some_and(|c| c != cluster.id) || (node.cluster_id.is_none() && node.project_id != cluster.project_id) {
            return Err(EngineError::failed(format!("node {} is owned by another cluster or project", node.name)));
        }
        if node.status != NodeStatus::Active {
            return Err(EngineError::failed(format!("node {} is {}, not ACTIVE", node.name, node.status)));
        }
    }
    Ok(nodes.into_iter().filter(|n| n.cluster_id.is_none()).collect())
}

async fn add_nodes(ctx: &Ctx, cluster: Cluster, ids: &[NodeId]) -> Result<Outputs, EngineError> {
    let joining = orphans(ctx, &cluster, ids).await?;
    let total = ctx.store().cluster_nodes(cluster.id).await?.len() as i64 + joining.len() as i64;
    if cluster.max_size >= 0 && total > cluster.max_size {
        return Err(EngineError::failed(format!(
            "The target capacity ({total}) is greater than the cluster's max_size ({}).",
            cluster.max_size
        )));
    }
    let first = ctx.store().take_node_indexes(cluster.id, joining.len() as i64).await?;
    for (i, node) in joining.iter().enumerate() {
        ctx.store().update_node(node.id, NodeChanges { cluster: Some((Some(cluster.id), first + i as i64)), ..Default::default() }).await?;
    }
    let changes = ClusterChanges { desired_capacity: Some(total), ..Default::default() };
    ctx.store().update_cluster(cluster.id, changes).await?;
    Ok(Outputs::from([("nodes_added".to_owned(), joining.iter().map(|n| n.name.to_string()).collect::<Vec<_>>().join(","))]))
}

async fn del_nodes(ctx: &Ctx, cluster: Cluster, ids: &[NodeId], destroy: bool) -> Result<Outputs, EngineError> {
    let leaving = members(ctx, &cluster, ids).await?;
    let total = ctx.store().cluster_nodes(cluster.id).await?.len() as i64;
    let remaining = total - leaving.len() as i64;
    if remaining < cluster.min_size {
        return Err(EngineError::failed(format!(
            "The target capacity ({remaining}) is less than the cluster's min_size ({}).",
            cluster.min_size
        )));
    }
    let plan = crate::policies::removal(ctx, cluster.id, Removal::DelNodes { destroy }).await?;
    let desired = match plan.reduce_desired_capacity {
        true => settle_desired(ctx, &cluster, remaining.max(0), None, None).await?,
        false => cluster.desired_capacity,
    };
    set_status(ctx, &cluster, ClusterStatus::Resizing, format!("removing {} nodes", leaving.len())).await?;
    let names: Vec<String> = leaving.iter().map(|n| n.name.to_string()).collect();
    let failures = remove_nodes(ctx, &leaving, plan).await?;
    let outputs = Outputs::from([("desired_capacity".to_owned(), desired.to_string()), (removed_key(plan).to_owned(), names.join(","))]);
    outcome(failures, "the node deletion", outputs)
}

async fn replace_nodes(ctx: &Ctx, cluster: Cluster, pairs: &BTreeMap<NodeId, NodeId>) -> Result<Outputs, EngineError> {
    let old: Vec<NodeId> = pairs.keys().copied().collect();
    let new: Vec<NodeId> = pairs.values().copied().collect();
    let leaving = members(ctx, &cluster, &old).await?;
    let joining = orphans(ctx, &cluster, &new).await?;
    if joining.len() != leaving.len() {
        return Err(EngineError::failed("every replacement node must be an ACTIVE orphan"));
    }
    set_status(ctx, &cluster, ClusterStatus::Updating, format!("replacing {} nodes", leaving.len())).await?;
    for (out, node_in) in leaving.iter().zip(&joining) {
        ctx.store().update_node(node_in.id, NodeChanges { cluster: Some((Some(cluster.id), out.index)), ..Default::default() }).await?;
        ctx.store().update_node(out.id, NodeChanges { cluster: Some((None, -1)), ..Default::default() }).await?;
    }
    spawn_for(ctx, &leaving, ActionKind::NodeDelete, ActionInputs::None).await?;
    let failures = ctx.wait_children().await?;
    outcome(failures, "the replacement", Outputs::new())
}

/// Runs one `kind` node action on every member `pick` chooses, then waits for them.
async fn for_each_node(
    ctx: &Ctx,
    cluster: Cluster,
    status: ClusterStatus,
    kind: ActionKind,
    inputs: ActionInputs,
    pick: impl Fn(&Node) -> bool,
) -> Result<Outputs, EngineError> {
    set_status(ctx, &cluster, status, "").await?;
    let nodes: Vec<Node> = ctx.store().cluster_nodes(cluster.id).await?.into_iter().filter(|n| pick(n)).collect();
    let names: Vec<String> = nodes.iter().map(|n| n.name.to_string()).collect();
    spawn_for(ctx, &nodes, kind, inputs).await?;
    let failures = ctx.wait_children().await?;
    outcome(failures, kind.as_str(), Outputs::from([("nodes".to_owned(), names.join(","))]))
}

async fn recover(ctx: &Ctx, cluster: Cluster, action: RecoverAction) -> Result<Outputs, EngineError> {
    // Only nodes found faulty are recovered; a check first brings their statuses up to date.
    let mut faulty = Vec::new();
    for node in ctx.store().cluster_nodes(cluster.id).await? {
        if node.status != NodeStatus::Active || crate::node::fault(ctx, &node).await?.is_some() {
            faulty.push(node.id);
        }
    }
    for_each_node(ctx, cluster, ClusterStatus::Recovering, ActionKind::NodeRecover, ActionInputs::Recover { action }, |n| {
        faulty.contains(&n.id)
    })
    .await
}

async fn operation(
    ctx: &Ctx,
    cluster: Cluster,
    operation: NodeOperation,
    filters: BTreeMap<String, String>,
) -> Result<Outputs, EngineError> {
    let matches = move |n: &Node| {
        filters.iter().all(|(key, value)| match key.as_str() {
            "status" => n.status.as_str().eq_ignore_ascii_case(value),
            "role" => &n.role == value,
            "name" => n.name.as_str() == value,
            _ => n.metadata.get(key) == Some(value),
        })
    };
    let inputs = ActionInputs::Operation { operation, filters: BTreeMap::new() };
    for_each_node(ctx, cluster, ClusterStatus::Updating, ActionKind::NodeOperation, inputs, matches).await
}

async fn delete(ctx: &Ctx, cluster: Cluster, force: bool) -> Result<Outputs, EngineError> {
    set_status(ctx, &cluster, ClusterStatus::Deleting, "deleting its nodes").await?;
    let nodes = ctx.store().cluster_nodes(cluster.id).await?;
    spawn_for(ctx, &nodes, ActionKind::NodeDelete, ActionInputs::None).await?;
    let failures = ctx.wait_children().await?;
    if !failures.is_empty() && !force {
        return outcome(failures, "the cluster's deletion", Outputs::new());
    }
    if force {
        // Whatever is left is forgotten on the store's side; agents remove what they still run.
        for node in ctx.store().cluster_nodes(cluster.id).await? {
            if let Some(container) = node.physical_id {
                let _ = ctx.store().delete_container(container).await;
            }
            let _ = ctx.store().delete_node(node.id).await;
        }
    }
    match ctx.store().delete_cluster(cluster.id).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(Outputs::from([("deleted".to_owned(), "true".to_owned())])),
        Err(e) => Err(e.into()),
    }
}

/// Settles `cluster`'s status from its members after an action (Senlin's `eval_status`).
pub(crate) async fn evaluate(ctx: &Ctx, cluster: flotilla_core::ClusterId, failure: Option<&str>) -> Result<(), EngineError> {
    let cluster = match ctx.store().cluster(Scope::All, &cluster.to_string()).await {
        Ok(c) => c,
        Err(StoreError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let counts = ctx.store().member_counts(cluster.id).await?;
    let (status, mut reason) = flotilla_core::cluster::evaluate(cluster.desired_capacity, cluster.min_size, cluster.max_size, counts);
    if let Some(failure) = failure {
        reason = format!("{}: {failure}; {reason}", ctx.action.kind);
    }
    set_status(ctx, &cluster, status, reason).await
}

/// A new profile must be of the cluster's profile type.
pub(crate) async fn check_profile(ctx: &Ctx, cluster: &Cluster, profile: ProfileId) -> Result<(), EngineError> {
    let old = ctx.store().profile(Scope::All, &cluster.profile_id.to_string()).await?;
    let new = ctx.store().profile(Scope::All, &profile.to_string()).await?;
    if old.spec.type_name != new.spec.type_name {
        return Err(EngineError::failed(format!("profile {} is of type {}, not {}", new.name, new.spec.type_name, old.spec.type_name)));
    }
    Ok(())
}
