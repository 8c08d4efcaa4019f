//! `/v1/dashboard/links`: the one-time link `flotilla dashboard` opens to sign a browser in as
//! the caller (the dashboard itself is `crate::ui`).

use crate::error::ApiError;
use crate::identity::principal::{Principal, token_from_headers};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use flotilla_api::{AUTH_TOKEN_HEADER, DashboardLink, ErrorBody};

/// Makes a link that signs a browser in to `/ui` with the caller's token, once, within a minute
/// (and never past the token's expiry). Only the link's SHA-256 is kept.
#[utoipa::path(post, path = "/v1/dashboard/links", tag = "auth",
    responses((status = 201, body = DashboardLink), (status = 401, body = ErrorBody)))]
pub async fn create_link(
    State(state): State<AppState>,
    caller: Principal,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<DashboardLink>), ApiError> {
    let token = token_from_headers(&headers, AUTH_TOKEN_HEADER)
        .ok_or_else(|| ApiError::Unauthorized("authentication required: send X-Auth-Token or Authorization: Bearer".into()))?;
    let link = crate::ui::issue_link(&state.store, &token, caller.expires_at).await?;
    tracing::info!(user = %caller.user_name, project = %caller.project_name, "dashboard link issued");
    Ok((StatusCode::CREATED, Json(link)))
}
