//! Zun's error body: `{"errors": [{request_id, code, status, title, detail, links}]}`.

use crate::Answer;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed container request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZunError {
    /// The request is malformed or asks for what Flotilla does not do; the message names the
    /// field and the value.
    #[error("{0}")]
    BadRequest(String),
    /// A microversion outside the range this API speaks.
    #[error("{0}")]
    NotAcceptable(String),
    /// Flotilla's own API answered something this dialect cannot read (a bug).
    #[error("{0}")]
    Unreadable(String),
    /// What Flotilla's own API answered, passed on (401, 403, 404, 409 stay what they are).
    #[error("{message}")]
    Flotilla { status: StatusCode, message: String },
}

impl ZunError {
    /// The failure `answer` reports.
    pub(crate) fn from_answer(answer: &Answer) -> Self {
        ZunError::Flotilla { status: answer.status, message: answer.message() }
    }

    fn status(&self) -> StatusCode {
        match self {
            ZunError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ZunError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ZunError::Unreadable(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ZunError::Flotilla { status, .. } => *status,
        }
    }
}

impl IntoResponse for ZunError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let code = format!("container.{}", title.replace(' ', ""));
        let error =
            json!({"request_id": "", "code": code, "status": status.as_u16(), "title": title, "detail": self.to_string(), "links": []});
        (status, Json(json!({"errors": [error]}))).into_response()
    }
}

/// Turns a failed answer into its error.
pub(crate) fn check(answer: Answer) -> Result<Answer, ZunError> {
    if answer.status.is_success() { Ok(answer) } else { Err(ZunError::from_answer(&answer)) }
}
