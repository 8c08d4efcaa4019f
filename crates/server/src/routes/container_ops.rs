//! Container operations: start/stop/pause/unpause/rebuild change the desired state (the agent
//! converges); restart, kill, rename, logs, exec, stats and top call the host's agent directly.

use super::containers::{accepted, writable};
use super::convert;
use crate::agents::calls::AgentCall;
use crate::agents::gateway::observation;
use crate::error::ApiError;
use crate::events;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use flotilla_api::{
    Container, ContainerStats, ContainerTop, ErrorBody, ExecRequest, ExecResult, KillQuery, LogsQuery, RenameRequest, StopQuery,
};
use flotilla_core::container::{ContainerStatus, DesiredState, Operation};
use flotilla_core::event::{END, Event, EventAction, START};
use flotilla_core::{Name, ValidationError};
use flotilla_store::{ContainerChanges, ContainerRow};

/// The caller's container, refused with 409 when `op` is not valid in its status.
async fn for_op(state: &AppState, caller: &Principal, key: &str, op: Operation) -> Result<ContainerRow, ApiError> {
    let row = writable(state, caller, key).await?;
    row.container.status.check(op).map_err(|e| ApiError::Conflict(format!("container {}: {e}", row.container.name)))?;
    Ok(row)
}

/// Sets what the agent should converge to, wakes it, and records that `caller` started `action`.
async fn converge(
    state: &AppState,
    caller: &Principal,
    row: &ContainerRow,
    changes: ContainerChanges,
    action: EventAction,
) -> Result<Response, ApiError> {
    let row = state.store.update_container(row.container.id, changes).await?;
    if let Some(host) = row.container.host_id {
        state.agents.wakers.wake(host);
    }
    events::record(state, events::container(&row.container, caller, action, START)).await;
    Ok(accepted(row))
}

fn desire(desired: DesiredState) -> ContainerChanges {
    ContainerChanges { desired: Some(desired), ..Default::default() }
}

macro_rules! desired_op {
    ($name:ident, $path:literal, $op:expr, $desired:expr, $action:expr) => {
        #[utoipa::path(post, path = $path, tag = "containers", params(("container" = String, Path)), responses((status = 202, body = Container), (status = 409, body = ErrorBody)))]
        pub async fn $name(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Response, ApiError> {
            let row = for_op(&state, &caller, &key, $op).await?;
            converge(&state, &caller, &row, desire($desired), $action).await
        }
    };
}

/// Starts a container: wanted running from now on. One that exists on its host is started by its
/// agent at once (an exited container is otherwise left alone: it may have exited on its own).
#[utoipa::path(post, path = "/v1/containers/{container}/start", tag = "containers", params(("container" = String, Path, description = "id or name")),
    responses((status = 202, body = Container), (status = 409, body = ErrorBody)))]
pub async fn start_container(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Response, ApiError> {
    let row = for_op(&state, &caller, &key, Operation::Start).await?;
    if row.container.runtime_id.is_none() {
        return converge(&state, &caller, &row, desire(DesiredState::Running), EventAction::ContainerStart).await;
    }
    let row = state.store.update_container(row.container.id, desire(DesiredState::Running)).await?;
    let seen = AgentCall::to(&state, &row.container, row.host_name.as_deref()).await?.restart(None).await?;
    record(&state, &row, seen, events::container(&row.container, &caller, EventAction::ContainerStart, END)).await
}

desired_op!(pause_container, "/v1/containers/{container}/pause", Operation::Pause, DesiredState::Paused, EventAction::ContainerPause);
desired_op!(
    unpause_container,
    "/v1/containers/{container}/unpause",
    Operation::Unpause,
    DesiredState::Running,
    EventAction::ContainerUnpause
);

#[utoipa::path(post, path = "/v1/containers/{container}/stop", tag = "containers", params(("container" = String, Path, description = "id or name"), StopQuery),
    responses((status = 202, body = Container), (status = 409, body = ErrorBody)))]
pub async fn stop_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<StopQuery>,
) -> Result<Response, ApiError> {
    check_stop_timeout(&query)?;
    let row = for_op(&state, &caller, &key, Operation::Stop).await?;
    let changes = ContainerChanges { stop_timeout: query.timeout, ..desire(DesiredState::Stopped) };
    converge(&state, &caller, &row, changes, EventAction::ContainerStop).await
}

/// Replaces the container on its host with a fresh one from the same spec.
#[utoipa::path(post, path = "/v1/containers/{container}/rebuild", tag = "containers", params(("container" = String, Path, description = "id or name")),
    responses((status = 202, body = Container), (status = 409, body = ErrorBody)))]
