//! What can go wrong talking to a server, each case one clear line.

use flotilla_api::{ErrorBody, REQUEST_ID_HEADER};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The longest piece of a non-JSON error answer quoted in a message.
const MAX_QUOTED: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status (its `ErrorBody`, or the bare status).
    #[error("{message} ({status}{})", request_suffix(.request_id))]
    Api { status: u16, title: String, message: String, request_id: String },
    /// The server could not be reached, or the connection failed mid-answer.
    #[error("cannot reach {url}: {}", root_cause(.error))]
    Transport { url: String, error: reqwest::Error },
    /// The server answered success with a body this client does not understand.
    #[error("unexpected answer from {url} ({status}): {reason}")]
    Decode { url: String, status: u16, reason: String },
    /// The base URL given to [`crate::Client::new`] is not an http(s) URL.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The CA certificate given to [`crate::Client::with_ca`] is not PEM.
    #[error("invalid CA certificate: {0}")]
    CaCert(String),
    /// A local file to send could not be read.
    #[error("cannot read {path}: {error}")]
    File { path: String, error: std::io::Error },
    /// The server did not open the WebSocket it was asked for.
    #[error("cannot open a session at {url}: {error}")]
    WebSocket { url: String, error: crate::websocket::WebSocketError },
}

impl ClientError {
    /// The HTTP status of an API error; `None` when no answer came back.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            ClientError::Transport { .. }
            | ClientError::InvalidUrl { .. }
            | ClientError::CaCert(_)
            | ClientError::File { .. }
            | ClientError::WebSocket { .. } => None,
        }
    }

    /// An error answer: the server's `ErrorBody` when it sent one, else the status and some of the body.
    pub(crate) fn from_answer(status: StatusCode, header_request_id: Option<String>, body: &[u8]) -> Self {
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
            return ClientError::Api { status: status.as_u16(), title: error.title, message: error.message, request_id: error.request_id };
        }
        let text = String::from_utf8_lossy(body);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let message = match text.char_indices().nth(MAX_QUOTED) {
            _ if text.is_empty() => title.to_lowercase(),
            Some((cut, _)) => format!("{}: {}...", title.to_lowercase(), &text[..cut]),
            None => format!("{}: {text}", title.to_lowercase()),
        };
        ClientError::Api { status: status.as_u16(), title, message, request_id: header_request_id.unwrap_or_default() }
    }
}

/// The request id a response carries in its `x-request-id` header.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn request_suffix(request_id: &str) -> String {
    if request_id.is_empty() { String::new() } else { format!(", request {request_id}") }
}

/// The innermost cause of a transport error ("Connection refused"), which says more than reqwest's
/// own "error sending request".
fn root_cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_decoded() {
        let body = br#"{"error":{"code":404,"title":"Not Found","message":"user \"bob\" not found","request_id":"0192abc"}}"#;
        let err = ClientError::from_answer(StatusCode::NOT_FOUND, Some("header-id".into()), body);
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.to_string(), r#"user "bob" not found (404, request 0192abc)"#);
        let ClientError::Api { title, request_id, .. } = err else { panic!("not an API error") };
        assert_eq!((title.as_str(), request_id.as_str()), ("Not Found", "0192abc"));
    }

    #[test]
    fn other_error_answers_still_make_one_line() {
        let err = ClientError::from_answer(StatusCode::BAD_GATEWAY, Some("r1".into()), b"<html>\n<b>upstream</b>\n</html>\n");
        assert_eq!(err.to_string(), "bad gateway: <html> <b>upstream</b> </html> (502, request r1)");

        let err = ClientError::from_answer(StatusCode::UNAUTHORIZED, None, b"");
        assert_eq!(err.to_string(), "unauthorized (401)");

        let long = "x".repeat(1000);
        let err = ClientError::from_answer(StatusCode::INTERNAL_SERVER_ERROR, None, long.as_bytes());
        let line = err.to_string();
        assert!(line.len() < 300 && line.contains("..."), "{line}");
        assert!(!line.contains('\n'));
    }

    #[tokio::test]
    async fn unreachable_servers_are_named() {
        // A port that was just free: nothing listens there, so the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = crate::Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = client.version().await.unwrap_err();
        assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
        let line = err.to_string();
        assert!(line.starts_with(&format!("cannot reach http://127.0.0.1:{port}/v1: ")), "{line}");
        assert!(line.to_lowercase().contains("refused"), "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(err.status(), None);
    }
}
