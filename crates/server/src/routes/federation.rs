//! `/v1/federation/*` at the central: what regions call. A region registers (join token once,
//! then its credential), heartbeats, and asks who a token is.

use crate::error::ApiError;
use crate::federation::caller::RegionCaller;
use crate::http::extract::ApiJson;
use crate::identity::principal::authenticate;
use crate::identity::secret;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use flotilla_api::ErrorBody;
use flotilla_api::region::{
    PeerRegionList, RegionCredentialCheck, RegionCredentialOwner, RegionHeartbeat, RegionJoin, RegionJoined, TokenValidate, ValidatedToken,
};
use flotilla_core::ipam::Cidr;
use flotilla_core::{Name, ValidationError};
use flotilla_store::{RegionProof, RegionRegistration};

/// Registers a region with a one-use join token, or takes it back with its credential (a
/// restart). A name another region holds is a 409; a `network_pool` overlapping the central's
/// global pool is a 400 naming both.
#[utoipa::path(post, path = "/v1/federation/join", tag = "federation", security(()), request_body = RegionJoin,
    responses((status = 200, body = RegionJoined), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a central"), (status = 409, body = ErrorBody)))]
pub async fn join(State(state): State<AppState>, ApiJson(body): ApiJson<RegionJoin>) -> Result<Json<RegionJoined>, ApiError> {
    let central = state.federation.central()?;
    let name = Name::parse("name", &body.name)?;
    let api_url = check_url(&body.api_url)?;
    let pool = Cidr::parse("network_pool", &body.network_pool)?;
    if let Some(global) = central.global_pool.filter(|global| global.overlaps(pool)) {
        return Err(ValidationError::new(
            "network_pool",
            pool,
            format!("overlaps the central's global pool {global}: give the region a pool outside it"),
        )
        .into());
    }
    let proof = RegionProof {
        token_digest: body.join_token.as_deref().map(|t| secret::digest(t.trim())),
        credential_digest: body.credential.as_deref().map(|c| secret::digest(c.trim())),
    };
    let fresh = secret::generate();
    let registration = RegionRegistration { name: name.to_string(), api_url, network_pool: pool.to_string() };
    let joined = state.store.join_region(registration, proof, &secret::digest(&fresh)).await?;
    let credential = match (joined.credential_kept, body.credential) {
        (true, Some(kept)) => kept.trim().to_owned(),
        _ => fresh,
    };
    tracing::info!(region = %joined.region.name, url = %joined.region.api_url, again = joined.credential_kept, "region registered");
    Ok(Json(RegionJoined {
        region_id: joined.region.id.0,
        credential,
        heartbeat_interval_ms: u64::try_from(central.heartbeat_interval().as_millis()).unwrap_or(u64::MAX),
        global_pool: central.global_pool.map(|p| p.to_string()),
    }))
}

/// A region's API URL: absolute `http` or `https` with a host.
fn check_url(text: &str) -> Result<String, ValidationError> {
    let url = reqwest::Url::parse(text).map_err(|e| ValidationError::new("api_url", text, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ValidationError::new("api_url", text, "must be an http:// or https:// URL with a host"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// The calling region is alive and runs this many hosts and containers.
#[utoipa::path(post, path = "/v1/federation/heartbeat", tag = "federation", security(("region_credential" = [])), request_body = RegionHeartbeat,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<RegionHeartbeat>,
) -> Result<StatusCode, ApiError> {
    state.store.region_heartbeat(flotilla_core::ids::RegionId(caller.id), body.host_count, body.container_count).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who a token is, for a region to act on it: 401 when it is invalid, expired or revoked.
#[utoipa::path(post, path = "/v1/federation/tokens/validate", tag = "federation", security(("region_credential" = [])), request_body = TokenValidate,
    responses((status = 200, body = ValidatedToken), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn validate_token(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<TokenValidate>,
) -> Result<Json<ValidatedToken>, ApiError> {
    let principal = authenticate(&state, body.token.trim()).await?;
    tracing::debug!(region = %caller.name, user = %principal.user_name, "token validated for a region");
    Ok(Json(ValidatedToken {
        token_id: principal.token_id.0,
        user_id: principal.user_id.0,
        user_name: principal.user_name.to_string(),
        project_id: principal.project_id.0,
        project_name: principal.project_name.to_string(),
        role: principal.role.to_string(),
        created_at: principal.created_at,
        expires_at: principal.expires_at,
    }))
}

/// Every region but the caller, with its status and API URL: how a cluster's home region finds
/// the regions its members run in.
#[utoipa::path(get, path = "/v1/federation/regions", tag = "federation", security(("region_credential" = [])),
    responses((status = 200, body = PeerRegionList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn peer_regions(State(state): State<AppState>, caller: RegionCaller) -> Result<Json<PeerRegionList>, ApiError> {
    let grace = state.federation.central()?.region_grace_period;
    let params = flotilla_core::ListParams { limit: flotilla_core::listing::MAX_LIMIT, ..Default::default() };
    let page = state.store.list_regions(None, &params).await?;
    let regions = page.items.into_iter().filter(|r| r.id.0 != caller.id).map(|r| super::regions::region(r, grace)).collect();
    Ok(Json(PeerRegionList { regions }))
}

/// Which region a credential belongs to: a region asks when another region calls it (401 when
/// the credential is no region's).
#[utoipa::path(post, path = "/v1/federation/regions/verify", tag = "federation", security(("region_credential" = [])),
    request_body = RegionCredentialCheck,
    responses((status = 200, body = RegionCredentialOwner), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn verify_region(
    State(state): State<AppState>,
    _caller: RegionCaller,
    ApiJson(body): ApiJson<RegionCredentialCheck>,
) -> Result<Json<RegionCredentialOwner>, ApiError> {
    let owner = state
        .store
        .region_by_credential(&secret::digest(body.credential.trim()))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the credential is no region's".into()))?;
    Ok(Json(RegionCredentialOwner { name: owner.name }))
}
