//! `/v1/routings`: the central's routing table, where each global id lives. Admins list it; any
//! user finds the region of an id of their own project; regions write it for their own objects
//! (`POST /v1/federation/routings`).

use super::list_params;
use crate::error::ApiError;
use crate::federation::caller::RegionCaller;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::region::{Routing, RoutingChanges, RoutingFilter, RoutingList};
use flotilla_api::{ErrorBody, ListQuery};
use flotilla_core::ValidationError;
use flotilla_store::{RoutingFilters, Scope};

/// Most entries (upserts and deletes together) one report may carry.
const MAX_CHANGES: usize = 1000;
/// Longest resource type.
const MAX_TYPE_LEN: usize = 64;

/// A federated region keeps no routing table: reads go to its central (421 naming it).
fn kept_here(state: &AppState) -> Result<(), ApiError> {
    match state.federation.central_url() {
        Some(url) => Err(ApiError::Misdirected(format!("the routing table is kept by the central: ask {url}"))),
        None => Ok(()),
    }
}

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
    responses((status = 200, body = RoutingList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 421, body = ErrorBody, description = "a region: ask its central")))]
pub async fn list_routings(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<RoutingFilter>,
) -> Result<Json<RoutingList>, ApiError> {
    caller.require_admin()?;
    kept_here(&state)?;
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
    responses((status = 200, body = Routing), (status = 404, body = ErrorBody), (status = 421, body = ErrorBody, description = "a region: ask its central")))]
pub async fn get_routing(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Routing>, ApiError> {
    kept_here(&state)?;
    let id = uuid::Uuid::parse_str(&key).map_err(|_| ApiError::NotFound(format!("routing {key:?} not found")))?;
    let scope = if caller.role.is_admin() { Scope::All } else { Scope::Project(caller.project_id) };
    Ok(Json(shown(state.store.routing(scope, id).await?)))
}

/// A region reports which of its objects appeared (`upsert`) and went (`delete`). Only its own
/// rows change: an id another region holds is left alone (and logged).
#[utoipa::path(post, path = "/v1/federation/routings", tag = "federation", security(("region_credential" = [])), request_body = RoutingChanges,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn receive_routings(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<RoutingChanges>,
) -> Result<StatusCode, ApiError> {
    let count = body.upsert.len() + body.delete.len();
    if count > MAX_CHANGES {
        return Err(ValidationError::new("upsert", count, format!("with delete carries at most {MAX_CHANGES} entries")).into());
    }
    let mut upsert = Vec::with_capacity(body.upsert.len());
    for (i, entry) in body.upsert.into_iter().enumerate() {
        let kind = &entry.resource_type;
        if kind.is_empty() || kind.len() > MAX_TYPE_LEN || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(ValidationError::new(
                format!("upsert[{i}].resource_type"),
                kind,
                format!("must be 1 to {MAX_TYPE_LEN} lowercase letters or '_'"),
            )
            .into());
        }
        upsert.push((entry.id, entry.resource_type, flotilla_core::ProjectId(entry.project_id)));
    }
    let refused = state.store.apply_routings(caller.id, &caller.name, &upsert, &body.delete).await?;
    if !refused.is_empty() {
        tracing::warn!(region = %caller.name, ?refused, "a region reported ids another region holds; left alone");
    }
    Ok(StatusCode::NO_CONTENT)
}
