//! `/v1/actions`: list (by cluster, status, kind), show with `depends_on`/`depended_by`, cancel.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{Action, ActionFilter, ActionList, ErrorBody, ListQuery, Service, ServiceList};
use flotilla_core::ValidationError;
use flotilla_core::action::{ActionKind, ActionStatus};
use flotilla_store::ActionFilters;

async fn shown(state: &AppState, a: flotilla_core::action::Action) -> Result<Action, ApiError> {
    let children =
        if a.kind.on_cluster() { state.store.child_action_ids(a.id).await?.into_iter().map(|id| id.0).collect() } else { Vec::new() };
    Ok(convert::action(a, children))
}

#[utoipa::path(get, path = "/v1/actions", tag = "actions", params(ListQuery, ActionFilter),
    responses((status = 200, body = ActionList), (status = 400, body = ErrorBody)))]
pub async fn list_actions(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<ActionFilter>,
) -> Result<Json<ActionList>, ApiError> {
    let params = list_params(&query)?;
    let scope = caller.scope(query.all_projects)?;
    if let Some(status) = &filter.status
        && ActionStatus::parse(status).is_none()
    {
        return Err(ValidationError::new("status", status, "is not an action status").into());
    }
    if let Some(kind) = &filter.action
        && ActionKind::parse(kind).is_none()
    {
        return Err(ValidationError::new("action", kind, "is not an action (CLUSTER_SCALE_OUT, NODE_CREATE, ...)").into());
    }
    let cluster = match &filter.cluster {
        Some(key) => Some(super::referenced(state.store.cluster(scope, key).await, "cluster", key)?.id),
        None => None,
    };
    let filters = ActionFilters { status: filter.status.as_deref(), kind: filter.action.as_deref(), target: filter.target, cluster };
    let page = state.store.list_actions(scope, filters, &params).await?;
    let mut actions = Vec::with_capacity(page.items.len());
    for a in page.items {
        actions.push(shown(&state, a).await?);
    }
    Ok(Json(ActionList { actions, next: page.next }))
}

#[utoipa::path(get, path = "/v1/actions/{action}", tag = "actions", params(("action" = String, Path, description = "id")),
    responses((status = 200, body = Action), (status = 404, body = ErrorBody)))]
pub async fn get_action(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Action>, ApiError> {
    let a = state.store.action(caller.scope(query.all_projects)?, &key).await?;
    Ok(Json(shown(&state, a).await?))
}

/// Cancels an action: at once if it has not started, else its engine stops it between steps.
#[utoipa::path(post, path = "/v1/actions/{action}/cancel", tag = "actions", params(("action" = String, Path, description = "id")),
    responses((status = 202, body = Action), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_action(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
) -> Result<(StatusCode, Json<Action>), ApiError> {
    caller.require_write()?;
    let a = state.store.action(caller.scope(None)?, &key).await?;
    let a = state.store.cancel_action(a.id).await?;
    Ok((StatusCode::ACCEPTED, Json(shown(&state, a).await?)))
}

/// The region's engines and their heartbeats (admins).
#[utoipa::path(get, path = "/v1/services", tag = "actions", responses((status = 200, body = ServiceList), (status = 403, body = ErrorBody)))]
pub async fn list_services(State(state): State<AppState>, caller: Principal) -> Result<Json<ServiceList>, ApiError> {
    caller.require_admin()?;
    let services = state.store.list_services().await?;
    let services =
        services.into_iter().map(|(id, name, started_at, heartbeat_at)| Service { id: id.0, name, started_at, heartbeat_at }).collect();
    Ok(Json(ServiceList { services }))
}
