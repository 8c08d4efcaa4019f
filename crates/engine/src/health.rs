//! The health manager: for each cluster with an enabled health policy, judges every member
//! (container status, host heartbeat, the agent's probes) and starts a NODE_RECOVER for each
//! unhealthy one. The node's lock makes sure a node is never recovered twice at once.

use crate::context::Shared;
use flotilla_core::action::{Action, ActionInputs, ActionKind, Cause, RecoverAction, Target};
use flotilla_core::cluster::Cluster;
use flotilla_core::container::{ContainerHealth, ContainerStatus, DesiredState};
use flotilla_core::event::{Event, EventLevel, ObjectType, START};
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::policy::PolicyProperties;
use flotilla_core::policy::health::{HealthPolicy, NodeObservation, RecoveryAction, Verdict};
use flotilla_core::scheduler::HostState;
use flotilla_core::{ClusterId, NodeId};
use flotilla_store::{Scope, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Checks clusters every `health_tick` (each at its policy's interval) until `stop`.
pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let mut checked: HashMap<ClusterId, Instant> = HashMap::new();
    let mut backoff = Backoff::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(shared.config.health_tick) => {}
        }
        if let Err(e) = sweep(&shared, &mut checked, &mut backoff).await {
            tracing::warn!(error = %e, "health manager: sweep failed");
        }
    }
}

/// Checks every cluster; an error or a panic in one is logged and the others go on.
async fn sweep(shared: &Shared, checked: &mut HashMap<ClusterId, Instant>, backoff: &mut Backoff) -> Result<(), StoreError> {
    for cluster in shared.store.all_clusters().await? {
        match crate::guard::caught(check(shared, &cluster, checked, backoff)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(cluster = %cluster.name, error = %e, "health manager: cannot check a cluster"),
            Err(panic) => tracing::error!(cluster = %cluster.name, %panic, "health manager: checking a cluster panicked"),
        }
    }
    Ok(())
}

/// Judges `cluster`'s members when its health policy's interval is due, recovering the unhealthy.
async fn check(
    shared: &Shared,
    cluster: &Cluster,
    checked: &mut HashMap<ClusterId, Instant>,
    backoff: &mut Backoff,
) -> Result<(), StoreError> {
    let bindings = shared.store.cluster_policies(cluster.id).await?;
    let Some(policy) = bindings.iter().filter(|b| b.enabled).find_map(|b| match &b.policy.spec.properties {
        PolicyProperties::Health(h) => Some(h.clone()),
        _ => None,
    }) else {
        return Ok(());
    };
    let due = checked.get(&cluster.id).is_none_or(|at| at.elapsed().as_secs() >= policy.detection.interval);
    // Checks are suspended while an action works on the cluster (Senlin's health policy hooks).
    if !due || shared.store.cluster_lock(cluster.id).await?.is_some() {
        return Ok(());
    }
    checked.insert(cluster.id, Instant::now());
    for node in shared.store.cluster_nodes(cluster.id).await? {
        if !matches!(node.status, NodeStatus::Active | NodeStatus::Error | NodeStatus::Warning) {
            continue;
        }
        match judge(shared, &policy, &node).await? {
            Verdict::Healthy => backoff.forget(node.id),
            Verdict::Unhealthy(reason) if backoff.due(node.id) => {
                if recover(shared, cluster, &node, &policy, &reason).await? {
                    backoff.started(node.id);
                }
            }
            Verdict::Unhealthy(_) => {}
        }
    }
    Ok(())
}

async fn judge(shared: &Shared, policy: &HealthPolicy, node: &Node) -> Result<Verdict, StoreError> {
    if crate::remote::elsewhere(&shared.config.region, node) {
        return judge_remote(shared, policy, node).await;
    }
    let container = match node.physical_id {
        Some(id) => match shared.store.container(Scope::All, &id.to_string()).await {
            Ok(row) => Some(row.container),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let host_up = match container.as_ref().and_then(|c| c.host_id) {
        Some(host) => shared.store.host(&host.to_string()).await.is_ok_and(|h| h.state() != HostState::Down),
        None => false,
    };
    let observed = NodeObservation {
        container_status: container.as_ref().map(|c| c.status),
        desired: container.as_ref().map_or(DesiredState::Running, |c| c.desired),
        host_up,
        probe_healthy: container.as_ref().and_then(|c| match c.health {
            ContainerHealth::Healthy => Some(true),
            ContainerHealth::Unhealthy { .. } => Some(false),
            ContainerHealth::Unknown | ContainerHealth::Starting => None,
        }),
    };
    Ok(policy.judge(&observed))
}

/// [`judge`] for a member in another region: its status as that region last reported it; a
/// region that cannot be reached counts as a host that is down.
async fn judge_remote(shared: &Shared, policy: &HealthPolicy, node: &Node) -> Result<Verdict, StoreError> {
    let member = match node.physical_id {
        Some(id) => shared.store.remote_member(id).await?,
        None => None,
    };
    let observed = NodeObservation {
        container_status: member.as_ref().map(|m| m.status),
        desired: DesiredState::Running,
        host_up: member.as_ref().is_some_and(|m| m.status != ContainerStatus::Unknown),
        probe_healthy: None,
    };
    Ok(policy.judge(&observed))
}

/// Recoveries of a node that stays unhealthy are spaced out: 2 s, 4 s, 8 s ... up to 5 minutes.
#[derive(Default)]
struct Backoff {
    nodes: HashMap<NodeId, (Instant, u32)>,
}

impl Backoff {
    fn due(&self, node: NodeId) -> bool {
        self.nodes.get(&node).is_none_or(|(at, tries)| at.elapsed() >= Duration::from_secs(2u64.saturating_pow(*tries).min(300)))
    }

    fn started(&mut self, node: NodeId) {
        let entry = self.nodes.entry(node).or_insert((Instant::now(), 0));
        *entry = (Instant::now(), entry.1 + 1);
    }

    fn forget(&mut self, node: NodeId) {
        self.nodes.remove(&node);
    }
}

/// Starts a NODE_RECOVER of `node`; false when another action holds the node.
async fn recover(shared: &Shared, cluster: &Cluster, node: &Node, policy: &HealthPolicy, reason: &str) -> Result<bool, StoreError> {
    let how = match policy.recovery.action {
        RecoveryAction::Restart => RecoverAction::Restart,
        RecoveryAction::Rebuild => RecoverAction::Rebuild,
        RecoveryAction::Recreate => RecoverAction::Recreate,
    };
    let mut action =
        Action::new(ActionKind::NodeRecover, Target::Node(node.id), node.name.as_str(), node.project_id, cluster.user_id, Cause::Health)
            .inputs(ActionInputs::Recover { action: how })
            .timeout(
                u32::try_from(policy.detection.node_update_timeout).unwrap_or(u32::MAX).min(flotilla_core::bounds::MAX_ACTION_TIMEOUT),
            );
    action.cluster_id = Some(cluster.id);
    match shared.store.submit_node_action(node.id, &action).await {
        Ok(()) => {
            tracing::info!(node = %node.name, %reason, recovery = %how, "health manager: recovering a node");
            let event = Event::new(ObjectType::Node, node.id.0, node.name.as_str(), ActionKind::NodeRecover.into(), START)
                .level(EventLevel::Warning)
                .by(Some(node.project_id), None)
                .reason(format!("unhealthy: {reason}; {how}"))
                .meta("action", action.id);
            let _ = shared.store.record_event(&event).await;
            shared.wake.notify_one();
            Ok(true)
        }
        // Another recovery (or action) holds the node: never two at once.
        Err(StoreError::Conflict(_) | StoreError::Locked(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
