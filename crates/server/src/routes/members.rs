//! `/v1/federation/members` at a federated region: the members other regions' clusters run here.
//! The calling region (its credential vouched for by the central) creates them under the ids it
//! chose, reads their status, and removes them (when a cluster shrinks, or to fence a member that
//! was replaced elsewhere while this region was lost). Each is an ordinary container here.

use super::containers::{create_as, prepare, remove};
use super::convert;
use crate::error::ApiError;
use crate::federation::peer::PeerCaller;
use crate::http::extract::ApiJson;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flotilla_api::ErrorBody;
use flotilla_api::region::{MemberCreate, MemberList};
use flotilla_core::container::DesiredState;
use flotilla_core::role::Role;
use flotilla_core::{ContainerId, Name, ProjectId, TokenId, UserId};
use flotilla_store::{Scope, StoreError, VouchedIdentity};
use uuid::Uuid;

/// Who a member is created as: its cluster's user in its project, a member of it, as the calling
/// region (vouched for by the central) says.
fn acting_for(body: &MemberCreate) -> Result<Principal, ApiError> {
    let now = flotilla_core::now();
    Ok(Principal {
        token_id: TokenId(Uuid::nil()),
        user_id: UserId(body.user_id),
        user_name: Name::parse("user_name", &body.user_name)?,
        project_id: ProjectId(body.project_id),
        project_name: Name::parse("project_name", &body.project_name)?,
        role: Role::Member,
        created_at: now,
        expires_at: now,
    })
}

/// Runs a member of the caller's cluster here under `id`; when it exists already, answers it
/// as it is (200), so the calling region's job may run again.
#[utoipa::path(put, path = "/v1/federation/members/{id}", tag = "federation", security(("region_credential" = [])),
    params(("id" = Uuid, Path, description = "the container's id, the same in both regions")), request_body = MemberCreate,
    responses((status = 201, body = flotilla_api::Container), (status = 200, body = flotilla_api::Container), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a federated region"), (status = 409, body = ErrorBody)))]
pub async fn put_member(
    State(state): State<AppState>,
    caller: PeerCaller,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<MemberCreate>,
) -> Result<Response, ApiError> {
    let id = ContainerId(id);
    match state.store.container(Scope::All, &id.to_string()).await {
        Ok(row) => {
            state.store.host_member(id, &caller.name).await?;
            return Ok((StatusCode::OK, Json(convert::container(row))).into_response());
        }
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let principal = acting_for(&body)?;
    let who = VouchedIdentity {
        user_id: principal.user_id,
        user_name: principal.user_name.clone(),
        project_id: principal.project_id,
        project_name: principal.project_name.clone(),
    };
    state.store.keep_vouched_identity(&who).await?;
    let prepared = prepare(&state, &principal, id, &body.name, body.spec, body.metadata, DesiredState::Running).await?;
    let row = create_as(&state, &principal, prepared).await?;
    state.store.host_member(id, &caller.name).await?;
    tracing::info!(container = %row.container.name, home = %caller.name, "running a member of another region's cluster");
    Ok((StatusCode::CREATED, Json(convert::container(row))).into_response())
}

/// The members the calling region's clusters run here, as they are now.
#[utoipa::path(get, path = "/v1/federation/members", tag = "federation", security(("region_credential" = [])),
    responses((status = 200, body = MemberList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "not a federated region")))]
pub async fn list_members(State(state): State<AppState>, caller: PeerCaller) -> Result<Json<MemberList>, ApiError> {
    let members = state.store.hosted_member_containers(&caller.name).await?.into_iter().map(convert::container).collect();
    Ok(Json(MemberList { members }))
}

/// Removes a member of the caller's cluster (stopping it first): 204 when it is gone (or was
/// never here), 202 while its agent removes it.
#[utoipa::path(delete, path = "/v1/federation/members/{id}", tag = "federation", security(("region_credential" = [])),
    params(("id" = Uuid, Path, description = "the container's id")),
    responses((status = 204), (status = 202, body = flotilla_api::Container), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a federated region, or not the caller's member")))]
pub async fn delete_member(State(state): State<AppState>, caller: PeerCaller, Path(id): Path<Uuid>) -> Result<Response, ApiError> {
    let id = ContainerId(id);
    let row = match state.store.container(Scope::All, &id.to_string()).await {
        Ok(row) => row,
        Err(StoreError::NotFound { .. }) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => return Err(e.into()),
    };
    if !state.store.hosted_members(&caller.name).await?.contains(&id) {
        return Err(ApiError::NotFound(format!("container {id} is no member of region {}'s clusters", caller.name)));
    }
    let c = &row.container;
    let project = state.store.project(&c.project_id.to_string()).await?;
    // The member's cluster's user (vouched for when the member was made) removes it.
    let user = state.store.user(&c.user_id.to_string()).await?;
    let principal = Principal {
        token_id: TokenId(Uuid::nil()),
        user_id: c.user_id,
        user_name: user.name,
        project_id: c.project_id,
        project_name: project.name,
        role: Role::Member,
        created_at: c.created_at,
        expires_at: c.created_at,
    };
    match remove(&state, &principal, row, true).await? {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(deleting) => Ok((StatusCode::ACCEPTED, Json(convert::container(deleting))).into_response()),
    }
}
