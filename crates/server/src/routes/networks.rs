//! `/v1/networks` and `/v1/subnets`: networks (a project's own, or shared by an admin) and their
//! subnet (CIDR, gateway, allocation pools, reserved addresses; never overlapping another).

use super::{convert, labelled_list_params};
use crate::error::ApiError;
use crate::federation::{Federation, global_networks};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, LabelQuery, ListQuery, Network, NetworkCreate, NetworkList, Subnet, SubnetCreate, SubnetList};
use flotilla_core::ipam::{Cidr, Pool, SubnetPlan};
use flotilla_core::network::Network as NetworkObject;
use flotilla_core::{Name, NetworkId, ProjectId, SubnetId, ValidationError, metadata};
use flotilla_store::{NetworkRow, Store};
use std::net::Ipv4Addr;

fn ip(field: &str, text: &str) -> Result<Ipv4Addr, ValidationError> {
    text.parse().map_err(|_| ValidationError::new(field, text, "must be an IPv4 address"))
}

/// Checks a subnet as given (fields named from `prefix`) and builds it for `network`.
pub(crate) fn subnet_of(
    network: &NetworkObject,
    body: &SubnetCreate,
    prefix: &str,
) -> Result<flotilla_core::network::Subnet, ValidationError> {
    let name = match &body.name {
        Some(name) => Name::parse(&format!("{prefix}name"), name)?,
        None => Name::parse(&format!("{prefix}name"), &format!("{}-subnet", network.name))?,
    };
    let cidr = Cidr::parse_subnet(&format!("{prefix}cidr"), &body.cidr)?;
    let gateway = body.gateway.as_deref().map(|g| ip(&format!("{prefix}gateway"), g)).transpose()?;
    let pools = body
        .allocation_pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let field = format!("{prefix}allocation_pools[{i}]");
            Ok(Pool { start: ip(&format!("{field}.start"), &p.start)?, end: ip(&format!("{field}.end"), &p.end)? })
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    let reserved =
        body.reserved.iter().enumerate().map(|(i, r)| ip(&format!("{prefix}reserved[{i}]"), r)).collect::<Result<_, ValidationError>>()?;
    let plan = SubnetPlan::new(prefix, cidr, gateway, pools, reserved)?;
    Ok(flotilla_core::network::Subnet {
        id: SubnetId::new(),
        name,
        network_id: network.id,
        project_id: network.project_id,
        plan,
        created_at: flotilla_core::now(),
    })
}

/// Members may not take addresses the region's pool keeps for projects' default networks (one
/// subnet over it would leave every other project without one); admins may.
fn check_region_pool(state: &AppState, caller: &Principal, subnet: &flotilla_core::network::Subnet, field: &str) -> Result<(), ApiError> {
    let pool = state.store.region_pool();
    if subnet.plan.cidr.overlaps(pool.cidr) && !caller.role.is_admin() {
        return Err(ApiError::Forbidden(format!(
            "{field}={}: overlaps the region's network pool {}, kept for projects' default networks: only admins take addresses from it",
            subnet.plan.cidr, pool.cidr
        )));
    }
    Ok(())
}

/// The network `key` the caller may change: its project's own (any project's for an admin).
pub(super) async fn owned_network(state: &AppState, caller: &Principal, key: &str) -> Result<NetworkRow, ApiError> {
    let row = state.store.network(caller.scope(None)?, key).await?;
    if row.network.project_id != caller.project_id && !caller.role.is_admin() {
        return Err(ApiError::Forbidden(format!("network {} is shared by another project: only its project changes it", row.network.name)));
    }
    Ok(row)
}

/// A new network of `project` as `body` asks, with its subnet when given (checked).
fn network_of(
    body: &NetworkCreate,
    project: ProjectId,
) -> Result<(NetworkObject, Option<flotilla_core::network::Subnet>), ValidationError> {
    let name = Name::parse("name", &body.name)?;
    metadata::validate(&body.metadata)?;
    let now = flotilla_core::now();
    let network = NetworkObject {
        id: NetworkId::new(),
        name,
        project_id: project,
        shared: body.shared,
        is_default: false,
        global: body.global,
        metadata: body.metadata.clone(),
        created_at: now,
        updated_at: now,
    };
    let subnet = body.subnet.as_ref().map(|s| subnet_of(&network, s, "subnet.")).transpose()?;
    Ok((network, subnet))
}

/// At the central: a global network of `project`, its subnet inside the global pool (and, as
/// every subnet here, overlapping no other).
pub(crate) async fn create_global(
    state: &AppState,
    store: &Store,
    project: ProjectId,
    body: &NetworkCreate,
) -> Result<NetworkRow, ApiError> {
    let central = state.federation.central()?;
    let pool = central.global_pool.ok_or_else(|| {
        ValidationError::new("global", "true", "the central has no global address space: start it with --global-pool CIDR")
    })?;
    let (network, subnet) = network_of(&NetworkCreate { global: true, ..body.clone() }, project)?;
    let subnet = subnet.ok_or_else(|| {
        ValidationError::new("subnet", "(none)", format!("a global network needs a subnet inside the central's global pool {pool}"))
    })?;
    let cidr = subnet.plan.cidr;
    if cidr.first() < pool.first() || cidr.last() > pool.last() {
        return Err(ValidationError::new("subnet.cidr", cidr, format!("must lie inside the central's global pool {pool}")).into());
    }
    let row = store.create_network(&network, Some(&subnet)).await?;
    tracing::info!(network = %network.name, id = %network.id, %cidr, "global network created");
    Ok(row)
}

