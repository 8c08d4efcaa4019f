//! `/v1/projects`: admins manage projects; others see only the project of their token.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, ListQuery, Project, ProjectCreate, ProjectList, ProjectUpdate};
use flotilla_core::{Name, ProjectId, metadata};
use flotilla_store::{ProjectChanges, Scope};

const MAX_DESCRIPTION_LEN: usize = 1024;

fn check_description(description: &str) -> Result<(), flotilla_core::ValidationError> {
    if description.len() > MAX_DESCRIPTION_LEN {
        return Err(flotilla_core::ValidationError::new(
            "description",
            format!("{} characters", description.len()),
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    Ok(())
}

/// The project `key` if the caller may see it (admins: any; others: their own).
async fn visible_project(state: &AppState, caller: &Principal, key: &str) -> Result<flotilla_core::identity::Project, ApiError> {
    let project = state.store.project(key).await?;
    if caller.role.is_admin() || project.id == caller.project_id {
        Ok(project)
    } else {
        Err(ApiError::NotFound(format!("project {key:?} not found")))
    }
}

#[utoipa::path(get, path = "/v1/projects", tag = "identity", params(ListQuery), responses((status = 200, body = ProjectList)))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ProjectList>, ApiError> {
    let params = list_params(&query)?;
    let only = match (caller.role.is_admin(), caller.scope(query.all_projects)?) {
        (true, _) | (_, Scope::All) => None,
        (false, Scope::Project(p)) => Some(p),
    };
    let page = state.store.list_projects(only, query.name.as_deref(), &params).await?.map(convert::project);
    Ok(Json(ProjectList { projects: page.items, next: page.next }))
}

#[utoipa::path(post, path = "/v1/projects", tag = "identity", request_body = ProjectCreate,
    responses((status = 201, body = Project), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_project(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<ProjectCreate>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    caller.require_admin()?;
    let name = Name::parse("name", &body.name)?;
    check_description(&body.description)?;
    metadata::validate(&body.metadata)?;
    let now = flotilla_core::now();
    let project = flotilla_core::identity::Project {
        id: ProjectId::new(),
        name,
        description: body.description,
        enabled: body.enabled.unwrap_or(true),
        metadata: body.metadata,
        created_at: now,
        updated_at: now,
    };
    state.store.acting(caller.actor()).create_project(&project).await?;
    tracing::info!(project = %project.name, "project created");
    Ok((StatusCode::CREATED, Json(convert::project(project))))
}

#[utoipa::path(get, path = "/v1/projects/{project}", tag = "identity", params(("project" = String, Path, description = "id or name")),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
pub async fn get_project(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Project>, ApiError> {
    Ok(Json(convert::project(visible_project(&state, &caller, &key).await?)))
}

#[utoipa::path(patch, path = "/v1/projects/{project}", tag = "identity", params(("project" = String, Path, description = "id or name")),
    request_body = ProjectUpdate, responses((status = 200, body = Project), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_project(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ProjectUpdate>,
) -> Result<Json<Project>, ApiError> {
    let project = visible_project(&state, &caller, &key).await?;
    caller.require_admin()?;
    if let Some(d) = &body.description {
        check_description(d)?;
    }
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    let changes = ProjectChanges {
        name: body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?,
        description: body.description,
        enabled: body.enabled,
        metadata: body.metadata,
    };
    Ok(Json(convert::project(state.store.acting(caller.actor()).update_project(project.id, changes).await?)))
}

#[utoipa::path(delete, path = "/v1/projects/{project}", tag = "identity", params(("project" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_project(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    let project = visible_project(&state, &caller, &key).await?;
    caller.require_admin()?;
    if project.id == caller.project_id {
        return Err(ApiError::Conflict("you cannot delete the project your token is scoped to".into()));
    }
    state.store.acting(caller.actor()).delete_project(project.id).await?;
    tracing::info!(project = %project.name, "project deleted");
    Ok(StatusCode::NO_CONTENT)
}
