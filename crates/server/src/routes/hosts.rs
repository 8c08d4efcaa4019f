//! `/v1/hosts`: the region's machines. Everyone signed in may look; admins switch, drain and delete.

use super::{convert, labelled_list_params};
use crate::error::ApiError;
use crate::events;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::idempotency::SecretAnswer;
use crate::identity::principal::Principal;
use crate::identity::secret;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use flotilla_api::{ErrorBody, Host, HostDrain, HostList, JoinToken, JoinTokenCreate, LabelQuery, ListQuery};
use flotilla_core::action::{Action, ActionKind, Cause, Target};
use flotilla_core::event::{END, EventAction};
use flotilla_core::host::Schedulable;
use flotilla_core::scheduler::HostState;
use flotilla_core::{HostId, JoinTokenId, ValidationError};
use serde::Deserialize;

/// Lifetime of a join token when none is asked for.
const DEFAULT_JOIN_TOKEN_TTL: u64 = 24 * 3600;

#[derive(Debug, Deserialize)]
pub struct StateFilter {
    pub state: Option<String>,
}

#[utoipa::path(post, path = "/v1/hosts/join-tokens", tag = "hosts", request_body = JoinTokenCreate,
    responses((status = 201, body = JoinToken), (status = 403, body = ErrorBody)))]
pub async fn create_join_token(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<JoinTokenCreate>,
) -> Result<(StatusCode, Extension<SecretAnswer>, Json<JoinToken>), ApiError> {
    caller.require_admin()?;
    state.federation.require_hosts()?;
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_JOIN_TOKEN_TTL);
    flotilla_core::host::check_join_token_ttl(ttl)?;
    let replaces = match &body.replace {
        Some(key) => Some(state.store.host(key).await?.id),
        None => None,
    };
    let token = issue(&state.store, std::time::Duration::from_secs(ttl), replaces).await?;
    Ok((StatusCode::CREATED, Extension(SecretAnswer), Json(token)))
}

#[utoipa::path(get, path = "/v1/hosts", tag = "hosts", params(ListQuery, LabelQuery, ("state" = Option<String>, Query, description = "UP, DOWN, DRAINING or DISABLED")),
    responses((status = 200, body = HostList)))]
pub async fn list_hosts(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
    ApiQuery(filter): ApiQuery<StateFilter>,
) -> Result<Json<HostList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let wanted = filter
        .state
        .map(|s| HostState::parse(&s).ok_or_else(|| ValidationError::new("state", &s, "must be UP, DOWN, DRAINING or DISABLED")))
        .transpose()?;
    let page = state.store.list_hosts(query.name.as_deref(), wanted, &params).await?.map(|h| convert::host(h, &caller));
    Ok(Json(HostList { hosts: page.items, next: page.next }))
}

#[utoipa::path(get, path = "/v1/hosts/{host}", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 200, body = Host), (status = 404, body = ErrorBody)))]
pub async fn get_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Host>, ApiError> {
    Ok(Json(convert::host(state.store.host(&key).await?, &caller)))
}

/// Switches the host to `to`; with `record`, an event says so (a drain that migrates has its
/// action's events instead).
async fn switch(
    state: &AppState,
    caller: &Principal,
    key: &str,
    to: Schedulable,
    record: bool,
) -> Result<flotilla_core::host::Host, ApiError> {
    caller.require_admin()?;
    let host = state.store.host(key).await?;
    let host = state.store.set_schedulable(host.id, to).await?;
    tracing::info!(host = %host.name, schedulable = to.as_str(), "host switched");
    if !record {
        return Ok(host);
    }
    let action = match to {
        Schedulable::Enabled => EventAction::HostEnable,
        Schedulable::Disabled => EventAction::HostDisable,
        Schedulable::Draining => EventAction::HostDrain,
    };
    events::record(state, events::host(&host, Some(caller), action, host.state().as_str())).await;
    Ok(host)
}

#[utoipa::path(post, path = "/v1/hosts/{host}/enable", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 200, body = Host), (status = 403, body = ErrorBody)))]
pub async fn enable_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Host>, ApiError> {
    Ok(Json(convert::host(switch(&state, &caller, &key, Schedulable::Enabled, true).await?, &caller)))
}

#[utoipa::path(post, path = "/v1/hosts/{host}/disable", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 200, body = Host), (status = 403, body = ErrorBody)))]
pub async fn disable_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Host>, ApiError> {
    Ok(Json(convert::host(switch(&state, &caller, &key, Schedulable::Disabled, true).await?, &caller)))
}

/// Stops new placements on the host (200); with `migrate`, also writes a HOST_DRAIN action that
/// moves each of its containers to another host (202 + `Location`; 409 while another runs).
#[utoipa::path(post, path = "/v1/hosts/{host}/drain", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    request_body = HostDrain, responses((status = 200, body = Host), (status = 202, body = Host, description = "the HOST_DRAIN action to follow is in `Location`"),
    (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn drain_host(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<HostDrain>,
) -> Result<Response, ApiError> {
    let host = switch(&state, &caller, &key, Schedulable::Draining, !body.migrate).await?;
    if !body.migrate {
        return Ok(Json(convert::host(host, &caller)).into_response());
    }
    let action =
        Action::new(ActionKind::HostDrain, Target::Host(host.id), host.name.as_str(), caller.project_id, caller.user_id, Cause::User);
    state.store.submit_host_action(&action).await?;
    state.engine.notify();
    let location = format!("/v1/actions/{}", action.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(convert::host(host, &caller))).into_response())
}

#[utoipa::path(delete, path = "/v1/hosts/{host}", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let host = state.store.host(&key).await?;
    state.store.delete_host(host.id).await?;
    state.agent_auth.clear();
    tracing::info!(host = %host.name, "host deleted");
    events::record(&state, events::host(&host, Some(&caller), EventAction::HostDelete, END)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A fresh join token, stored as its digest; with `replaces`, it takes over that host only.
pub async fn issue(store: &flotilla_store::Store, ttl: std::time::Duration, replaces: Option<HostId>) -> Result<JoinToken, ApiError> {
    let token = secret::generate();
    let id = JoinTokenId::new();
    let expires_at =
        flotilla_core::now() + chrono::Duration::from_std(ttl).map_err(|e| ApiError::BadRequest(format!("ttl_seconds: {e}")))?;
    store.create_join_token(id, &secret::digest(&token), expires_at, replaces).await?;
    Ok(JoinToken { id: id.0, token, expires_at, replaces: replaces.map(|h| h.0) })
}