#[utoipa::path(post, path = "/v1/networks", tag = "networks", request_body = NetworkCreate,
    responses((status = 201, body = Network), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "a global network at a region whose central cannot be reached")))]
pub async fn create_network(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<NetworkCreate>,
) -> Result<(StatusCode, Json<Network>), ApiError> {
    caller.require_write()?;
    if body.shared {
        caller.require_admin().map_err(|_| ApiError::Forbidden("shared: only admins create shared networks".to_owned()))?;
    }
    if body.global {
        let row = match &state.federation {
            Federation::Region(link) => {
                // Checked here too, so bad input never reaches the central.
                network_of(&body, caller.project_id)?;
                global_networks::forward_create(&state, link, &caller, &body).await?
            }
            Federation::Central(_) => create_global(&state, &state.store.acting(caller.actor()), caller.project_id, &body).await?,
            Federation::Standalone => {
                return Err(ValidationError::new(
                    "global",
                    "true",
                    "this server is not part of a federation (no central to own the global space)",
                )
                .into());
            }
        };
        return Ok((StatusCode::CREATED, Json(convert::network(row))));
    }
    let (network, subnet) = network_of(&body, caller.project_id)?;
    if let Some(subnet) = &subnet {
        check_region_pool(&state, &caller, subnet, "subnet.cidr")?;
    }
    let row = state.store.acting(caller.actor()).create_network(&network, subnet.as_ref()).await?;
    tracing::info!(network = %network.name, shared = network.shared, "network created");
    Ok((StatusCode::CREATED, Json(convert::network(row))))
}

#[utoipa::path(get, path = "/v1/networks", tag = "networks", params(ListQuery, LabelQuery), responses((status = 200, body = NetworkList)))]
pub async fn list_networks(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
) -> Result<Json<NetworkList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let page = state.store.list_networks(caller.scope(query.all_projects)?, query.name.as_deref(), &params).await?;
    Ok(Json(NetworkList { networks: page.items.into_iter().map(convert::network).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/v1/networks/{network}", tag = "networks", params(("network" = String, Path, description = "id or name")),
    responses((status = 200, body = Network), (status = 404, body = ErrorBody)))]
pub async fn get_network(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Network>, ApiError> {
    Ok(Json(convert::network(state.store.network(caller.scope(None)?, &key).await?)))
}

#[utoipa::path(delete, path = "/v1/networks/{network}", tag = "networks", params(("network" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_network(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let row = owned_network(&state, &caller, &key).await?;
    if row.network.global && matches!(state.federation, Federation::Region(_)) {
        return Err(ApiError::Conflict(format!("network {} is global: it is deleted at the central, not in a region", row.network.name)));
    }
    state.store.acting(caller.actor()).delete_network(row.network.id).await?;
    tracing::info!(network = %row.network.name, "network deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/networks/{network}/subnets", tag = "networks", request_body = SubnetCreate,
    params(("network" = String, Path, description = "id or name")),
    responses((status = 201, body = Subnet), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_subnet(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<SubnetCreate>,
) -> Result<(StatusCode, Json<Subnet>), ApiError> {
    caller.require_write()?;
    let row = owned_network(&state, &caller, &key).await?;
    let subnet = subnet_of(&row.network, &body, "")?;
    check_region_pool(&state, &caller, &subnet, "cidr")?;
    let created = state.store.acting(caller.actor()).create_subnet(&subnet).await?;
    Ok((StatusCode::CREATED, Json(convert::subnet(created))))
}

#[utoipa::path(get, path = "/v1/networks/{network}/subnets", tag = "networks", params(("network" = String, Path, description = "id or name")),
    responses((status = 200, body = SubnetList), (status = 404, body = ErrorBody)))]
pub async fn list_subnets(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<SubnetList>, ApiError> {
    let row = state.store.network(caller.scope(None)?, &key).await?;
    Ok(Json(SubnetList { subnets: row.subnets.into_iter().map(convert::subnet).collect() }))
}

fn subnet_id(key: &str) -> Result<SubnetId, ApiError> {
    key.parse().map_err(|_| ApiError::NotFound(format!("subnet {key:?} not found: subnets are named by id")))
}

#[utoipa::path(get, path = "/v1/subnets/{subnet}", tag = "networks", params(("subnet" = String, Path, description = "id")),
    responses((status = 200, body = Subnet), (status = 404, body = ErrorBody)))]
pub async fn get_subnet(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Subnet>, ApiError> {
    Ok(Json(convert::subnet(state.store.subnet(caller.scope(None)?, subnet_id(&key)?).await?)))
}

#[utoipa::path(delete, path = "/v1/subnets/{subnet}", tag = "networks", params(("subnet" = String, Path, description = "id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_subnet(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let subnet = state.store.subnet(caller.scope(None)?, subnet_id(&key)?).await?;
    owned_network(&state, &caller, &subnet.subnet.network_id.to_string()).await?;
    state.store.acting(caller.actor()).delete_subnet(subnet.subnet.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
