//! `/v1/hosts`: the region's machines. Everyone signed in may look; admins switch, drain and delete.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::events;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::identity::secret;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, Host, HostDrain, HostList, JoinToken, JoinTokenCreate, ListQuery};
use flotilla_core::event::{END, EventAction, EventLevel, FAILED, START};
use flotilla_core::host::Schedulable;
use flotilla_core::scheduler::Request;
use flotilla_core::{HostId, JoinTokenId};
use flotilla_store::Scope;
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
) -> Result<(StatusCode, Json<JoinToken>), ApiError> {
    caller.require_admin()?;
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_JOIN_TOKEN_TTL);
    let replaces = match &body.replace {
        Some(key) => Some(state.store.host(key).await?.id),
        None => None,
    };
    let token = issue(&state.store, std::time::Duration::from_secs(ttl), replaces).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

#[utoipa::path(get, path = "/v1/hosts", tag = "hosts", params(ListQuery, ("state" = Option<String>, Query, description = "UP, DOWN, DRAINING or DISABLED")),
    responses((status = 200, body = HostList)))]
pub async fn list_hosts(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<StateFilter>,
) -> Result<Json<HostList>, ApiError> {
    let params = list_params(&query)?;
    let page = state.store.list_hosts(query.name.as_deref(), filter.state.as_deref(), &params).await?.map(|h| convert::host(h, &caller));
    Ok(Json(HostList { hosts: page.items, next: page.next }))
}

#[utoipa::path(get, path = "/v1/hosts/{host}", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 200, body = Host), (status = 404, body = ErrorBody)))]
pub async fn get_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Host>, ApiError> {
    Ok(Json(convert::host(state.store.host(&key).await?, &caller)))
}

async fn switch(state: &AppState, caller: &Principal, key: &str, to: Schedulable) -> Result<flotilla_core::host::Host, ApiError> {
    caller.require_admin()?;
    let host = state.store.host(key).await?;
    let host = state.store.set_schedulable(host.id, to).await?;
    tracing::info!(host = %host.name, schedulable = to.as_str(), "host switched");
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
    Ok(Json(convert::host(switch(&state, &caller, &key, Schedulable::Enabled).await?, &caller)))
}

#[utoipa::path(post, path = "/v1/hosts/{host}/disable", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 200, body = Host), (status = 403, body = ErrorBody)))]
pub async fn disable_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Host>, ApiError> {
    Ok(Json(convert::host(switch(&state, &caller, &key, Schedulable::Disabled).await?, &caller)))
}

/// Stops new placements on the host; with `migrate`, moves each of its containers to another host.
#[utoipa::path(post, path = "/v1/hosts/{host}/drain", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    request_body = HostDrain, responses((status = 200, body = Host), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn drain_host(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<HostDrain>,
) -> Result<Json<Host>, ApiError> {
    let host = switch(&state, &caller, &key, Schedulable::Draining).await?;
    if body.migrate {
        let mut stuck = Vec::new();
        for id in state.store.containers_on(host.id).await? {
            let row = state.store.container(Scope::All, &id.to_string()).await?;
            let mut request = Request::for_spec(&row.container.spec);
            request.host = None;
            request.avoid_hosts.insert(host.name.clone());
            let moved = state.store.move_container(id, &request, &state.settings.scheduler).await?;
            let migrate = |status| events::container(&row.container, &caller, EventAction::ContainerMigrate, status);
            let event = match moved {
                Ok(to) => {
                    state.agents.wakers.wake(to);
                    migrate(START).reason(format!("moved off draining host {}", host.name))
                }
                Err(why) => {
                    stuck.push(format!("{}: {why}", row.container.name));
                    migrate(FAILED).level(EventLevel::Warning).reason(why)
                }
            };
            events::record(&state, event).await;
        }
        state.agents.wakers.wake(host.id);
        if !stuck.is_empty() {
            return Err(ApiError::Conflict(format!(
                "host {} is draining but some containers could not move: {}",
                host.name,
                stuck.join("; ")
            )));
        }
    }
    Ok(Json(convert::host(state.store.host(&host.id.to_string()).await?, &caller)))
}

#[utoipa::path(delete, path = "/v1/hosts/{host}", tag = "hosts", params(("host" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_host(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let host = state.store.host(&key).await?;
    state.store.delete_host(host.id).await?;
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
