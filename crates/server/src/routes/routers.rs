//! `/v1/routers`: routers of a project and their interfaces, each joining one of the project's
//! networks (a network joins at most one router; a router with interfaces is not deleted). A
//! global router is the central's (a region forwards its create there) and joins global networks
//! only; it is changed at the central only (a region's copy: 421 naming the central).

use super::{convert, list_params};
use crate::error::ApiError;
use crate::events;
use crate::federation::{Federation, global_routers};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, ListQuery, Router, RouterCreate, RouterInterfaceCreate, RouterList};
use flotilla_core::event::EventAction;
use flotilla_core::{Name, ProjectId, RouterId, ValidationError};
use flotilla_store::RouterRow;

#[utoipa::path(post, path = "/v1/routers", tag = "networks", request_body = RouterCreate,
    responses((status = 201, body = Router), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_router(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<RouterCreate>,
) -> Result<(StatusCode, Json<Router>), ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    if body.global {
        match &state.federation {
            Federation::Central(_) => {}
            Federation::Region(link) => {
                return Ok((StatusCode::CREATED, Json(global_routers::forward_create(link, &caller, &body).await?)));
            }
            Federation::Standalone => {
                return Err(ValidationError::new(
                    "global",
                    "true",
                    "this server is not part of a federation (no central to own a router across regions)",
                )
                .into());
            }
        }
    }
    let router = create(&state, caller.project_id, name, body.global).await?;
    events::record(&state, events::router(&router.router, &caller, EventAction::RouterCreate)).await;
    Ok((StatusCode::CREATED, Json(convert::router(router))))
}

/// Makes router `name` of `project` (global: at the central).
pub(crate) async fn create(state: &AppState, project: ProjectId, name: Name, global: bool) -> Result<RouterRow, ApiError> {
    let now = flotilla_core::now();
    let router = flotilla_core::router::Router { id: RouterId::new(), name, project_id: project, global, created_at: now, updated_at: now };
    let row = state.store.create_router(&router).await?;
    tracing::info!(router = %router.name, global, "router created");
    Ok(row)
}

/// A region's copy of a global router is the central's to change: 421 naming it. At the central,
/// a change of a global router is announced to the regions' watches.
fn changes_here(state: &AppState, router: &flotilla_core::router::Router) -> Result<(), ApiError> {
    let central = match &state.federation {
        _ if !router.global => return Ok(()),
        Federation::Central(_) => return Ok(()),
        Federation::Region(link) => format!(": send this request to {}", link.url()),
        Federation::Standalone => String::new(),
    };
    Err(ApiError::Misdirected(format!("router {} is global: it is changed at the central{central}", router.name)))
}

/// After a global router changed at the central: the regions' watches answer again.
fn announce(state: &AppState, router: &flotilla_core::router::Router) {
    if router.global {
        state.endpoints.notify_waiters();
    }
}

#[utoipa::path(get, path = "/v1/routers", tag = "networks", params(ListQuery), responses((status = 200, body = RouterList)))]
pub async fn list_routers(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RouterList>, ApiError> {
    let params = list_params(&query)?;
    let page = state.store.list_routers(caller.scope(query.all_projects)?, query.name.as_deref(), &params).await?;
    Ok(Json(RouterList { routers: page.items.into_iter().map(convert::router).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/v1/routers/{router}", tag = "networks", params(("router" = String, Path, description = "id or name")),
    responses((status = 200, body = Router), (status = 404, body = ErrorBody)))]
pub async fn get_router(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Router>, ApiError> {
    Ok(Json(convert::router(state.store.router(caller.scope(None)?, &key).await?)))
}

#[utoipa::path(delete, path = "/v1/routers/{router}", tag = "networks", params(("router" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_router(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let row = state.store.router(caller.scope(None)?, &key).await?;
    changes_here(&state, &row.router)?;
    state.store.delete_router(row.router.id).await?;
    announce(&state, &row.router);
    events::record(&state, events::router(&row.router, &caller, EventAction::RouterDelete)).await;
    tracing::info!(router = %row.router.name, "router deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/routers/{router}/interfaces", tag = "networks", request_body = RouterInterfaceCreate,
    params(("router" = String, Path, description = "id or name")),
    responses((status = 200, body = Router), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_router_interface(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<RouterInterfaceCreate>,
) -> Result<Json<Router>, ApiError> {
    caller.require_write()?;
    let scope = caller.scope(None)?;
    let router = state.store.router(scope, &key).await?.router;
    changes_here(&state, &router)?;
    let network = super::referenced(state.store.network(scope, &body.network).await, "network", &body.network)?.network;
    if network.project_id != router.project_id {
        return Err(ValidationError::new(
            "network",
            &body.network,
            "is shared by another project: a router joins its own project's networks",
        )
        .into());
    }
    let row = state.store.add_router_interface(router.id, network.id, &body.network).await?;
    announce(&state, &router);
    let event = events::router(&router, &caller, EventAction::RouterAddInterface).meta("network", &network.name);
    events::record(&state, event).await;
    tracing::info!(router = %router.name, network = %network.name, "router interface added");
    Ok(Json(convert::router(row)))
}

#[utoipa::path(delete, path = "/v1/routers/{router}/interfaces/{network}", tag = "networks",
    params(("router" = String, Path, description = "id or name"), ("network" = String, Path, description = "id or name")),
    responses((status = 200, body = Router), (status = 404, body = ErrorBody)))]
pub async fn remove_router_interface(
    State(state): State<AppState>,
    caller: Principal,
    Path((key, network_key)): Path<(String, String)>,
) -> Result<Json<Router>, ApiError> {
    caller.require_write()?;
    let scope = caller.scope(None)?;
    let router = state.store.router(scope, &key).await?.router;
    changes_here(&state, &router)?;
    let network = state.store.network(scope, &network_key).await?.network;
    let row = state.store.remove_router_interface(router.id, network.id, &network_key).await?;
    announce(&state, &router);
    let event = events::router(&router, &caller, EventAction::RouterRemoveInterface).meta("network", &network.name);
    events::record(&state, event).await;
    tracing::info!(router = %router.name, network = %network.name, "router interface removed");
    Ok(Json(convert::router(row)))
}
