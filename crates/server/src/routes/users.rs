//! `/v1/users`: admins manage users; others see the users of their project and change their own password.

use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::password;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use flotilla_api::{ErrorBody, ListQuery, User, UserCreate, UserList, UserUpdate};
use flotilla_core::{Name, ProjectId, UserId, ValidationError, metadata};
use flotilla_store::{Store, UserChanges};

fn check_email(email: &Option<String>) -> Result<(), ValidationError> {
    match email {
        Some(e) if !e.contains('@') || e.len() > 255 => Err(ValidationError::new("email", e, "must be an e-mail address")),
        _ => Ok(()),
    }
}

/// Resolves a project named in a request body; an unknown one is the body's fault (400).
async fn body_project(store: &Store, field: &str, key: &str) -> Result<ProjectId, ApiError> {
    match store.project(key).await {
        Ok(p) => Ok(p.id),
        Err(flotilla_store::StoreError::NotFound { .. }) => Err(ValidationError::new(field, key, "no such project").into()),
        Err(e) => Err(e.into()),
    }
}

/// The user `key`, if the caller may see them: admins see all, others the members of their project.
async fn visible_user(state: &AppState, caller: &Principal, key: &str) -> Result<flotilla_core::identity::User, ApiError> {
    let user = state.store.user(key).await?;
    if caller.role.is_admin() || user.id == caller.user_id {
        return Ok(user);
    }
    match state.store.effective_role(user.id, caller.project_id).await? {
        Some(_) => Ok(user),
        None => Err(ApiError::NotFound(format!("user {key:?} not found"))),
    }
}

#[utoipa::path(get, path = "/v1/users", tag = "identity", params(ListQuery),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<UserList>, ApiError> {
    let params = list_params(&query)?;
    let member_of = match caller.scope(query.all_projects)? {
        flotilla_store::Scope::All => None,
        flotilla_store::Scope::Project(p) => Some(p),
    };
    let page = state.store.list_users(member_of, query.name.as_deref(), &params).await?.map(convert::user);
    Ok(Json(UserList { users: page.items, next: page.next }))
}

#[utoipa::path(post, path = "/v1/users", tag = "identity", request_body = UserCreate,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<UserCreate>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    caller.require_admin()?;
    let name = Name::parse("name", &body.name)?;
    password::check_strength("password", &body.password)?;
    check_email(&body.email)?;
    metadata::validate(&body.metadata)?;
    let default_project_id = match &body.default_project {
        Some(key) => Some(body_project(&state.store, "default_project", key).await?),
        None => None,
    };
    let now = flotilla_core::now();
    let user = flotilla_core::identity::User {
        id: UserId::new(),
        name,
        email: body.email,
        password_hash: password::hash(body.password).await?,
        enabled: body.enabled.unwrap_or(true),
        default_project_id,
        metadata: body.metadata,
        created_at: now,
        updated_at: now,
    };
    state.store.acting(caller.actor()).create_user(&user).await?;
    tracing::info!(user = %user.name, "user created");
    Ok((StatusCode::CREATED, Json(convert::user(user))))
}

#[utoipa::path(get, path = "/v1/users/{user}", tag = "identity", params(("user" = String, Path, description = "id or name")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<User>, ApiError> {
    Ok(Json(convert::user(visible_user(&state, &caller, &key).await?)))
}

/// Admins change anything; a user may change only their own password and e-mail. A new
/// password or a disable revokes the user's tokens for good (but the caller's own, when they
/// change their own password).
#[utoipa::path(patch, path = "/v1/users/{user}", tag = "identity", params(("user" = String, Path, description = "id or name")),
    request_body = UserUpdate, responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<UserUpdate>,
) -> Result<Json<User>, ApiError> {
    let user = visible_user(&state, &caller, &key).await?;
    let admin_only = body.name.is_some() || body.enabled.is_some() || body.default_project.is_some() || body.metadata.is_some();
    if user.id != caller.user_id || admin_only {
        caller.require_admin()?;
    }
    check_email(&body.email)?;
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    let password_hash = match body.password {
        Some(p) => {
            password::check_strength("password", &p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let default_project_id = match &body.default_project {
        Some(key) => Some(body_project(&state.store, "default_project", key).await?),
        None => None,
    };
    let changes = UserChanges {
        name: body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?,
        email: body.email,
        password_hash,
        enabled: body.enabled,
        default_project_id,
        metadata: body.metadata,
        // A password change or a disable revokes the user's tokens; users changing their own
        // password keep the token they did it with (as GitHub signs the other sessions out).
        keep_token: (user.id == caller.user_id).then_some(caller.token_id),
    };
    Ok(Json(convert::user(state.store.acting(caller.actor()).update_user(user.id, changes).await?)))
}

#[utoipa::path(delete, path = "/v1/users/{user}", tag = "identity", params(("user" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_user(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let user = state.store.user(&key).await?;
    if user.id == caller.user_id {
        return Err(ApiError::Conflict("you cannot delete yourself".into()));
    }
    state.store.acting(caller.actor()).delete_user(user.id).await?;
    tracing::info!(user = %user.name, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}
