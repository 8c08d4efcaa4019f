//! `/v1/containers`: create/run (placed by the scheduler, quota-checked), list, show, update, delete.

use super::{convert, labelled_list_params};
use crate::error::ApiError;
use crate::events;
use crate::federation::global_networks;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flotilla_api::{
    Container, ContainerCreate, ContainerFilter, ContainerList, ContainerUpdate, DeleteQuery, DryRunQuery, ErrorBody, LabelQuery,
    LimitsUpdate, ListQuery, Plan,
};
use flotilla_core::container::{ContainerStatus, DesiredState, Operation};
use flotilla_core::event::{END, EventAction, EventLevel, FAILED, START};
use flotilla_core::profile::ContainerProperties;
use flotilla_core::scheduler::{HostState, Request};
use flotilla_core::{ContainerId, Name, ValidationError, metadata};
use flotilla_store::{ContainerChanges, ContainerFilters, ContainerRow, Scope};

/// Refuses what only admins may ask for, naming the field (fields start with `prefix`): the
/// admin-only fields, and mounting a volume whose driver or options reach the host.
pub async fn check_admin_fields(state: &AppState, caller: &Principal, spec: &ContainerProperties, prefix: &str) -> Result<(), ApiError> {
    if caller.role.is_admin() {
        return Ok(());
    }
    if let Some(field) = spec.admin_only_field() {
        return Err(ApiError::Forbidden(format!(
            "{prefix}{field}: privileged mode, host bind mounts and host networking are for admins only"
        )));
    }
    for (i, mount) in spec.volumes.iter().enumerate() {
        let Ok(row) = state.store.volume(Scope::Project(caller.project_id), &mount.volume).await else { continue };
        if let Some((field, value)) = row.volume.admin_only_setting() {
            return Err(ApiError::Forbidden(format!(
                "{prefix}volumes[{i}].volume: volume {} reaches the host's files ({field}={value:?}): only admins mount it",
                row.volume.name
            )));
        }
    }
    Ok(())
}

/// `host_node` must name a host, inside `host_cluster` when both are set (fields start with `prefix`).
pub async fn check_host_rules(state: &AppState, spec: &ContainerProperties, prefix: &str) -> Result<(), ApiError> {
    let Some(node) = &spec.host_node else { return Ok(()) };
    let field = format!("{prefix}host_node");
    let host = state.store.host(node).await.map_err(|_| ValidationError::new(&field, node, "no host has this name"))?;
    if let Some(pool) = &spec.host_cluster
        && &host.pool != pool
    {
        return Err(ValidationError::new(field, node, format!("is in host pool {:?}, not in host_cluster {pool:?}", host.pool)).into());
    }
    Ok(())
}

/// The 202 answer of an asynchronous operation: the container as it is now, and where to watch it.
pub fn accepted(row: ContainerRow) -> Response {
    let location = format!("/v1/containers/{}", row.container.id);
    (StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(convert::container(row))).into_response()
}

