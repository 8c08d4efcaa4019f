//! Identity at a federated region: a token unknown here is validated by the central and the
//! answer cached for the TTL; while the central is unreachable (or failing) a cached validation
//! is served until the token itself expires; a 401 from the central drops it.

use super::link::{CentralLink, LinkError};
use crate::error::ApiError;
use crate::identity::principal::Principal;
use crate::state::AppState;
use flotilla_api::region::{TokenValidate, ValidatedToken};
use flotilla_core::{Name, Timestamp};
use flotilla_store::VouchedIdentity;
use reqwest::Method;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a request holding a cached (if stale) validation waits for the central's new one.
const REVALIDATION_WAIT: Duration = Duration::from_secs(2);
/// Entries beyond which a new one first sweeps out those whose tokens expired.
const SWEEP_ABOVE: usize = 10_000;

/// One validation: who the token is, and when the central said so.
#[derive(Debug, Clone)]
struct Validation {
    principal: Principal,
    at: Instant,
}

/// The central's validations by token digest.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Validation>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> TokenCache {
        TokenCache { ttl, entries: Mutex::default() }
    }

    fn get(&self, digest: &str) -> Option<Validation> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(digest).cloned()
    }

    fn put(&self, digest: String, principal: Principal, now: Timestamp) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= SWEEP_ABOVE {
            entries.retain(|_, v| v.principal.expires_at > now);
        }
        entries.insert(digest, Validation { principal, at: Instant::now() });
    }

    fn forget(&self, digest: &str) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(digest);
    }
}

/// Whether a refusal means the central could not answer for the token (it failed or was cut
/// off), rather than that the token is bad.
fn central_failed(error: &LinkError) -> bool {
    match error {
        LinkError::Unreachable { .. } | LinkError::Decode(_) => true,
        LinkError::Refused { status, .. } => *status >= 500,
        LinkError::NotRegistered | LinkError::Client(_) => false,
    }
}

/// The principal of a token this region does not hold, as its central vouches for it.
pub async fn vouched(state: &AppState, link: &CentralLink, secret: &str, digest: &str) -> Result<Principal, ApiError> {
    let now = flotilla_core::now();
    let cached = link.tokens.get(digest).filter(|v| v.principal.expires_at > now);
    if let Some(fresh) = cached.as_ref().filter(|v| v.at.elapsed() < link.tokens.ttl) {
        return Ok(fresh.principal.clone());
    }
    let asked = match &cached {
        // Known to be out of reach (the link's other calls say so): the cached answer, at once.
        Some(stale) if !link.reachability().reachable => return Ok(stale.principal.clone()),
        // A cached answer waits for the central only briefly: a silent central must not stall every request.
        Some(_) => tokio::time::timeout(REVALIDATION_WAIT, ask(link, secret))
            .await
            .unwrap_or_else(|_| Err(LinkError::Unreachable { url: link.url().to_owned(), reason: "no answer in time".into() })),
        None => ask(link, secret).await,
    };
    match asked {
        Ok(answer) => {
            let principal = principal(answer)?;
            state
                .store
                .keep_vouched_identity(&VouchedIdentity {
                    user_id: principal.user_id,
                    user_name: principal.user_name.clone(),
                    project_id: principal.project_id,
                    project_name: principal.project_name.clone(),
                })
                .await?;
            link.tokens.put(digest.to_owned(), principal.clone(), now);
            Ok(principal)
        }
        Err(error) if central_failed(&error) => match cached {
            Some(stale) => Ok(stale.principal),
            None => Err(ApiError::Unavailable(format!("cannot validate the token: {error}; log in again once the central answers"))),
        },
        Err(LinkError::NotRegistered) => {
            Err(ApiError::Unavailable(format!("{}: tokens cannot be validated yet", LinkError::NotRegistered)))
        }
        Err(error) => {
            link.tokens.forget(digest);
            tracing::debug!(%error, "the central refused a token");
            Err(ApiError::Unauthorized("token is invalid, expired or revoked".into()))
        }
    }
}

async fn ask(link: &CentralLink, secret: &str) -> Result<ValidatedToken, LinkError> {
    link.call(Method::POST, "/v1/federation/tokens/validate", Some(&TokenValidate { token: secret.to_owned() })).await
}

/// The central's answer as this region's principal.
fn principal(answer: ValidatedToken) -> Result<Principal, ApiError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| ApiError::Internal(format!("the central vouched with an unreadable {what}: {e}"));
    Ok(Principal {
        token_id: flotilla_core::TokenId(answer.token_id),
        user_id: flotilla_core::UserId(answer.user_id),
        user_name: Name::parse("user_name", &answer.user_name).map_err(|e| corrupt("user name", &e))?,
        project_id: flotilla_core::ProjectId(answer.project_id),
        project_name: Name::parse("project_name", &answer.project_name).map_err(|e| corrupt("project name", &e))?,
        role: answer.role.parse().map_err(|e| corrupt("role", &e))?,
        created_at: answer.created_at,
        expires_at: answer.expires_at,
    })
}
