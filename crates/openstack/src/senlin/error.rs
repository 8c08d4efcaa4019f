//! Senlin's error body (`{code, title, explanation, error: {code, message, type}}`) and the
//! mapping of Flotilla's `/v1` errors onto it.

use crate::Answer;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed Senlin request: its status, Senlin's exception type and the message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SenlinError {
    pub status: StatusCode,
    /// Senlin's exception class (`BadRequest`, `ResourceNotFound`, ...), the body's `error.type`.
    pub kind: &'static str,
    pub message: String,
}

impl SenlinError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, kind: "BadRequest", message: message.into() }
    }

    /// Senlin's 404 for a `kind` (`cluster`, `profile`, ...) no id, name or short id matches.
    pub fn not_found(kind: &str, key: &str) -> Self {
        Self { status: StatusCode::NOT_FOUND, kind: "ResourceNotFound", message: format!("The {kind} '{key}' could not be found.") }
    }

    /// Senlin's 400 for a name or short id several objects match.
    pub fn multiple(key: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "MultipleChoices",
            message: format!("Multiple results found matching the query criteria '{key}'. Please be more specific."),
        }
    }

    /// A `/v1` answer the dialect cannot read (a 500: a bug of the dialect).
    pub fn internal(message: impl Into<String>) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, kind: "InternalError", message: message.into() }
    }

    /// A path this API does not have.
    pub fn not_found_route() -> Self {
        Self { status: StatusCode::NOT_FOUND, kind: "HTTPNotFound", message: "The resource could not be found.".into() }
    }

    /// A method a path does not take (e.g. receiver updates, which Flotilla does not have).
    pub fn method_not_allowed() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            kind: "HTTPMethodNotAllowed",
            message: "The method is not supported for this resource by Flotilla's Senlin API.".into(),
        }
    }

    /// Senlin's 400 for a query parameter its list does not take.
    pub fn invalid_parameter(name: &str) -> Self {
        Self::bad_request(format!("Invalid parameter {name}"))
    }

    /// The failed answer of a `/v1` call, with Flotilla's message.
    pub fn from_answer(answer: &Answer) -> Self {
        let kind = match answer.status {
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "BadRequest",
            StatusCode::UNAUTHORIZED => "HTTPUnauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "ResourceNotFound",
            StatusCode::CONFLICT => "ActionConflict",
            StatusCode::NOT_ACCEPTABLE => "InvalidGlobalAPIVersion",
            status if status.is_server_error() => "InternalError",
            _ => "HTTPError",
        };
        Self { status: answer.status, kind, message: answer.message() }
    }
}

/// What webob says of each status, Senlin's `explanation`.
fn explanation(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        StatusCode::UNAUTHORIZED => "This server could not verify that you are authorized to access the document you requested.",
        StatusCode::FORBIDDEN => "Access was denied to this resource.",
        StatusCode::NOT_FOUND => "The resource could not be found.",
        StatusCode::NOT_ACCEPTABLE => "The resource could not be generated that was acceptable to your browser.",
        StatusCode::METHOD_NOT_ALLOWED => "The method is not allowed for this resource.",
        StatusCode::CONFLICT => "There was a conflict when trying to complete your request.",
        _ => "The server has either erred or is incapable of performing the requested operation.",
    }
}

impl IntoResponse for SenlinError {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({
            "code": code,
            "title": title,
            "explanation": explanation(self.status),
            "error": {"code": code, "message": self.message, "type": self.kind},
        });
        (self.status, Json(body)).into_response()
    }
}