#[utoipa::path(post, path = "/v1/containers", tag = "containers", request_body = ContainerCreate, params(DryRunQuery),
    responses((status = 202, body = Container), (status = 200, body = Plan, description = "dry_run=true: where it would go, nothing made"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_container(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(dry): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<ContainerCreate>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let desired = if body.run { DesiredState::Running } else { DesiredState::Stopped };
    if dry.is_dry_run() {
        let (container, request) = prepare(&state, &caller, ContainerId::new(), &body.name, body.spec, body.metadata, desired).await?;
        return Ok(Json(super::plans::container(&state, container, request).await?).into_response());
    }
    let prepared = prepare(&state, &caller, ContainerId::new(), &body.name, body.spec, body.metadata, desired).await?;
    let row = create_as(&state, &caller, prepared).await?;
    Ok(accepted(row))
}

/// Creates (and places) `container`, made by [`prepare`] for `caller`, its event written with it.
/// A placement that fails writes an ERROR container.
pub async fn create_as(
    state: &AppState,
    caller: &Principal,
    (container, request): (flotilla_core::container::Container, Request),
) -> Result<ContainerRow, ApiError> {
    let settings = &state.settings.scheduler;
    let row = global_networks::with_blocks(state, || {
        state.store.create_container_recorded(container.clone(), &request, settings, Some(create_event(caller.clone())))
    })
    .await?;
    let c = &row.container;
    match (c.host_id, &row.host_name) {
        (Some(host), Some(name)) => {
            state.agents.wakers.wake(host);
            tracing::info!(container = %c.name, host = %name, "container placed");
        }
        _ => tracing::info!(container = %c.name, reason = %c.status_reason, "container not placed"),
    }
    Ok(row)
}

/// The event of `caller`'s create: placed on its host, or failed with the scheduler's reason.
fn create_event(caller: Principal) -> flotilla_store::CreateEvent {
    Box::new(move |c, host| match host {
        Some(name) => {
            events::container(c, &caller, EventAction::ContainerCreate, START).reason(format!("placed on host {name}")).meta("host", name)
        }
        None => {
            events::container(c, &caller, EventAction::ContainerCreate, FAILED).level(EventLevel::Error).reason(c.status_reason.clone())
        }
    })
}

/// Checks a new container's name, spec and metadata for `caller` and makes its networks ready:
/// the container to place and the scheduler's request, for a create or its dry run.
pub async fn prepare(
    state: &AppState,
    caller: &Principal,
    id: ContainerId,
    name: &str,
    spec: ContainerProperties,
    metadata: flotilla_core::Metadata,
    desired: DesiredState,
) -> Result<(flotilla_core::container::Container, Request), ApiError> {
    let name = Name::parse("name", name)?;
    spec.validate_at("spec.")?;
    metadata::validate(&metadata)?;
    check_admin_fields(state, caller, &spec, "spec.").await?;
    check_host_rules(state, &spec, "spec.").await?;
    let reference = flotilla_core::image::normalize_reference(&spec.image);
    let image = state.store.resolve_image(caller.project_id, &reference).await?;
    let now = flotilla_core::now();
    let container = flotilla_core::container::Container {
        id,
        name,
        project_id: caller.project_id,
        user_id: caller.user_id,
        spec,
        image_id: image.map(|i| i.id),
        host_id: None,
        desired,
        generation: 1,
        status: ContainerStatus::Creating,
        status_reason: String::new(),
        runtime_id: None,
        exit_code: None,
        health: Default::default(),
        cpu_percent: None,
        observed_at: None,
        metadata,
        created_at: now,
        updated_at: now,
    };
    for network in &container.spec.networks {
        global_networks::prepare_network(state, caller, &network.network).await?;
    }
    let request = Request::for_spec(&container.spec);
    Ok((container, request))
}

#[utoipa::path(get, path = "/v1/containers", tag = "containers", params(ListQuery, LabelQuery, ContainerFilter),
    responses((status = 200, body = ContainerList), (status = 400, body = ErrorBody)))]
pub async fn list_containers(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
    ApiQuery(filter): ApiQuery<ContainerFilter>,
) -> Result<Json<ContainerList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let scope = caller.scope(query.all_projects)?;
    if let Some(status) = &filter.status
        && ContainerStatus::parse(&status.to_ascii_uppercase()).is_none()
    {
        return Err(ValidationError::new("status", status, "is not a container status").into());
    }
    let host = match &filter.host {
        Some(key) => Some(state.store.host(key).await?.id),
        None => None,
    };
    let filters = ContainerFilters { name: query.name.as_deref(), status: filter.status.as_deref(), host };
    let page = state.store.list_containers(scope, filters, &params).await?.map(convert::container);
    Ok(Json(ContainerList { containers: page.items, next: page.next }))
}

#[utoipa::path(get, path = "/v1/containers/{container}", tag = "containers", params(("container" = String, Path, description = "id or name")),
    responses((status = 200, body = Container), (status = 404, body = ErrorBody)))]
pub async fn get_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Container>, ApiError> {
    let scope = caller.scope(query.all_projects)?;
    Ok(Json(convert::container(state.store.container(scope, &key).await?)))
}

/// The caller's container `key`, for a change.
pub async fn writable(state: &AppState, caller: &Principal, key: &str) -> Result<ContainerRow, ApiError> {
    caller.require_write()?;
    Ok(state.store.container(caller.scope(None)?, key).await?)
}

