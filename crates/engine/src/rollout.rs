//! Rolling update (`CLUSTER_UPDATE` to a new profile): batch by batch as the batch policy says,
//! pausing between batches; a failed batch stops the rollout and rolls every updated node back.

use crate::cluster::{check_profile, set_status, submit_children};
use crate::context::Ctx;
use crate::error::EngineError;
use crate::node::Outputs;
use flotilla_core::ProfileId;
use flotilla_core::action::{ActionInputs, ActionKind};
use flotilla_core::cluster::{Cluster, ClusterStatus};
use flotilla_core::node::Node;
use flotilla_store::{ClusterChanges, Scope};

pub(crate) async fn run(ctx: &Ctx, cluster: Cluster, profile: ProfileId) -> Result<Outputs, EngineError> {
    check_profile(ctx, &cluster, profile).await?;
    // The profile rolled from, remembered so that a takeover rolls back to the right one.
    let mut outputs = ctx.store().action(Scope::All, &ctx.action.id.to_string()).await?.outputs;
    let from: ProfileId = match outputs.get("from_profile").and_then(|p| p.parse().ok()) {
        Some(from) => from,
        None => {
            outputs.insert("from_profile".to_owned(), cluster.profile_id.to_string());
            ctx.store().set_action_outputs(ctx.action.id, &outputs).await?;
            cluster.profile_id
        }
    };
    let changes = ClusterChanges { profile_id: Some(profile), ..Default::default() };
    ctx.store().update_cluster(cluster.id, changes).await?;
    let pending: Vec<Node> = ctx.store().cluster_nodes(cluster.id).await?.into_iter().filter(|n| n.profile_id != profile).collect();
    let plan = crate::policies::batches(ctx, &cluster, &pending).await?;
    let total = plan.batches.len();
    let mut done = 0;
    for (number, indices) in plan.batches.iter().enumerate() {
        let batch: Vec<Node> = indices.iter().map(|&i| pending[i].clone()).collect();
        let size = batch.len();
        set_status(ctx, &cluster, ClusterStatus::Updating, format!("batch {} of {total}: {size} nodes", number + 1)).await?;
        submit_children(ctx, &batch, ActionKind::NodeUpdate, ActionInputs::Update { profile }).await?;
        let failures = match ctx.wait_children().await {
            Ok(failures) => failures,
            Err(EngineError::Abandoned) => return Err(EngineError::Abandoned),
            Err(stop) => vec![stop.to_string()],
        };
        done += size;
        if !failures.is_empty() {
            let reason = format!("batch {} of {total} failed ({}); rolled back to profile {from}", number + 1, failures[0]);
            roll_back(ctx, &cluster, from, profile).await?;
            return Err(EngineError::Failed(reason));
        }
        if done < pending.len() {
            ctx.pause(plan.pause).await?;
        }
    }
    Ok(Outputs::from([("updated".to_owned(), done.to_string())]))
}

/// Puts every node on `to` back on `from`, and the cluster too.
async fn roll_back(ctx: &Ctx, cluster: &Cluster, from: ProfileId, to: ProfileId) -> Result<(), EngineError> {
    set_status(ctx, cluster, ClusterStatus::Updating, format!("rolling back to profile {from}")).await?;
    ctx.store().update_cluster(cluster.id, ClusterChanges { profile_id: Some(from), ..Default::default() }).await?;
    let updated: Vec<Node> = ctx.store().cluster_nodes(cluster.id).await?.into_iter().filter(|n| n.profile_id == to).collect();
    submit_children(ctx, &updated, ActionKind::NodeUpdate, ActionInputs::Update { profile: from }).await?;
    ctx.wait_children().await?;
    Ok(())
}
