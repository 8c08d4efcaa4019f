//! The agent's client of the region server's `/v1/agent` API: join, heartbeat, long-poll for
//! assignments, reports, image fetch. A call answered 401 joins again and is retried once. Every
//! join presents the credential in use (saved in the state directory, when there is one) and the
//! join token; its answer's credential is saved, and the server's certificate pinned.

use crate::dns::NameUpstream;
use crate::error::AgentError;
use crate::reconcile::Upstream;
use crate::runtime::ArchiveStream;
use crate::state::StateFile;
use async_trait::async_trait;
use flotilla_api::ErrorBody;
use flotilla_api::agent::{AgentJoin, AgentJoined, Assignments, Heartbeat, NameAnswer, NameQuery, Reports};
use flotilla_tls::Pin;
use futures::{StreamExt, TryStreamExt};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::net::Ipv4Addr;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Time allowed for a short call (join, heartbeat, report).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for an image download, body included.
const IMAGE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Time allowed for a name's answer: a container's resolver waits for it.
const NAME_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest pause between join attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The HTTP client agents share (one per process is enough, even for thousands of simulated hosts),
/// trusting `ca_cert` (PEM) for the server's HTTPS besides the system's roots.
pub fn http_client(ca_cert: Option<&[u8]>) -> Result<reqwest::Client, AgentError> {
    let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
    if let Some(pem) = ca_cert {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| AgentError::Client(format!("CA certificate: {e}")))?;
        if certs.is_empty() {
            return Err(AgentError::Client("CA certificate: it holds no PEM certificate".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| AgentError::Client(e.to_string()))
}

/// A joined agent's link to its region.
#[derive(Debug)]
pub struct RegionClient {
    http: reqwest::Client,
    base: String,
    join: AgentJoin,
    retry_for: Duration,
    credential: RwLock<String>,
    rejoin: tokio::sync::Mutex<()>,
    state: Option<StateFile>,
    /// The server's callback certificate from the last join: the only client the listener admits.
    server_pin: Pin,
}

/// The server's error message: its JSON error body's `message`, else the body as text.
async fn refusal(what: &'static str, response: Response) -> AgentError {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&text).map(|b| b.error.message).unwrap_or(text);
    AgentError::Refused { what, status, message }
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

impl RegionClient {
    /// Joins the region (retrying an unreachable or unavailable server for `retry_for`), with the
    /// credential saved in `state` if there is one.
    pub async fn join(
        http: reqwest::Client,
        server: &str,
        join: AgentJoin,
        retry_for: Duration,
        state: Option<StateFile>,
    ) -> Result<(Self, AgentJoined), AgentError> {
        let saved = state.as_ref().map(StateFile::load).transpose()?.flatten();
        let client = Self {
            http,
            base: server.trim_end_matches('/').to_owned(),
            join,
            retry_for,
            credential: RwLock::new(saved.unwrap_or_default()),
            rejoin: tokio::sync::Mutex::new(()),
            state,
            server_pin: Pin::empty(),
        };
        let joined = client.send_join().await?;
        Ok((client, joined))
    }

    /// The certificate the server presents on its calls, as of the last join.
    pub fn server_pin(&self) -> Pin {
        self.server_pin.clone()
    }

    /// Keeps what a join answered: the credential (saved) and the server's certificate (pinned).
    fn joined(&self, joined: &AgentJoined) -> Result<(), AgentError> {
        let server = flotilla_tls::certificates("server certificate", joined.server_certificate.as_bytes())?.swap_remove(0);
        self.server_pin.set(server);
        if let Some(state) = &self.state {
            state.save(joined.host_id, &joined.credential)?;
        }
        self.set_credential(joined.credential.clone());
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn credential(&self) -> String {
        self.credential.read().map(|c| c.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn set_credential(&self, credential: String) {
        match self.credential.write() {
            Ok(mut c) => *c = credential,
            Err(poisoned) => *poisoned.into_inner() = credential,
        }
    }

    async fn send_join(&self) -> Result<AgentJoined, AgentError> {
        let url = self.url("/v1/agent/join");
        let deadline = Instant::now() + self.retry_for;
        let mut backoff = Duration::from_millis(100);
        let mut join = self.join.clone();
        join.credential = Some(self.credential()).filter(|c| !c.is_empty());
        loop {
            let last_error = match self.http.post(&url).json(&join).timeout(CALL_TIMEOUT).send().await {
                Ok(response) if response.status().is_success() => {
                    let joined: AgentJoined =
                        response.json().await.map_err(|e| AgentError::Decode { what: "join", message: e.to_string() })?;
                    self.joined(&joined)?;
                    return Ok(joined);
                }
                Ok(response) if retryable(response.status()) => refusal("join", response).await,
                Ok(response) => return Err(refusal("join", response).await),
                Err(e) => AgentError::Unreachable { url: url.clone(), message: e.to_string() },
            };
            if Instant::now() + backoff > deadline {
                return Err(last_error);
            }
            tracing::debug!(error = %last_error, "join failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Joins again when `stale` is still the credential in use (another call may have done it already).
    async fn rejoin(&self, stale: &str) -> Result<(), AgentError> {
        let _one_at_a_time = self.rejoin.lock().await;
        if self.credential() == stale {
            tracing::info!(host = %self.join.name, "credential refused; joining again");
            self.send_join().await?;
        }
        Ok(())
    }

    /// Sends a request with the credential; on 401 joins again and sends it once more.
    async fn call(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        timeout: Duration,
        body: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, AgentError> {
        let url = self.url(path);
        let mut rejoined = false;
        loop {
            let credential = self.credential();
            let request = body(self.http.request(method.clone(), &url).bearer_auth(&credential).timeout(timeout));
            let response = request.send().await.map_err(|e| AgentError::Unreachable { url: url.clone(), message: e.to_string() })?;
            match response.status() {
                StatusCode::UNAUTHORIZED if !rejoined => {
                    self.rejoin(&credential).await?;
                    rejoined = true;
                }
                status if status.is_success() => return Ok(response),
                _ => return Err(refusal(what, response).await),
            }
        }
    }

    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<(), AgentError> {
        self.call("heartbeat", Method::POST, "/v1/agent/heartbeat", CALL_TIMEOUT, |r| r.json(heartbeat)).await.map(drop)
    }

    /// Long-polls: answered at once when the host's revision is not `since`, else within `wait_secs`;
    /// networks come without their names (`name_lookup`: [`NameUpstream`] asks for them).
    pub async fn assignments(&self, since: Option<u64>, wait_secs: u64) -> Result<Assignments, AgentError> {
        let path = match since {
            Some(revision) => format!("/v1/agent/assignments?since={revision}&wait={wait_secs}&name_lookup=true"),
            None => format!("/v1/agent/assignments?wait={wait_secs}&name_lookup=true"),
        };
        let timeout = Duration::from_secs(wait_secs) + Duration::from_secs(15);
        let response = self.call("assignments", Method::GET, &path, timeout, |r| r).await?;
        response.json().await.map_err(|e| AgentError::Decode { what: "assignments", message: e.to_string() })
    }
}

#[async_trait]
impl NameUpstream for RegionClient {
    async fn addresses(&self, network: Uuid, name: &str) -> Result<Vec<Ipv4Addr>, AgentError> {
        let query = NameQuery { network, name: name.to_owned() };
        let response = self.call("name", Method::GET, "/v1/agent/names", NAME_TIMEOUT, |r| r.query(&query)).await?;
        let answer: NameAnswer = response.json().await.map_err(|e| AgentError::Decode { what: "name", message: e.to_string() })?;
        Ok(answer.addresses.iter().filter_map(|a| a.parse().ok()).collect())
    }
}

#[async_trait]
impl Upstream for RegionClient {
    async fn report(&self, reports: &Reports) -> Result<(), AgentError> {
        self.call("reports", Method::POST, "/v1/agent/reports", CALL_TIMEOUT, |r| r.json(reports)).await.map(drop)
    }

    async fn image(&self, image_id: Uuid) -> Result<ArchiveStream, AgentError> {
        let path = format!("/v1/agent/images/{image_id}");
        let response = self.call("image", Method::GET, &path, IMAGE_TIMEOUT, |r| r).await?;
        Ok(response.bytes_stream().map_err(std::io::Error::other).boxed())
    }
}