#[utoipa::path(patch, path = "/v1/containers/{container}", tag = "containers", params(("container" = String, Path, description = "id or name")),
    request_body = ContainerUpdate, responses((status = 200, body = Container), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ContainerUpdate>,
) -> Result<Json<Container>, ApiError> {
    let row = writable(&state, &caller, &key).await?;
    row.container.status.check(Operation::Update).map_err(|e| ApiError::Conflict(e.to_string()))?;
    let probe = ContainerProperties {
        cpu: body.cpu.or(row.container.spec.cpu),
        memory: body.memory.or(row.container.spec.memory),
        ..row.container.spec.clone()
    };
    probe.validate_limits("")?;
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    let renamed = body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
    let limits = LimitsUpdate { cpu: body.cpu, memory: body.memory };
    let changes =
        ContainerChanges { name: renamed.clone(), cpu: body.cpu, memory: body.memory, metadata: body.metadata, ..Default::default() };
    let updated = state.store.update_container(row.container.id, changes).await?;
    // Docker takes new limits and names on stopped containers too.
    if updated.container.runtime_id.is_some() && updated.container.status != ContainerStatus::Unknown {
        let call = crate::agents::calls::AgentCall::to(&state, &updated.container, updated.host_name.as_deref()).await?;
        if limits.cpu.is_some() || limits.memory.is_some() {
            call.update_limits(&limits).await?;
        }
        if let Some(name) = &renamed {
            call.rename(name.as_str()).await?;
        }
    }
    let mut event = events::container(&updated.container, &caller, EventAction::ContainerUpdate, END);
    if let Some(cpu) = limits.cpu {
        event = event.meta("cpu", cpu);
    }
    if let Some(memory) = limits.memory {
        event = event.meta("memory_mib", memory);
    }
    if renamed.is_some() {
        event = event.meta("renamed_from", &row.container.name);
    }
    events::record(&state, event).await;
    Ok(Json(convert::container(updated)))
}

#[utoipa::path(delete, path = "/v1/containers/{container}", tag = "containers", params(("container" = String, Path, description = "id or name"), DeleteQuery),
    responses((status = 202, body = Container), (status = 204), (status = 409, body = ErrorBody)))]
pub async fn delete_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<Response, ApiError> {
    let row = writable(&state, &caller, &key).await?;
    let c = &row.container;
    let force = query.force == Some(true);
    if !force {
        let op = if query.stop == Some(true) { Operation::DeleteStopping } else { Operation::Delete };
        c.status.check(op).map_err(|e| ApiError::Conflict(format!("{e} (use stop=true or force=true)")))?;
    }
    match remove(&state, &caller, row, force).await? {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(deleting) => Ok(accepted(deleting)),
    }
}

/// Deletes a container: at once when it has no live host to remove it (or `force` and its host
/// is down: `None`), else by its agent (the row as it is now, DELETING).
pub async fn remove(state: &AppState, caller: &Principal, row: ContainerRow, force: bool) -> Result<Option<ContainerRow>, ApiError> {
    let c = &row.container;
    let host_down = match c.host_id {
        Some(host) => state.store.host(&host.to_string()).await?.state() == HostState::Down,
        None => true,
    };
    if c.host_id.is_none() || (force && host_down) {
        state.store.delete_container(c.id).await?;
        if let Some(host) = c.host_id {
            state.agents.wakers.wake(host);
        }
        tracing::info!(container = %c.name, "container deleted");
        events::record(state, events::container(c, caller, EventAction::ContainerDelete, END)).await;
        return Ok(None);
    }
    let changes = ContainerChanges {
        desired: Some(DesiredState::Deleted),
        status: Some((ContainerStatus::Deleting, String::new())),
        ..Default::default()
    };
    // The event is written with the change (a delete changes no field an event names).
    let event = events::container(c, caller, EventAction::ContainerDelete, START);
    let row = state.store.update_container_recorded(c.id, changes, Some(event)).await?;
    if let Some(host) = row.container.host_id {
        state.agents.wakers.wake(host);
    }
    Ok(Some(row))
}
