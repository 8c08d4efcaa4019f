//! `POST /v1/clusters/{id}/actions`: scale, resize, nodes, check, recover, policies, operations.
//! Each answers 202 and the action to watch; 409 when another action holds the cluster's lock
//! or its scaling cooldown runs. Receivers submit through [`submit`] too.

use super::clusters::accepted_action;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use flotilla_api::{ActionAccepted, ClusterActionRequest, DryRunQuery, ErrorBody, Plan, ResizeParams};
use flotilla_core::action::{Action, ActionInputs, ActionKind, Cause, RecoverAction, ResizeInputs, Target};
use flotilla_core::cluster::Cluster;
use flotilla_core::resize::{self, ClusterSize, ResizePlan};
use flotilla_core::{NodeId, UserId, ValidationError};
use flotilla_store::Scope;

#[utoipa::path(post, path = "/v1/clusters/{cluster}/actions", tag = "clusters", params(("cluster" = String, Path, description = "id or name"), DryRunQuery),
    request_body = ClusterActionRequest, responses((status = 202, body = ActionAccepted),
        (status = 200, body = Plan, description = "dry_run=true (resize only): where new members would go, how many would go, nothing changed"),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cluster_action(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(dry): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<ClusterActionRequest>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let cluster = state.store.cluster(caller.scope(None)?, &key).await?;
    if dry.is_dry_run() {
        let ClusterActionRequest::Resize(p) = body else {
            return Err(ValidationError::new("dry_run", body.name(), "only a resize can be planned").into());
        };
        let (_, plan, current) = resize_plan(&state, &cluster, p).await?;
        let (grow, shrink) = (plan.desired - current, current - plan.desired);
        return Ok(Json(super::plans::cluster(&state, &cluster, grow.max(0), shrink.max(0) as u64).await?).into_response());
    }
    let action = submit(&state, &cluster, caller.user_id, body, Cause::User).await?;
    Ok(accepted_action(action.id))
}

/// The node ids of `keys` (ids or names) in `cluster`'s project; `field` names them in errors.
/// A node named twice (by the same key, or by its id and its name) is refused: it would count twice.
async fn node_ids(state: &AppState, cluster: &Cluster, keys: &[String], field: &str) -> Result<Vec<NodeId>, ApiError> {
    let mut ids = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let node = super::referenced(state.store.node(Scope::Project(cluster.project_id), key).await, format!("{field}[{i}]"), key)?;
        if let Some(first) = ids.iter().position(|id| *id == node.id) {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                key,
                format!("names node {} again (as {field}[{first}])", node.name),
            )
            .into());
        }
        ids.push(node.id);
    }
    if ids.is_empty() {
        return Err(ValidationError::new(field, "[]", "names no node").into());
    }
    Ok(ids)
}

/// A scale count: 1 up to the region's `max_nodes_per_cluster` (no scale could use more).
fn scale_count(state: &AppState, field: &str, count: Option<i64>) -> Result<(), ApiError> {
    match count {
        Some(c) => Ok(flotilla_core::bounds::range(field, c, 1, state.engine_config.max_nodes_per_cluster)?),
        None => Ok(()),
    }
}

/// A resize's inputs checked against `cluster`, the plan they make from its node count (as
/// Senlin's conductor: the target starts from the node count) and that count.
async fn resize_plan(state: &AppState, cluster: &Cluster, p: ResizeParams) -> Result<(ResizeInputs, ResizePlan, i64), ApiError> {
    let inputs = ResizeInputs {
        adjustment_type: p.adjustment_type.as_deref().map(str::parse).transpose()?,
        number: p.number,
        min_size: p.min_size,
        max_size: p.max_size,
        min_step: p.min_step,
        strict: p.strict,
    };
    let size = ClusterSize { desired: cluster.desired_capacity, min_size: cluster.min_size, max_size: cluster.max_size };
    let current = state.store.cluster_nodes(cluster.id).await?.len() as i64;
    let plan = resize::resize(&size, current, &inputs.into(), state.engine_config.max_nodes_per_cluster)?;
    Ok((inputs, plan, current))
}

