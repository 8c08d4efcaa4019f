//! `/v1/auth/tokens`: log in (issue a token), who am I (validate), log out (revoke).

use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::identity::principal::{Principal, authenticate, token_from_headers};
use crate::identity::{password, secret};
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use flotilla_api::{ErrorBody, ObjectRef, SUBJECT_TOKEN_HEADER, Token, TokenCreate};
use flotilla_core::identity::TokenRecord;
use flotilla_core::{TokenId, ValidationError};
use std::net::SocketAddr;

const DEFAULT_LIFETIME_S: u64 = 12 * 3600;
const MIN_LIFETIME_S: u64 = 60;
const MAX_LIFETIME_S: u64 = 30 * 24 * 3600;

/// Trades a user name and password for a token scoped to one project. Every credential failure
/// answers the same 401, so the answer never tells which part was wrong; failures are throttled
/// per user and per client address (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/tokens", tag = "auth", security(()), request_body = TokenCreate,
    responses((status = 201, body = Token), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "seconds until a login may be tried again")))))]
pub async fn create_token(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<TokenCreate>,
) -> Result<(StatusCode, Json<Token>), ApiError> {
    let lifetime = body.expires_in.unwrap_or(DEFAULT_LIFETIME_S);
    if !(MIN_LIFETIME_S..=MAX_LIFETIME_S).contains(&lifetime) {
        return Err(ValidationError::new("expires_in", lifetime, format!("must be {MIN_LIFETIME_S} to {MAX_LIFETIME_S} seconds")).into());
    }
    let invalid = || ApiError::Unauthorized("invalid credentials".into());
    let user = state.store.user(&body.user).await.ok().filter(|u| u.enabled);
    // Throttled by the user's id (however named), or by the name given when no user has it.
    let subject = user.as_ref().map_or_else(|| body.user.clone(), |u| u.id.to_string());
    state.logins.check(&subject, client.ip())?;
    let verified = password::verify(body.password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|_| verified) else {
        state.logins.failed(&subject, client.ip());
        return Err(invalid());
    };
    state.logins.succeeded(&subject, client.ip());
    let project = match &body.project {
        Some(key) => state.store.project(key).await.ok(),
        None => match user.default_project_id {
            Some(id) => state.store.project_by_id(id).await.ok(),
            None => return Err(ApiError::Unauthorized("user has no default project: name one".into())),
        },
    };
    let project = project.filter(|p| p.enabled).ok_or_else(|| ApiError::Unauthorized("no role on that project".into()))?;
    let role =
        state.store.effective_role(user.id, project.id).await?.ok_or_else(|| ApiError::Unauthorized("no role on that project".into()))?;
    let now = flotilla_core::now();
    let token_secret = secret::generate();
    let record = TokenRecord {
        id: TokenId::new(),
        secret_hash: secret::digest(&token_secret),
        user_id: user.id,
        project_id: project.id,
        created_at: now,
        expires_at: now + chrono::Duration::seconds(lifetime as i64),
        revoked: false,
    };
    state.store.create_token(&record).await?;
    tracing::info!(user = %user.name, project = %project.name, token = %record.id, "token issued");
    let token = Token {
        id: record.id.0,
        token: Some(token_secret),
        user: ObjectRef { id: user.id.0, name: user.name.to_string() },
        project: ObjectRef { id: project.id.0, name: project.name.to_string() },
        role,
        created_at: record.created_at,
        expires_at: record.expires_at,
    };
    Ok((StatusCode::CREATED, Json(token)))
}

/// The token named by `X-Subject-Token` (admins, or the same user), else the caller's own.
async fn subject(state: &AppState, caller: Principal, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let Some(secret) = token_from_headers(headers, SUBJECT_TOKEN_HEADER) else {
        return Ok(caller);
    };
    let subject =
        authenticate(state, &secret).await.map_err(|_| ApiError::NotFound("subject token is invalid, expired or revoked".into()))?;
    if subject.user_id != caller.user_id {
        caller.require_admin()?;
    }
    Ok(subject)
}

fn describe(p: Principal) -> Token {
    Token {
        id: p.token_id.0,
        token: None,
        user: ObjectRef { id: p.user_id.0, name: p.user_name.to_string() },
        project: ObjectRef { id: p.project_id.0, name: p.project_name.to_string() },
        role: p.role,
        created_at: p.created_at,
        expires_at: p.expires_at,
    }
}

/// Validates a token and says whose it is: the caller's, or the one in `X-Subject-Token`.
#[utoipa::path(get, path = "/v1/auth/tokens", tag = "auth",
    responses((status = 200, body = Token), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn current_token(State(state): State<AppState>, caller: Principal, headers: HeaderMap) -> Result<Json<Token>, ApiError> {
    Ok(Json(describe(subject(&state, caller, &headers).await?)))
}

/// Revokes the caller's token, or the one in `X-Subject-Token`.
#[utoipa::path(delete, path = "/v1/auth/tokens", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(State(state): State<AppState>, caller: Principal, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let store = state.store.acting(caller.actor());
    let subject = subject(&state, caller, &headers).await?;
    store.revoke_token(subject.token_id).await?;
    tracing::info!(token = %subject.token_id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
