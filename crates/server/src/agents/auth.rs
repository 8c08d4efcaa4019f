//! Host credentials: what a join hands out, and the extractor that turns one back into its host.

use crate::error::ApiError;
use crate::identity::secret;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use flotilla_core::HostId;

/// The host whose agent is calling, proven by `Authorization: Bearer <credential>` (believed once
/// accepted: `AppState::agent_auth`, forgotten by this server's joins and host deletes at once,
/// and by every server's revision follower when it sees the credential replaced or the host gone).
#[derive(Debug, Clone, Copy)]
pub struct AgentHost(pub HostId);

impl FromRequestParts<AppState> for AgentHost {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credential = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::Unauthorized("agent calls need Authorization: Bearer <host credential>".into()))?;
        let digest = secret::digest(credential.trim());
        if let Some(host) = state.agent_auth.get(&digest) {
            return Ok(AgentHost(host));
        }
        let host = state
            .store
            .host_by_credential(&digest)
            .await
            .map_err(|_| ApiError::Unauthorized("host credential is invalid: join again".into()))?;
        state.agent_auth.put(digest, host);
        Ok(AgentHost(host))
    }
}
