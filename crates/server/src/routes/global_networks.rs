//! `/v1/federation/networks/*` at the central: what regions call for global networks — a create
//! forwarded from a region, the lookup behind a region's first use (its local copy), the next
//! block of addresses for the calling region, and fixed addresses checked across regions.

use super::convert;
use super::networks::create_global;
use crate::error::ApiError;
use crate::federation::caller::RegionCaller;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::global_network::{AddressBlock, GlobalFixedIp, GlobalNetworkCreate, GlobalNetworkQuery};
use flotilla_api::{ErrorBody, Network};
use flotilla_core::{NetworkId, ProjectId, ValidationError};
use flotilla_store::Scope;
use std::net::Ipv4Addr;

/// The global network `key` (id or name) as `project` sees it; 404 for any other network.
async fn global(state: &AppState, project: ProjectId, key: &str) -> Result<flotilla_store::NetworkRow, ApiError> {
    let row = state.store.network(Scope::Project(project), key).await?;
    if !row.network.global {
        return Err(ApiError::NotFound(format!("network {key:?} is not a global network")));
    }
    Ok(row)
}

fn network_id(key: &str) -> Result<NetworkId, ApiError> {
    key.parse().map_err(|_| ApiError::NotFound(format!("global network {key:?} not found: regions name it by id")))
}

fn address(field: &str, text: &str) -> Result<Ipv4Addr, ValidationError> {
    text.parse().map_err(|_| ValidationError::new(field, text, "must be an IPv4 address"))
}

/// A user's global network create, forwarded by the region they called.
#[utoipa::path(post, path = "/v1/federation/networks", tag = "federation", security(("region_credential" = [])),
    request_body = GlobalNetworkCreate,
    responses((status = 201, body = Network), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a central"), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<GlobalNetworkCreate>,
) -> Result<(StatusCode, Json<Network>), ApiError> {
    let row = create_global(&state, &state.store, ProjectId(body.project_id), &body.network).await?;
    tracing::info!(region = %caller.name, network = %row.network.name, "global network created for a region");
    Ok((StatusCode::CREATED, Json(convert::network(row))))
}

/// A global network as `project` sees it: what a region copies on first use.
#[utoipa::path(get, path = "/v1/federation/networks/{network}", tag = "federation", security(("region_credential" = [])),
    params(("network" = String, Path, description = "id or name"), GlobalNetworkQuery),
    responses((status = 200, body = Network), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: RegionCaller,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<GlobalNetworkQuery>,
) -> Result<Json<Network>, ApiError> {
    Ok(Json(convert::network(global(&state, ProjectId(query.project), &key).await?)))
}

/// The next free block of the network's subnet, now the calling region's; 409 when none is left.
#[utoipa::path(post, path = "/v1/federation/networks/{network}/blocks", tag = "federation", security(("region_credential" = [])),
    params(("network" = String, Path, description = "id")),
    responses((status = 201, body = AddressBlock), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn allocate_block(
    State(state): State<AppState>,
    caller: RegionCaller,
    Path(key): Path<String>,
) -> Result<(StatusCode, Json<AddressBlock>), ApiError> {
    let block = state.store.allocate_block(network_id(&key)?, caller.id).await?;
    tracing::info!(region = %caller.name, network = %block.network_id, block = %block.cidr, "address block handed to a region");
    Ok((
        StatusCode::CREATED,
        Json(AddressBlock {
            network_id: block.network_id.0,
            cidr: block.cidr.to_string(),
            region_id: block.region_id,
            reserved: block.reserved.iter().map(ToString::to_string).collect(),
        }),
    ))
}

/// Records a fixed address for the calling region: unique in every region, never inside another
/// region's block (409 naming the address).
#[utoipa::path(post, path = "/v1/federation/networks/{network}/fixed-ips", tag = "federation", security(("region_credential" = [])),
    params(("network" = String, Path, description = "id")), request_body = GlobalFixedIp,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reserve_fixed_ip(
    State(state): State<AppState>,
    caller: RegionCaller,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<GlobalFixedIp>,
) -> Result<StatusCode, ApiError> {
    let ip = address("address", &body.address)?;
    state.store.reserve_global_ip(network_id(&key)?, ip, caller.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Frees a fixed address the calling region recorded (its port went).
#[utoipa::path(delete, path = "/v1/federation/networks/{network}/fixed-ips/{address}", tag = "federation", security(("region_credential" = [])),
    params(("network" = String, Path, description = "id"), ("address" = String, Path, description = "IPv4 address")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn release_fixed_ip(
    State(state): State<AppState>,
    caller: RegionCaller,
    Path((key, text)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let ip = address("address", &text)?;
    state.store.release_global_ip(network_id(&key)?, ip, caller.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
