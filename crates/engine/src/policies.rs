//! The policies attached to a cluster, applied where actions need them.

use crate::context::Ctx;
use crate::error::EngineError;
use crate::node::Outputs;
use flotilla_core::action::{ActionInputs, ActionKind};
use flotilla_core::cluster::Cluster;
use flotilla_core::node::{Node, NodeStatus};
use std::time::Duration;

/// Rolling-update batches: their sizes, and the pause between them.
pub(crate) struct BatchPlan {
    pub sizes: Vec<usize>,
    pub pause: Duration,
}

pub(crate) async fn zones_for_new_nodes(_ctx: &Ctx, _cluster: &Cluster, count: i64) -> Result<Vec<Option<String>>, EngineError> {
    Ok(vec![None; count.max(0) as usize])
}

pub(crate) async fn scale_count(_ctx: &Ctx, _cluster: &Cluster, _kind: ActionKind, count: i64) -> Result<i64, EngineError> {
    Ok(count)
}

pub(crate) async fn victims(_ctx: &Ctx, _cluster: &Cluster, mut nodes: Vec<Node>, count: usize) -> Result<Vec<Node>, EngineError> {
    nodes.sort_by_key(|n| (n.status == NodeStatus::Active, std::cmp::Reverse(n.index)));
    nodes.truncate(count);
    Ok(nodes)
}

pub(crate) async fn batches(_ctx: &Ctx, _cluster: &Cluster, total: usize) -> Result<BatchPlan, EngineError> {
    Ok(BatchPlan { sizes: if total == 0 { vec![] } else { vec![total] }, pause: Duration::ZERO })
}

pub(crate) async fn bind(_ctx: &Ctx, _cluster: Cluster, kind: ActionKind, _inputs: ActionInputs) -> Result<Outputs, EngineError> {
    Err(EngineError::failed(format!("{kind}: policies are not stored yet")))
}
