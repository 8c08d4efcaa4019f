//! Who is calling: the token check that runs before every protected route, and the rights it gives.

use crate::error::ApiError;
use crate::identity::secret;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use flotilla_api::AUTH_TOKEN_HEADER;
use flotilla_core::{Name, ProjectId, Role, Timestamp, TokenId, UserId};
use flotilla_store::Scope;

/// The authenticated caller: a user acting in one project with one role, through one token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: TokenId,
    pub user_id: UserId,
    pub user_name: Name,
    pub project_id: ProjectId,
    pub project_name: Name,
    pub role: Role,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Principal {
    /// Who this caller is, as the audit events of their changes name them.
    pub fn actor(&self) -> flotilla_core::audit::Actor {
        flotilla_core::audit::Actor {
            user_id: self.user_id,
            user_name: self.user_name.to_string(),
            project_id: self.project_id,
            project_name: self.project_name.to_string(),
        }
    }

    /// Members and admins may change their project's objects; readers may not.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("role {} on project {} is read-only", self.role, self.project_name)))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("admin role required; you hold {} on project {}", self.role, self.project_name)))
        }
    }

    /// The projects a query may see: the token's own, or every one for an admin asking for it.
    pub fn scope(&self, all_projects: Option<bool>) -> Result<Scope, ApiError> {
        if all_projects == Some(true) {
            self.require_admin()?;
            Ok(Scope::All)
        } else {
            Ok(Scope::Project(self.project_id))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| ApiError::Unauthorized("authentication required".into()))
    }
}

/// The token secret from `X-Auth-Token` or `Authorization: Bearer`.
pub fn token_from_headers(headers: &HeaderMap, name: &str) -> Option<String> {
    if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
        return Some(value.trim().to_owned());
    }
    if name != AUTH_TOKEN_HEADER {
        return None;
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// Resolves a token secret to its principal; every failure is the same 401, saying nothing more.
/// At a federated region a token it does not hold is the central's to vouch for.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Principal, ApiError> {
    let rejected = || ApiError::Unauthorized("token is invalid, expired or revoked".into());
    let digest = secret::digest(secret);
    if let Some(principal) = state.auth.get(&digest).filter(|p| flotilla_core::now() < p.expires_at) {
        return Ok(principal);
    }
    let holder = match (state.store.token_holder(&digest).await?, &state.federation) {
        (Some(holder), _) => holder,
        (None, crate::federation::Federation::Region(link)) => {
            return crate::federation::tokens::vouched(state, link, secret, &digest).await;
        }
        (None, _) => return Err(rejected()),
    };
    if !holder.token.is_valid_at(flotilla_core::now()) || !holder.enabled {
        return Err(rejected());
    }
    let token = holder.token;
    let principal = Principal {
        token_id: token.id,
        user_id: token.user_id,
        user_name: holder.user_name,
        project_id: token.project_id,
        project_name: holder.project_name,
        role: holder.role.ok_or_else(rejected)?,
        created_at: token.created_at,
        expires_at: token.expires_at,
    };
    state.auth.put(digest, principal.clone());
    Ok(principal)
}

/// Middleware for protected routes: no valid token → 401 before the handler runs.
pub async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Result<Response, ApiError> {
    let secret = token_from_headers(request.headers(), AUTH_TOKEN_HEADER)
        .ok_or_else(|| ApiError::Unauthorized("authentication required: send X-Auth-Token or Authorization: Bearer".into()))?;
    let principal = authenticate(&state, &secret).await?;
    tracing::Span::current().record("user", principal.user_name.as_str());
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}
