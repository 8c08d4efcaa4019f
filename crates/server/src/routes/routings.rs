//! `/v1/routings`: the central's routing table, where each global id lives. Admins list it; any
//! user finds the region of an id of their own project.

use super::list_params;
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use flotilla_api::region::{Routing, RoutingFilter, RoutingList};
use flotilla_api::{ErrorBody, ListQuery};
use flotilla_store::{RoutingFilters, Scope};

fn shown(r: flotilla_store::Routing) -> Routing {
    Routing {
        id: r.id,
        region: r.region,
        resource_type: r.resource_type,
        project_id: r.project_id.0,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

#[utoipa::path(get, path = "/v1/routings", tag = "regions", params(ListQuery, RoutingFilter),
    responses((status = 200, body = RoutingList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_routings(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<RoutingFilter>,
) -> Result<Json<RoutingList>, ApiError> {
    caller.require_admin()?;
    let params = list_params(&query)?;
    let filters = RoutingFilters {
        region: filter.region.as_deref(),
        resource_type: filter.resource_type.as_deref(),
        project_id: filter.project_id.map(flotilla_core::ProjectId),
    };
    let page = state.store.list_routings(filters, &params).await?;
    Ok(Json(RoutingList { routings: page.items.into_iter().map(shown).collect(), next: page.next }))
}

/// Where `id` lives: for an id of the caller's project (any for admins); 404 otherwise.
#[utoipa::path(get, path = "/v1/routings/{id}", tag = "regions", params(("id" = String, Path, description = "a global id")),
    responses((status = 200, body = Routing), (status = 404, body = ErrorBody)))]
pub async fn get_routing(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Routing>, ApiError> {
    let id = uuid::Uuid::parse_str(&key).map_err(|_| ApiError::NotFound(format!("routing {key:?} not found")))?;
    let scope = if caller.role.is_admin() { Scope::All } else { Scope::Project(caller.project_id) };
    Ok(Json(shown(state.store.routing(scope, id).await?)))
}
