//! What a secret resolved to, kept a while, so a busy caller's requests cost no query: a user's
//! token its principal (for [`AUTH_CACHE_TTL`]), an agent's credential its host (for
//! [`AGENT_CREDENTIAL_TTL`]). A write on this server that can revoke one (for tokens an identity
//! write: revocation, password, role, disable; for host credentials a join or a host's delete)
//! forgets everything at once, so it takes effect here immediately; on another server sharing the
//! database, a token within its TTL, a credential when the server's revision follower next sees
//! its host's credential replaced or the host gone (every second). Only secrets that were
//! accepted are kept; a token's expiry is checked again on each hit.

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
/// How long an accepted host credential is believed without asking the store again: every
/// server's revision follower forgets it within a second of its replacement or its host's delete.
pub const AGENT_CREDENTIAL_TTL: Duration = Duration::from_secs(300);
/// Secrets kept at most; past it the stale ones go, and everything when none is stale.
const MAX_SECRETS: usize = 10_000;

/// What secrets resolved to (`V`), by their digest, with when they were read.
#[derive(Debug)]
pub struct AuthCache<V> {
    entries: Mutex<HashMap<String, (V, Instant)>>,
    ttl: Duration,
}

impl<V> Default for AuthCache<V> {
    /// A cache of tokens: [`AUTH_CACHE_TTL`].
    fn default() -> Self {
        AuthCache::with_ttl(AUTH_CACHE_TTL)
    }
}

impl<V> AuthCache<V> {
    /// A cache believing each secret for `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        AuthCache { entries: Mutex::default(), ttl }
    }
}

impl<V: Clone> AuthCache<V> {
    /// What `digest` resolved to, when it was read less than its TTL ago.
    pub fn get(&self, digest: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (value, read_at) = entries.get(digest)?;
        (read_at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn put(&self, digest: String, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_SECRETS {
            entries.retain(|_, (_, read_at)| read_at.elapsed() < self.ttl);
            if entries.len() >= MAX_SECRETS {
                entries.clear();
            }
        }
        entries.insert(digest, (value, Instant::now()));
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Forgets the secrets `keep` refuses (given each one's digest and what it resolved to).
    pub fn retain(&self, keep: impl Fn(&str, &V) -> bool) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).retain(|digest, (value, _)| keep(digest, value));
    }
}

/// Route layer of the identity routes: after every write, the tokens' cache is forgotten.
pub async fn forget_on_write(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    if writes {
        state.auth.clear();
    }
    response
}