pub async fn rebuild_container(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Response, ApiError> {
    let row = for_op(&state, &caller, &key, Operation::Rebuild).await?;
    let changes = ContainerChanges {
        bump_generation: true,
        status: Some((ContainerStatus::Creating, "rebuilding".into())),
        ..desire(DesiredState::Running)
    };
    converge(&state, &caller, &row, changes, EventAction::ContainerRebuild).await
}

/// Records what the agent answered an imperative call with, and `event`, the call done.
async fn record(state: &AppState, row: &ContainerRow, seen: flotilla_api::agent::Observed, event: Event) -> Result<Response, ApiError> {
    let changes = match row.container.host_id {
        Some(host) => state.store.apply_observations(host, &[observation(seen)]).await?,
        None => Default::default(),
    };
    events::record(state, event).await;
    events::observations(state, &changes).await;
    Ok(accepted(state.store.container(flotilla_store::Scope::All, &row.container.id.to_string()).await?))
}

#[utoipa::path(post, path = "/v1/containers/{container}/restart", tag = "containers", params(("container" = String, Path, description = "id or name"), StopQuery),
    responses((status = 202, body = Container), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn restart_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<StopQuery>,
) -> Result<Response, ApiError> {
    check_stop_timeout(&query)?;
    let row = for_op(&state, &caller, &key, Operation::Restart).await?;
    let row = state.store.update_container(row.container.id, desire(DesiredState::Running)).await?;
    let seen = AgentCall::to(&state, &row.container, row.host_name.as_deref()).await?.restart(query.timeout).await?;
    record(&state, &row, seen, events::container(&row.container, &caller, EventAction::ContainerRestart, END)).await
}

/// Whether a signal ends the process (then the container is wanted stopped, not restarted).
fn terminates(signal: &str) -> bool {
    let name = signal.trim_start_matches("SIG");
    matches!(name, "KILL" | "TERM" | "INT" | "QUIT" | "9" | "15" | "2" | "3")
}

#[utoipa::path(post, path = "/v1/containers/{container}/kill", tag = "containers", params(("container" = String, Path, description = "id or name"), KillQuery),
    responses((status = 202, body = Container), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn kill_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<KillQuery>,
) -> Result<Response, ApiError> {
    let row = for_op(&state, &caller, &key, Operation::Kill).await?;
    let signal = query.signal.unwrap_or_else(|| "SIGKILL".to_owned()).to_ascii_uppercase();
    let row = if terminates(&signal) { state.store.update_container(row.container.id, desire(DesiredState::Stopped)).await? } else { row };
    let seen = AgentCall::to(&state, &row.container, row.host_name.as_deref()).await?.kill(&signal).await?;
    let event = events::container(&row.container, &caller, EventAction::ContainerKill, END).meta("signal", &signal);
    record(&state, &row, seen, event).await
}

#[utoipa::path(post, path = "/v1/containers/{container}/rename", tag = "containers", params(("container" = String, Path, description = "id or name")),
    request_body = RenameRequest, responses((status = 200, body = Container), (status = 409, body = ErrorBody)))]
pub async fn rename_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<RenameRequest>,
) -> Result<Json<Container>, ApiError> {
    let row = for_op(&state, &caller, &key, Operation::Rename).await?;
    let name = Name::parse("name", &body.name)?;
    let renamed =
        state.store.update_container(row.container.id, ContainerChanges { name: Some(name.clone()), ..Default::default() }).await?;
    if renamed.container.runtime_id.is_some() && renamed.container.status != ContainerStatus::Unknown {
        AgentCall::to(&state, &renamed.container, renamed.host_name.as_deref()).await?.rename(name.as_str()).await?;
    }
    let event = events::container(&renamed.container, &caller, EventAction::ContainerRename, END).meta("renamed_from", &row.container.name);
    events::record(&state, event).await;
    Ok(Json(convert::container(renamed)))
}

/// A read-only call's container: any status `op` allows, any role that can see it.
pub(super) async fn for_read(
    state: &AppState,
    caller: &Principal,
    key: &str,
    op: Operation,
) -> Result<(ContainerRow, AgentCall), ApiError> {
    let row = state.store.container(caller.scope(None)?, key).await?;
    row.container.status.check(op).map_err(|e| ApiError::Conflict(format!("container {}: {e}", row.container.name)))?;
    let call = AgentCall::to(state, &row.container, row.host_name.as_deref()).await?;
    Ok((row, call))
}

#[utoipa::path(get, path = "/v1/containers/{container}/logs", tag = "containers", params(("container" = String, Path, description = "id or name"), LogsQuery),
    responses((status = 200, content_type = "text/plain", body = String), (status = 409, body = ErrorBody)))]
pub async fn container_logs(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Response, ApiError> {
    let (_, call) = for_read(&state, &caller, &key, Operation::Logs).await?;
    let stream = call.logs(&query).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], Body::from_stream(stream)).into_response())
}

#[utoipa::path(post, path = "/v1/containers/{container}/exec", tag = "containers", params(("container" = String, Path, description = "id or name")),
    request_body = ExecRequest, responses((status = 200, body = ExecResult), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn exec_container(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ExecRequest>,
) -> Result<Json<ExecResult>, ApiError> {
    caller.require_write()?;
    if body.command.is_empty() {
        return Err(ValidationError::new("command", "[]", "give the command to run").into());
    }
    let (_, call) = for_read(&state, &caller, &key, Operation::Exec).await?;
    Ok(Json(call.exec(&body).await?))
}

#[utoipa::path(get, path = "/v1/containers/{container}/stats", tag = "containers", params(("container" = String, Path, description = "id or name")),
    responses((status = 200, body = ContainerStats), (status = 409, body = ErrorBody)))]
pub async fn container_stats(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
) -> Result<Json<ContainerStats>, ApiError> {
    let (_, call) = for_read(&state, &caller, &key, Operation::Stats).await?;
    Ok(Json(call.stats().await?))
}

#[utoipa::path(get, path = "/v1/containers/{container}/top", tag = "containers", params(("container" = String, Path, description = "id or name")),
    responses((status = 200, body = ContainerTop), (status = 409, body = ErrorBody)))]
pub async fn container_top(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
) -> Result<Json<ContainerTop>, ApiError> {
    let (_, call) = for_read(&state, &caller, &key, Operation::Top).await?;
    Ok(Json(call.top().await?))
}

/// A stop or restart timeout: at most [`flotilla_core::bounds::MAX_SECONDS`].
fn check_stop_timeout(query: &StopQuery) -> Result<(), ApiError> {
    match query.timeout {
        Some(t) => Ok(flotilla_core::bounds::range("timeout", u64::from(t), 0, flotilla_core::bounds::MAX_SECONDS)?),
        None => Ok(()),
    }
}
