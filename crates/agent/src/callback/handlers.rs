//! Handlers of the interactive calls: find the runtime container by its Flotilla id, act, answer.

use super::{CallbackError, CallbackState};
use crate::reconcile::observed;
use crate::runtime::{LogOptions, RuntimeContainer, runtime_name};
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flotilla_api::agent::Observed;
use flotilla_api::{
    ArchiveQuery, ContainerStats, ContainerTop, ExecRequest, ExecResult, KillQuery, LimitsUpdate, LogsQuery, MAX_ARCHIVE_BYTES,
    RenameRequest, StopQuery,
};
use futures::StreamExt;
use uuid::Uuid;

/// Seconds between SIGTERM and SIGKILL on restart when the caller does not say.
const DEFAULT_RESTART_TIMEOUT: u32 = 10;

type Answer<T> = Result<T, CallbackError>;

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Answer<T> {
    query.map(|Query(q)| q).map_err(|e| CallbackError::BadRequest(e.body_text()))
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Answer<T> {
    body.map(|Json(b)| b).map_err(|e| CallbackError::BadRequest(e.body_text()))
}

/// The runtime container of Flotilla container `id` on this host (the newest generation if several).
pub(super) async fn find(state: &CallbackState, id: &str) -> Answer<RuntimeContainer> {
    let container_id: Uuid = id.parse().map_err(|_| CallbackError::UnknownContainer(id.to_owned()))?;
    let list = state.runtime.list(state.host_id).await?;
    list.into_iter()
        .filter(|c| c.container_id == container_id)
        .max_by_key(|c| c.generation)
        .ok_or(CallbackError::UnknownContainer(id.to_owned()))
}

async fn observe_now(state: &CallbackState, c: &RuntimeContainer) -> Answer<Json<Observed>> {
    Ok(Json(observed(&state.runtime.inspect(&c.runtime_id).await?)))
}

pub async fn restart(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    q: Result<Query<StopQuery>, QueryRejection>,
) -> Answer<Json<Observed>> {
    let q = query(q)?;
    let c = find(&state, &id).await?;
    state.runtime.restart(&c.runtime_id, q.timeout.unwrap_or(DEFAULT_RESTART_TIMEOUT)).await?;
    observe_now(&state, &c).await
}

pub async fn kill(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    q: Result<Query<KillQuery>, QueryRejection>,
) -> Answer<Json<Observed>> {
    let q = query(q)?;
    let c = find(&state, &id).await?;
    state.runtime.kill(&c.runtime_id, q.signal.as_deref().unwrap_or("SIGKILL")).await?;
    observe_now(&state, &c).await
}

pub async fn logs(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    q: Result<Query<LogsQuery>, QueryRejection>,
) -> Answer<Response> {
    let q = query(q)?;
    let c = find(&state, &id).await?;
    let options = LogOptions { tail: q.tail, since: q.since, follow: q.follow.unwrap_or(false), timestamps: q.timestamps.unwrap_or(false) };
    let stream = state.runtime.logs(&c.runtime_id, options).await?;
    let mut shutdown = state.shutdown.clone();
    let stream = stream.take_until(async move {
        // Err: the agent is gone; either way the stream ends.
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], Body::from_stream(stream)).into_response())
}

pub async fn exec(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    b: Result<Json<ExecRequest>, JsonRejection>,
) -> Answer<Json<ExecResult>> {
    let request = body(b)?;
    if request.command.is_empty() {
        return Err(CallbackError::BadRequest("command: must name a program".into()));
    }
    let c = find(&state, &id).await?;
    Ok(Json(state.runtime.exec(&c.runtime_id, &request.command).await?))
}

pub async fn stats(State(state): State<CallbackState>, Path(id): Path<String>) -> Answer<Json<ContainerStats>> {
    let c = find(&state, &id).await?;
    Ok(Json(state.runtime.stats(&c.runtime_id).await?))
}

pub async fn top(State(state): State<CallbackState>, Path(id): Path<String>) -> Answer<Json<ContainerTop>> {
    let c = find(&state, &id).await?;
    Ok(Json(state.runtime.top(&c.runtime_id).await?))
}

/// The tar of `?path=`, as Docker's archive API answers it.
pub async fn download(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    q: Result<Query<ArchiveQuery>, QueryRejection>,
) -> Answer<Response> {
    let q = query(q)?;
    let c = find(&state, &id).await?;
    let tar = state.runtime.download(&c.runtime_id, &q.path, MAX_ARCHIVE_BYTES).await?;
    Ok(([(CONTENT_TYPE, "application/x-tar")], tar).into_response())
}

/// Extracts the tar body into directory `?path=`.
pub async fn upload(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    q: Result<Query<ArchiveQuery>, QueryRejection>,
    tar: Bytes,
) -> Answer<StatusCode> {
    let q = query(q)?;
    let c = find(&state, &id).await?;
    state.runtime.upload(&c.runtime_id, &q.path, tar).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rename(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    b: Result<Json<RenameRequest>, JsonRejection>,
) -> Answer<StatusCode> {
    let request = body(b)?;
    let c = find(&state, &id).await?;
    state.runtime.rename(&c.runtime_id, &runtime_name(&request.name, c.container_id, c.generation)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn update(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    b: Result<Json<LimitsUpdate>, JsonRejection>,
) -> Answer<StatusCode> {
    let limits = body(b)?;
    let c = find(&state, &id).await?;
    state.runtime.update_limits(&c.runtime_id, limits.cpu, limits.memory).await?;
    Ok(StatusCode::NO_CONTENT)
}
