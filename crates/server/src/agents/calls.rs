//! Calls from the server to a host's agent: restart, kill, logs, exec, stats, top, rename, limits,
//! and a container's files (archive).
//! Over mutual TLS: the server trusts only the certificate the agent sent at join and presents its
//! own callback identity, which the agent pinned from the join's answer.

use crate::error::ApiError;
use crate::state::AppState;
use bytes::Bytes;
use flotilla_api::agent::Observed;
use flotilla_api::{ContainerStats, ContainerTop, ErrorBody, ExecRequest, ExecResult, ExecSession, LimitsUpdate, LogsQuery, RenameRequest};
use flotilla_client::websocket::{self, Socket};
use flotilla_core::container::Container;
use futures::Stream;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Longest an agent call may take (an exec can run for a while); logs stream without a limit.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The agent's route of a container's files.
const ARCHIVE: &str = "archive";

/// One container's agent, ready to be called.
pub struct AgentCall {
    http: reqwest::Client,
    base: String,
    host: String,
}

/// An HTTP client that reaches only the agent holding `certificate`'s key, as the server's `identity`.
fn pinned_client(identity: &flotilla_tls::Identity, certificate: &str, host: &str) -> Result<reqwest::Client, ApiError> {
    if certificate.is_empty() {
        return Err(ApiError::Conflict(format!(
            "the agent of host {host} has not joined since callbacks need its certificate: restart it"
        )));
    }
    let pinned = flotilla_tls::certificates("agent certificate", certificate.as_bytes())
        .map_err(|e| ApiError::Internal(format!("host {host}: {e}")))?
        .swap_remove(0);
    let tls = flotilla_tls::pinned_client_config(pinned, identity).map_err(|e| ApiError::Internal(format!("callback TLS: {e}")))?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| ApiError::Internal(format!("callback client: {e}")))
}

impl AgentCall {
    /// The agent of the host `container` is placed on; 409 when it has none.
    pub async fn to(state: &AppState, container: &Container, host_name: Option<&str>) -> Result<AgentCall, ApiError> {
        let host =
            container.host_id.ok_or_else(|| ApiError::Conflict(format!("container {} is not placed on any host", container.name)))?;
        let callback = state.store.host_callback(host).await?;
        let name = host_name.unwrap_or("(unknown)").to_owned();
        Ok(AgentCall {
            http: pinned_client(&state.agents.identity, &callback.certificate, &name)?,
            base: format!("{}/agent/v1/containers/{}", callback.advertise, container.id),
            host: name,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &impl Serialize,
        body: Option<&impl Serialize>,
    ) -> Result<reqwest::Response, ApiError> {
        let mut request = self.http.request(method, format!("{}/{path}", self.base)).query(query);
        if path != "logs" {
            request = request.timeout(CALL_TIMEOUT);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.dispatch(request, path).await
    }

    /// Sends `request` for `path`; an agent's error keeps its meaning (a 404 of `archive` is the
    /// container's path missing, any other the container missing on the host).
    async fn dispatch(&self, request: reqwest::RequestBuilder, path: &str) -> Result<reqwest::Response, ApiError> {
        let response = request.send().await.map_err(|e| ApiError::Unavailable(format!("agent of host {} unreachable: {e}", self.host)))?;
        if response.status().is_success() || response.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(response);
        }
        let status = response.status();
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body.error.message,
            Err(_) => status.to_string(),
        };
        Err(match status.as_u16() {
            404 if path == ARCHIVE => ApiError::NotFound(message),
            404 => ApiError::Conflict(format!("host {} does not hold the container: {message}", self.host)),
            409 => ApiError::Conflict(message),
            400 => ApiError::BadRequest(message),
            _ => ApiError::Unavailable(format!("agent of host {} failed: {message}", self.host)),
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &impl Serialize,
        body: Option<&impl Serialize>,
    ) -> Result<T, ApiError> {
        let response = self.send(method, path, query, body).await?;
        response.json().await.map_err(|e| ApiError::Unavailable(format!("agent of host {} answered badly: {e}", self.host)))
    }

    pub async fn restart(&self, timeout: Option<u32>) -> Result<Observed, ApiError> {
        self.json(Method::POST, "restart", &[("timeout", timeout)], None::<&()>).await
    }

    pub async fn kill(&self, signal: &str) -> Result<Observed, ApiError> {
        self.json(Method::POST, "kill", &[("signal", signal)], None::<&()>).await
    }

    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecResult, ApiError> {
        self.json(Method::POST, "exec", &(), Some(request)).await
    }

    /// The agent's interactive exec of `session`, as a WebSocket.
    pub async fn attach_exec(&self, session: &ExecSession) -> Result<Socket, ApiError> {
        let (request, key) = websocket::handshake(self.http.get(format!("{}/exec", self.base)).query(&session.query_pairs()));
        let response = self.dispatch(request, "exec").await?;
        websocket::open(response, &key).await.map_err(|e| ApiError::Unavailable(format!("agent of host {}: {e}", self.host)))
    }

    pub async fn stats(&self) -> Result<ContainerStats, ApiError> {
        self.json(Method::GET, "stats", &(), None::<&()>).await
    }

    pub async fn top(&self) -> Result<ContainerTop, ApiError> {
        self.json(Method::GET, "top", &(), None::<&()>).await
    }

    pub async fn rename(&self, name: &str) -> Result<(), ApiError> {
        self.send(Method::POST, "rename", &(), Some(&RenameRequest { name: name.to_owned() })).await.map(drop)
    }

    pub async fn update_limits(&self, limits: &LimitsUpdate) -> Result<(), ApiError> {
        self.send(Method::POST, "update", &(), Some(limits)).await.map(drop)
    }

    /// The tar of `path` in the container.
    pub async fn download(&self, path: &str) -> Result<Bytes, ApiError> {
        let response = self.send(Method::GET, ARCHIVE, &[("path", path)], None::<&()>).await?;
        response.bytes().await.map_err(|e| ApiError::Unavailable(format!("agent of host {} answered badly: {e}", self.host)))
    }

    /// Extracts `tar` into directory `path` of the container.
    pub async fn upload(&self, path: &str, tar: Bytes) -> Result<(), ApiError> {
        let request = self.http.put(format!("{}/{ARCHIVE}", self.base)).query(&[("path", path)]).timeout(CALL_TIMEOUT).body(tar);
        self.dispatch(request, ARCHIVE).await.map(drop)
    }

    /// The container's log as a stream of chunks (open-ended with `follow`).
    pub async fn logs(&self, query: &LogsQuery) -> Result<impl Stream<Item = Result<Bytes, reqwest::Error>> + use<>, ApiError> {
        Ok(self.send(Method::GET, "logs", query, None::<&()>).await?.bytes_stream())
    }
}