/// Checks `request` against `cluster` and writes its action, taking the cluster's lock.
pub async fn submit(
    state: &AppState,
    cluster: &Cluster,
    user: UserId,
    request: ClusterActionRequest,
    cause: Cause,
) -> Result<Action, ApiError> {
    let name = request.name();
    let (kind, inputs, cooldown) = match request {
        ClusterActionRequest::ScaleOut(p) => {
            scale_count(state, "scale_out.count", p.count)?;
            (ActionKind::ClusterScaleOut, ActionInputs::Scale { count: p.count }, true)
        }
        ClusterActionRequest::ScaleIn(p) => {
            scale_count(state, "scale_in.count", p.count)?;
            (ActionKind::ClusterScaleIn, ActionInputs::Scale { count: p.count }, true)
        }
        ClusterActionRequest::Resize(p) => {
            let (inputs, _, _) = resize_plan(state, cluster, p).await?;
            (ActionKind::ClusterResize, ActionInputs::Resize(inputs), true)
        }
        ClusterActionRequest::AddNodes(p) => {
            let nodes = node_ids(state, cluster, &p.nodes, "add_nodes.nodes").await?;
            (ActionKind::ClusterAddNodes, ActionInputs::Nodes { nodes, destroy: false }, false)
        }
        ClusterActionRequest::DelNodes(p) => {
            let nodes = node_ids(state, cluster, &p.nodes, "del_nodes.nodes").await?;
            (ActionKind::ClusterDelNodes, ActionInputs::Nodes { nodes, destroy: p.destroy }, false)
        }
        ClusterActionRequest::ReplaceNodes(p) => {
            let old: Vec<String> = p.nodes.keys().cloned().collect();
            let new: Vec<String> = p.nodes.values().cloned().collect();
            let old = node_ids(state, cluster, &old, "replace_nodes.nodes").await?;
            let new = node_ids(state, cluster, &new, "replace_nodes.nodes").await?;
            (ActionKind::ClusterReplaceNodes, ActionInputs::Replace { pairs: old.into_iter().zip(new).collect() }, false)
        }
        ClusterActionRequest::Check(_) => (ActionKind::ClusterCheck, ActionInputs::None, false),
        ClusterActionRequest::Recover(p) => {
            (ActionKind::ClusterRecover, ActionInputs::Recover { action: p.operation.unwrap_or(RecoverAction::Recreate) }, false)
        }
        ClusterActionRequest::PolicyAttach(p) | ClusterActionRequest::PolicyDetach(p) | ClusterActionRequest::PolicyUpdate(p) => {
            let field = format!("{name}.policy");
            let policy = super::referenced(state.store.policy(Scope::Project(cluster.project_id), &p.policy).await, field, &p.policy)?;
            let kind = match name {
                "policy_attach" => ActionKind::ClusterAttachPolicy,
                "policy_detach" => ActionKind::ClusterDetachPolicy,
                _ => ActionKind::ClusterUpdatePolicy,
            };
            (kind, ActionInputs::Policy { policy: policy.id, enabled: p.enabled }, false)
        }
        ClusterActionRequest::Operation(p) => {
            (ActionKind::ClusterOperation, ActionInputs::Operation { operation: p.operation, filters: p.filters }, false)
        }
    };
    let action = Action::new(kind, Target::Cluster(cluster.id), cluster.name.as_str(), cluster.project_id, user, cause)
        .inputs(inputs)
        .timeout(cluster.timeout);
    state.store.submit_cluster_action(&action, cooldown).await?;
    state.engine.notify();
    tracing::info!(cluster = %cluster.name, action = %action.kind, id = %action.id, "cluster action accepted");
    Ok(action)
}
