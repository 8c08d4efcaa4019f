//! A region's HTTP link to its central: one client, the central's base URL, and the region's
//! credential once registered. Every cross-region call of a region goes through here.

use chrono::{DateTime, Utc};
use flotilla_api::ErrorBody;
use flotilla_api::region::REGION_CREDENTIAL_HEADER;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// Time allowed for one call to the central.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to the central did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// No answer: the central is down or the network between is cut.
    #[error("{url} unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    /// The central answered with an error.
    #[error("refused ({status}): {message}")]
    Refused { status: u16, message: String },
    /// The region has no credential yet (registration has not completed).
    #[error("this region is not registered with its central yet")]
    NotRegistered,
    /// The answer was not what the API promises.
    #[error("central answered something unreadable: {0}")]
    Decode(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl LinkError {
    /// True when the central could not be reached at all (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, LinkError::Unreachable { .. })
    }
}

/// Whether the central answered the last call, and since when that has been so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reachability {
    pub reachable: bool,
    pub since: DateTime<Utc>,
}

/// The link itself.
#[derive(Debug)]
pub struct CentralLink {
    http: reqwest::Client,
    base: String,
    credential: RwLock<Option<String>>,
    /// What the calls so far found; every call updates it, an outage is logged once.
    reachability: Mutex<Reachability>,
    /// The central's validations of tokens, while they may be trusted.
    pub tokens: super::tokens::TokenCache,
    /// The other regions whose credentials the central vouched for lately.
    pub peers: super::peer::PeerCredentials,
}

impl CentralLink {
    /// A link to `base` (no trailing slash needed), trusting `ca_cert` (PEM) besides the system's roots.
    pub fn new(base: &str, ca_cert: Option<&[u8]>) -> Result<CentralLink, LinkError> {
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).timeout(CALL_TIMEOUT);
        if let Some(pem) = ca_cert {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| LinkError::Client(format!("CA certificate: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| LinkError::Client(e.to_string()))?;
        Ok(CentralLink {
            http,
            base: base.trim_end_matches('/').to_owned(),
            credential: RwLock::new(None),
            reachability: Mutex::new(Reachability { reachable: true, since: Utc::now() }),
            tokens: super::tokens::TokenCache::new(super::DEFAULT_TOKEN_CACHE_TTL),
            peers: Default::default(),
        })
    }

    /// The same link, trusting the central's validations of tokens for `ttl`.
    pub fn with_token_cache_ttl(self, ttl: Duration) -> CentralLink {
        CentralLink { tokens: super::tokens::TokenCache::new(ttl), ..self }
    }

    /// Whether the central answered the last call (any answer counts, a refusal too).
    pub fn reachability(&self) -> Reachability {
        *self.reachability.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a call's outcome; the first failure of an outage and the recovery are logged.
    fn observe(&self, reachable: bool, reason: &str) {
        let mut current = self.reachability.lock().unwrap_or_else(|e| e.into_inner());
        if current.reachable == reachable {
            return;
        }
        *current = Reachability { reachable, since: Utc::now() };
        if reachable {
            tracing::info!(central = %self.base, "central reachable again");
        } else {
            tracing::warn!(central = %self.base, reason, "central unreachable: serving tokens it validated before until they expire");
        }
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The credential the central gave this region; sent on every later call.
    pub fn set_credential(&self, credential: String) {
        *self.credential.write().unwrap_or_else(|e| e.into_inner()) = Some(credential);
    }

    pub fn is_registered(&self) -> bool {
        self.credential.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Calls `path` (e.g. `/v1/federation/heartbeat`) with the region's credential and a JSON body,
    /// answering the JSON reply.
    pub async fn call<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, LinkError> {
        let bytes = self.send(method, path, body, true).await?;
        serde_json::from_slice(&bytes).map_err(|e| LinkError::Decode(e.to_string()))
    }

    /// As [`call`](Self::call) for calls whose answer carries nothing needed.
    pub async fn call_no_reply<B: Serialize + ?Sized>(&self, method: Method, path: &str, body: Option<&B>) -> Result<(), LinkError> {
        self.send(method, path, body, true).await.map(drop)
    }

    /// As [`call`](Self::call) without the credential: registration, before there is one.
    pub async fn call_unregistered<B: Serialize + ?Sized, R: DeserializeOwned>(&self, path: &str, body: &B) -> Result<R, LinkError> {
        let bytes = self.send(Method::POST, path, Some(body), false).await?;
        serde_json::from_slice(&bytes).map_err(|e| LinkError::Decode(e.to_string()))
    }

    /// Calls another region's API at `base` with this region's credential (which that region
    /// has the central vouch for), answering the JSON reply.
    pub async fn call_region<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, LinkError> {
        let bytes = self.send_to(base, method, path, body, true).await?;
        serde_json::from_slice(&bytes).map_err(|e| LinkError::Decode(e.to_string()))
    }

    /// As [`call_region`](Self::call_region) for calls whose answer carries nothing needed.
    pub async fn call_region_no_reply<B: Serialize + ?Sized>(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), LinkError> {
        self.send_to(base, method, path, body, true).await.map(drop)
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        credential: bool,
    ) -> Result<bytes::Bytes, LinkError> {
        let answer = self.send_to(&self.base, method, path, body, credential).await;
        match &answer {
            Err(LinkError::Unreachable { reason, .. }) => self.observe(false, reason),
            _ => self.observe(true, ""),
        }
        answer
    }

    /// One call to `base` (the central's or another region's API).
    async fn send_to<B: Serialize + ?Sized>(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<&B>,
        credential: bool,
    ) -> Result<bytes::Bytes, LinkError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let mut request = self.http.request(method, &url);
        if credential {
            let credential = self.credential.read().unwrap_or_else(|e| e.into_inner()).clone().ok_or(LinkError::NotRegistered)?;
            request = request.header(REGION_CREDENTIAL_HEADER, credential);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|bytes| (status, bytes))
            }
            Err(e) => Err(e),
        };
        let (status, bytes) = match answer {
            Ok(answer) => answer,
            Err(e) => return Err(LinkError::Unreachable { url: base.to_owned(), reason: e.to_string() }),
        };
        if status.is_success() {
            return Ok(bytes);
        }
        Err(refusal(status, &bytes))
    }
}

/// The central's error message: its JSON error body's `message`, else the body as text.
fn refusal(status: StatusCode, body: &[u8]) -> LinkError {
    let message =
        serde_json::from_slice::<ErrorBody>(body).map(|b| b.error.message).unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
    LinkError::Refused { status: status.as_u16(), message }
}
