//! The autoscaler: for each cluster with an enabled autoscaling policy, averages the CPU use of
//! its active members (sampled by the agents), records the recommendation, and resizes the
//! cluster when the policy decides (stabilised scale-in, per-direction cooldowns).

use crate::context::Shared;
use flotilla_core::action::{Action, ActionInputs, ActionKind, Cause, ResizeInputs, Target};
use flotilla_core::cluster::Cluster;
use flotilla_core::event::{Event, ObjectType, START};
use flotilla_core::node::NodeStatus;
use flotilla_core::policy::PolicyProperties;
use flotilla_core::policy::autoscaling::AutoscalingPolicy;
use flotilla_core::policy::scaling::ScaleEvent;
use flotilla_core::resize::AdjustmentType;
use flotilla_core::{Timestamp, now};
use flotilla_store::{Binding, Scope, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Looks at clusters every `autoscale_tick` until `stop`.
pub(crate) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(shared.config.autoscale_tick) => {}
        }
        if let Err(e) = sweep(&shared).await {
            tracing::warn!(error = %e, "autoscaler: sweep failed");
        }
    }
}

/// Considers every cluster; an error or a panic in one is logged and the others go on.
async fn sweep(shared: &Shared) -> Result<(), StoreError> {
    for cluster in shared.store.all_clusters().await? {
        match crate::guard::caught(consider_cluster(shared, &cluster)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(cluster = %cluster.name, error = %e, "autoscaler: cannot consider a cluster"),
            Err(panic) => tracing::error!(cluster = %cluster.name, %panic, "autoscaler: evaluating a cluster panicked"),
        }
    }
    Ok(())
}

async fn consider_cluster(shared: &Shared, cluster: &Cluster) -> Result<(), StoreError> {
    for binding in shared.store.cluster_policies(cluster.id).await? {
        if let (true, PolicyProperties::Autoscaling(policy)) = (binding.enabled, &binding.policy.spec.properties) {
            consider(shared, cluster, &binding, policy).await?;
        }
    }
    Ok(())
}

/// The average CPU use of `cluster`'s active members (percent of their CPU request, or of one
/// core without one), and how many there are.
async fn cpu(shared: &Shared, cluster: &Cluster) -> Result<(usize, Option<f64>), StoreError> {
    let nodes: Vec<_> = shared.store.cluster_nodes(cluster.id).await?.into_iter().filter(|n| n.status == NodeStatus::Active).collect();
    let mut samples = Vec::new();
    for container in nodes.iter().filter_map(|n| n.physical_id) {
        if let Ok(row) = shared.store.container(Scope::All, &container.to_string()).await
            && let Some(percent) = row.container.cpu_percent
        {
            // Agents measure percent of one core; the policy's target is percent of the request.
            let request = row.container.spec.cpu.filter(|c| *c > 0.0).unwrap_or(1.0);
            samples.push(percent / request);
        }
    }
    let average = (!samples.is_empty()).then(|| samples.iter().sum::<f64>() / samples.len() as f64);
    Ok((nodes.len(), average))
}

/// Recommendations made: when, and the size recommended.
type Recommendations = Vec<(Timestamp, usize)>;

/// What the policy remembers: its recommendations and its last scaling.
fn history(data: &BTreeMap<String, String>) -> (Recommendations, Option<(Timestamp, ScaleEvent)>) {
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let recorded: Vec<(i64, usize)> = data.get("history").and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default();
    let last = data.get("last_scale").and_then(|l| l.split_once(':')).and_then(|(ms, way)| {
        let event = if way == "out" { ScaleEvent::ScaleOut } else { ScaleEvent::ScaleIn };
        ms.parse().ok().map(|ms| (at(ms), event))
    });
    (recorded.into_iter().map(|(ms, n)| (at(ms), n)).collect(), last)
}

async fn consider(shared: &Shared, cluster: &Cluster, binding: &Binding, policy: &AutoscalingPolicy) -> Result<(), StoreError> {
    let (current, Some(average)) = cpu(shared, cluster).await? else { return Ok(()) };
    let autoscaler = policy.autoscaler();
    let now = now();
    let (mut recorded, last) = history(&binding.data);
    recorded.push((now, autoscaler.recommend(current, average)));
    let kept = policy.stabilization_window.max(policy.scale_in_cooldown).saturating_add(60);
    let keep_after = chrono::Duration::try_seconds(i64::try_from(kept).unwrap_or(i64::MAX))
        .and_then(|kept| now.checked_sub_signed(kept))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    recorded.retain(|(at, _)| *at >= keep_after);
    let mut data = binding.data.clone();
    let as_ms: Vec<(i64, usize)> = recorded.iter().map(|(at, n)| (at.timestamp_millis(), *n)).collect();
    data.insert("history".to_owned(), serde_json::to_string(&as_ms).unwrap_or_default());
    let decision = autoscaler.decide(&recorded, now, last, current);
    if let Some(target) = decision
        && target != current
        && shared.store.cluster_lock(cluster.id).await?.is_none()
    {
        let inputs = ResizeInputs {
            adjustment_type: Some(AdjustmentType::ExactCapacity),
            number: Some(target as f64),
            min_size: None,
            max_size: None,
            min_step: None,
            strict: false,
        };
        let action = Action::new(
            ActionKind::ClusterResize,
            Target::Cluster(cluster.id),
            cluster.name.as_str(),
            cluster.project_id,
            cluster.user_id,
            Cause::Autoscaling,
        )
        .inputs(ActionInputs::Resize(inputs))
        .timeout(cluster.timeout);
        match shared.store.submit_cluster_action(&action, false).await {
            Ok(()) => {
                let way = if target > current { "out" } else { "in" };
                data.insert("last_scale".to_owned(), format!("{}:{way}", now.timestamp_millis()));
                tracing::info!(cluster = %cluster.name, cpu = average, from = current, to = target, "autoscaler: resizing");
                let event = Event::new(ObjectType::Cluster, cluster.id.0, cluster.name.as_str(), ActionKind::ClusterResize.into(), START)
                    .by(Some(cluster.project_id), None)
                    .reason(format!(
                        "average CPU {average:.0}% against a target of {:.0}%: {current} → {target} nodes",
                        policy.target_cpu_percent
                    ))
                    .meta("action", action.id);
                let _ = shared.store.record_event(&event).await;
                shared.wake.notify_one();
            }
            Err(StoreError::Conflict(_) | StoreError::Locked(_)) => {}
            Err(e) => return Err(e),
        }
    }
    shared.store.set_policy_data(cluster.id, binding.policy.id, &data).await
}
