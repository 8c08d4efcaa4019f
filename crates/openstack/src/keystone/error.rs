//! Keystone's error body: `{"error": {"code", "title", "message"}}`.

use crate::Answer;
use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed identity request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeystoneError {
    /// The request is malformed; the message names the field and the value.
    #[error("{0}")]
    BadRequest(String),
    /// Flotilla's own API answered something this dialect cannot read (a bug).
    #[error("{0}")]
    Unreadable(String),
    /// What Flotilla's own API answered, passed on (401 stays 401, 429 keeps its `Retry-After`).
    #[error("{message}")]
    Flotilla { status: StatusCode, message: String, headers: HeaderMap },
}

impl KeystoneError {
    /// The failure `answer` reports.
    pub(crate) fn from_answer(answer: &Answer) -> Self {
        let mut headers = HeaderMap::new();
        if let Some(retry) = answer.headers.get(header::RETRY_AFTER) {
            headers.insert(header::RETRY_AFTER, retry.clone());
        }
        KeystoneError::Flotilla { status: answer.status, message: answer.message(), headers }
    }
}

impl IntoResponse for KeystoneError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (status, headers) = match self {
            KeystoneError::BadRequest(_) => (StatusCode::BAD_REQUEST, HeaderMap::new()),
            KeystoneError::Unreadable(_) => (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new()),
            KeystoneError::Flotilla { status, headers, .. } => (status, headers),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        (status, headers, Json(json!({"error": {"code": status.as_u16(), "title": title, "message": message}}))).into_response()
    }
}
