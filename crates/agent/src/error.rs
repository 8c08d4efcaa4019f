//! The agent's errors: starting, talking to the region server, and the runtime beneath.

use crate::runtime::RuntimeError;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("container runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot reach the region server at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The server answered with an error status; `message` is its error body's message.
    #[error("the region server refused {what} ({status}): {message}")]
    Refused { what: &'static str, status: u16, message: String },
    #[error("unexpected answer from the region server to {what}: {message}")]
    Decode { what: &'static str, message: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("agent state {path}: {source}")]
    State { path: std::path::PathBuf, source: std::io::Error },
    #[error("TLS: {0}")]
    Tls(#[from] flotilla_tls::TlsError),
    #[error("overlay: {0}")]
    Overlay(#[from] crate::overlay::OverlayError),
}
