//! `/v1/regions` at the central: the region registry (everyone signed in may look: the CLI learns
//! regions' URLs from it), join tokens for new regions and forgetting a region (admins).

use super::list_params;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::idempotency::SecretAnswer;
use crate::identity::principal::Principal;
use crate::identity::secret;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use flotilla_api::region::{Region, RegionJoinToken, RegionJoinTokenCreate, RegionList};
use flotilla_api::{ErrorBody, ListQuery};
use flotilla_core::JoinTokenId;
use flotilla_store::RegionRow;
use std::time::Duration;

/// Lifetime of a region join token when none is asked for: one day.
const DEFAULT_REGION_JOIN_TOKEN_TTL: u64 = 24 * 3600;

/// The API's view of a registry row: UP while its last heartbeat is within `grace`.
pub fn region(row: RegionRow, grace: Duration) -> Region {
    let up = row.last_heartbeat.is_some_and(|at| (flotilla_core::now() - at).to_std().map_or(true, |silence| silence <= grace));
    Region {
        id: row.id.0,
        name: row.name,
        api_url: row.api_url,
        status: if up { "UP" } else { "DOWN" }.into(),
        last_heartbeat: row.last_heartbeat,
        host_count: row.host_count,
        container_count: row.container_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A one-use token a region server registers with (`--region-join-token`), shown once.
#[utoipa::path(post, path = "/v1/regions/join-tokens", tag = "regions", request_body = RegionJoinTokenCreate,
    responses((status = 201, body = RegionJoinToken), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn create_region_join_token(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<RegionJoinTokenCreate>,
) -> Result<(StatusCode, Extension<SecretAnswer>, Json<RegionJoinToken>), ApiError> {
    state.federation.central()?;
    caller.require_admin()?;
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_REGION_JOIN_TOKEN_TTL);
    flotilla_core::host::check_join_token_ttl(ttl)?;
    let token = secret::generate();
    let id = JoinTokenId::new();
    let expires_at = flotilla_core::now() + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
    state.store.create_region_join_token(id, &secret::digest(&token), expires_at).await?;
    tracing::info!(token = %id, "region join token issued");
    Ok((StatusCode::CREATED, Extension(SecretAnswer), Json(RegionJoinToken { id: id.0, token, expires_at })))
}

/// Every region with its status (UP/DOWN by heartbeat), API URL and counts.
#[utoipa::path(get, path = "/v1/regions", tag = "regions", params(ListQuery),
    responses((status = 200, body = RegionList), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn list_regions(
    State(state): State<AppState>,
    _caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RegionList>, ApiError> {
    let grace = state.federation.central()?.region_grace_period;
    let params = list_params(&query)?;
    let page = state.store.list_regions(query.name.as_deref(), &params).await?.map(|row| region(row, grace));
    Ok(Json(RegionList { regions: page.items, next: page.next }))
}

#[utoipa::path(get, path = "/v1/regions/{region}", tag = "regions", params(("region" = String, Path, description = "id or name")),
    responses((status = 200, body = Region), (status = 404, body = ErrorBody)))]
pub async fn get_region(State(state): State<AppState>, _caller: Principal, Path(key): Path<String>) -> Result<Json<Region>, ApiError> {
    let grace = state.federation.central()?.region_grace_period;
    Ok(Json(region(state.store.region(&key).await?, grace)))
}

/// Forgets a region: its credential stops working; to come back it registers with a new token.
#[utoipa::path(delete, path = "/v1/regions/{region}", tag = "regions", params(("region" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_region(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    state.federation.central()?;
    caller.require_admin()?;
    let row = state.store.region(&key).await?;
    state.store.delete_region(row.id).await?;
    // Its endpoints on global networks went with it: the other regions' watches answer.
    state.endpoints.notify_waiters();
    tracing::info!(region = %row.name, "region deleted");
    Ok(StatusCode::NO_CONTENT)
}
