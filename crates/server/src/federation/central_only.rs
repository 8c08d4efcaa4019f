//! Identity writes (users, projects, roles, logins, revocations) belong to the central: at a
//! federated region they are refused with a 421 naming the central's URL; reads pass.

use super::Federation;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Route layer of the identity routes.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    if let Federation::Region(link) = &state.federation
        && !matches!(*request.method(), Method::GET | Method::HEAD)
    {
        return Err(ApiError::Misdirected(format!(
            "identity is managed by the central: send this request to {} (users log in there; its tokens work in every region)",
            link.url()
        )));
    }
    Ok(next.run(request).await)
}
