//! `/v1/role_assignments`: admins grant and remove roles; others see their project's assignments.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, ListQuery, RoleAssignment, RoleAssignmentCreate, RoleAssignmentList};
use flotilla_core::{RoleAssignmentId, ValidationError};
use flotilla_store::StoreError;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleQuery {
    /// Only assignments of this user (id or name).
    pub user: Option<String>,
    /// Only assignments on this project (id or name).
    pub project: Option<String>,
    pub limit: Option<u32>,
    pub marker: Option<String>,
    pub sort: Option<String>,
}

/// Maps "not found" of an object named in the request to a 400 naming the field.
fn named_in(field: &'static str, key: &str) -> impl FnOnce(StoreError) -> ApiError {
    let key = key.to_owned();
    move |e| match e {
        StoreError::NotFound { .. } => ValidationError::new(field, key, "not found").into(),
        other => other.into(),
    }
}

#[utoipa::path(get, path = "/v1/role_assignments", tag = "identity", params(RoleQuery),
    responses((status = 200, body = RoleAssignmentList), (status = 403, body = ErrorBody)))]
pub async fn list_role_assignments(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<RoleQuery>,
) -> Result<Json<RoleAssignmentList>, ApiError> {
    let params =
        list_params(&ListQuery { limit: query.limit, marker: query.marker.clone(), sort: query.sort.clone(), ..Default::default() })?;
    let user = match &query.user {
        Some(key) => Some(state.store.user(key).await.map_err(named_in("user", key))?.id),
        None => None,
    };
    let project = match &query.project {
        Some(key) => Some(state.store.project(key).await.map_err(named_in("project", key))?.id),
        None => None,
    };
    let project = if caller.role.is_admin() {
        project
    } else if project.is_none_or(|p| p == caller.project_id) {
        Some(caller.project_id)
    } else {
        return Err(ApiError::Forbidden(format!("you may list only the role assignments of project {}", caller.project_name)));
    };
    let page = state.store.list_role_assignments(user, project, &params).await?.map(convert::role_assignment);
    Ok(Json(RoleAssignmentList { role_assignments: page.items, next: page.next }))
}

#[utoipa::path(post, path = "/v1/role_assignments", tag = "identity", request_body = RoleAssignmentCreate,
    responses((status = 201, body = RoleAssignment), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn assign_role(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<RoleAssignmentCreate>,
) -> Result<(StatusCode, Json<RoleAssignment>), ApiError> {
    caller.require_admin()?;
    let user = state.store.user(&body.user).await.map_err(named_in("user", &body.user))?;
    let project = state.store.project(&body.project).await.map_err(named_in("project", &body.project))?;
    let assignment = state.store.acting(caller.actor()).assign_role(user.id, project.id, body.role).await?;
    tracing::info!(user = %user.name, project = %project.name, role = %body.role, "role assigned");
    Ok((StatusCode::CREATED, Json(convert::role_assignment(assignment))))
}

/// Removes an assignment; the user's tokens on its project are revoked for good.
#[utoipa::path(delete, path = "/v1/role_assignments/{id}", tag = "identity", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_role_assignment(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let id: RoleAssignmentId = id.parse().map_err(|_| ApiError::NotFound(format!("role assignment {id:?} not found")))?;
    state.store.acting(caller.actor()).delete_role_assignment(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
