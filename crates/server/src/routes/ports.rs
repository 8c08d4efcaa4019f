//! `/v1/ports` (address reservations and containers' addresses) and connecting a container to a
//! network or disconnecting it (`/v1/containers/{c}/networks`), live when it runs.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::federation::global_networks;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{Container, ErrorBody, ListQuery, NetworkConnect, Port, PortCreate, PortFilters, PortList};
use flotilla_core::{PortId, ValidationError};
use flotilla_store::Scope;
use std::net::Ipv4Addr;

fn fixed_ip(text: Option<&str>) -> Result<Option<Ipv4Addr>, ValidationError> {
    text.map(|t| t.parse().map_err(|_| ValidationError::new("ip_address", t, "must be an IPv4 address"))).transpose()
}

fn port_id(key: &str) -> Result<PortId, ApiError> {
    key.parse().map_err(|_| ApiError::NotFound(format!("port {key:?} not found: ports are named by id")))
}

#[utoipa::path(post, path = "/v1/ports", tag = "networks", request_body = PortCreate,
    responses((status = 201, body = Port), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_port(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<PortCreate>,
) -> Result<(StatusCode, Json<Port>), ApiError> {
    caller.require_write()?;
    let ip = fixed_ip(body.ip_address.as_deref())?;
    global_networks::prepare_network(&state, &caller, &body.network).await?;
    let network = super::referenced(state.store.network(caller.scope(None)?, &body.network).await, "network", &body.network)?;
    if let Some(ip) = ip {
        global_networks::claim_fixed(&state, &network.network, ip).await?;
    }
    let name = body.name.unwrap_or_default();
    let store = state.store.acting(caller.actor());
    let port = global_networks::with_blocks(&state, || store.create_port(caller.project_id, network.network.id, &name, ip)).await?;
    if network.network.global {
        global_networks::top_up(&state, network.network.id, network.network.name.as_str());
    }
    Ok((StatusCode::CREATED, Json(convert::port(port))))
}

#[utoipa::path(get, path = "/v1/ports", tag = "networks", params(ListQuery, PortFilters), responses((status = 200, body = PortList)))]
pub async fn list_ports(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<PortFilters>,
) -> Result<Json<PortList>, ApiError> {
    let params = list_params(&query)?;
    let scope = caller.scope(query.all_projects)?;
    let network = match &filter.network {
        Some(key) => Some(super::referenced(state.store.network(scope, key).await, "network", key)?.network.id),
        None => None,
    };
    let container = match &filter.container {
        Some(key) => Some(super::referenced(state.store.container(scope, key).await, "container", key)?.container.id),
        None => None,
    };
    let page = state.store.list_ports(scope, flotilla_store::PortFilters { network, container }, &params).await?;
    Ok(Json(PortList { ports: page.items.into_iter().map(convert::port).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/v1/ports/{port}", tag = "networks", params(("port" = String, Path, description = "id")),
    responses((status = 200, body = Port), (status = 404, body = ErrorBody)))]
pub async fn get_port(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Port>, ApiError> {
    Ok(Json(convert::port(state.store.port(caller.scope(None)?, port_id(&key)?).await?)))
}

#[utoipa::path(delete, path = "/v1/ports/{port}", tag = "networks", params(("port" = String, Path, description = "id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_port(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let port = state.store.port(caller.scope(None)?, port_id(&key)?).await?;
    state.store.acting(caller.actor()).delete_port(port.port.id).await?;
    let network = state.store.network(Scope::All, &port.port.network_id.to_string()).await?;
    global_networks::release_fixed(&state, &network.network, port.port.ip).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/containers/{container}/networks", tag = "containers", request_body = NetworkConnect,
    params(("container" = String, Path, description = "id or name")),
    responses((status = 200, body = Container), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn connect_network(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<NetworkConnect>,
) -> Result<Json<Container>, ApiError> {
    caller.require_write()?;
    let ip = fixed_ip(body.ip_address.as_deref())?;
    let scope = caller.scope(None)?;
    let container = state.store.container(scope, &key).await?.container;
    global_networks::prepare_network(&state, &caller, &body.network).await?;
    let network = super::referenced(state.store.network(scope, &body.network).await, "network", &body.network)?;
    if let Some(ip) = ip {
        global_networks::claim_fixed(&state, &network.network, ip).await?;
    }
    global_networks::with_blocks(&state, || state.store.connect_container(container.id, network.network.id, &body.network, ip)).await?;
    if network.network.global {
        global_networks::top_up(&state, network.network.id, network.network.name.as_str());
    }
    tracing::info!(container = %container.name, network = %network.network.name, "container connected");
    Ok(Json(convert::container(state.store.container(scope, &container.id.to_string()).await?)))
}

#[utoipa::path(delete, path = "/v1/containers/{container}/networks/{network}", tag = "containers",
    params(("container" = String, Path, description = "id or name"), ("network" = String, Path, description = "id or name")),
    responses((status = 200, body = Container), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn disconnect_network(
    State(state): State<AppState>,
    caller: Principal,
    Path((key, network_key)): Path<(String, String)>,
) -> Result<Json<Container>, ApiError> {
    caller.require_write()?;
    let scope = caller.scope(None)?;
    let row = state.store.container(scope, &key).await?;
    let network = state.store.network(scope, &network_key).await?;
    state.store.disconnect_container(row.container.id, network.network.id, &network_key).await?;
    for address in row.addresses.iter().filter(|a| a.network_id == network.network.id) {
        global_networks::release_fixed(&state, &network.network, address.ip).await;
    }
    let container = row.container;
    tracing::info!(container = %container.name, network = %network.network.name, "container disconnected");
    Ok(Json(convert::container(state.store.container(scope, &container.id.to_string()).await?)))
}
