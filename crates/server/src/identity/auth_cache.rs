//! What a token resolved to, kept for a second, so a busy client's requests cost no query. An
//! identity write on this server (revocation, password, role, disable) forgets everything at
//! once, so it takes effect here immediately; on another server sharing the database, within
//! [`AUTH_CACHE_TTL`]. Only tokens that were accepted are kept, and each hit checks expiry again.

use super::principal::Principal;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an accepted token is believed without asking the store again.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(1);
/// Tokens kept at most; past it the stale ones go, and everything when none is stale.
const MAX_TOKENS: usize = 10_000;

/// Principals by their token's digest, with when they were read.
#[derive(Debug, Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl AuthCache {
    /// The principal of `digest`, when it was read less than [`AUTH_CACHE_TTL`] ago and its
    /// token has not expired since.
    pub fn get(&self, digest: &str) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (principal, read_at) = entries.get(digest)?;
        (read_at.elapsed() < AUTH_CACHE_TTL && flotilla_core::now() < principal.expires_at).then(|| principal.clone())
    }

    pub fn put(&self, digest: String, principal: Principal) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TOKENS {
            entries.retain(|_, (_, read_at)| read_at.elapsed() < AUTH_CACHE_TTL);
            if entries.len() >= MAX_TOKENS {
                entries.clear();
            }
        }
        entries.insert(digest, (principal, Instant::now()));
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Route layer of the identity routes: after every write, the cache is forgotten.
pub async fn forget_on_write(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    if writes {
        state.auth.clear();
    }
    response
}
