//! The API's error type and its one mapping to HTTP status and the JSON error body.

use crate::http::request_id;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flotilla_api::{ErrorBody, ErrorDetail};
use flotilla_core::ValidationError;
use flotilla_core::resize::ResizeError;
use flotilla_store::StoreError;

/// Marks a response refused because a lock was held (see [`ApiError::Locked`]).
#[derive(Debug, Clone, Copy)]
pub struct LockConflict;

/// Every way a request can fail, each with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A 409 because another action holds the cluster's or node's lock; its response carries
    /// [`LockConflict`] so the metrics count it.
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unavailable(String),
    /// 421: the request belongs to another server of the federation (identity writes at a
    /// region go to the central; agents join regions, not the central). The message names it.
    #[error("{0}")]
    Misdirected(String),
    /// 429, with `Retry-After: retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Locked(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Misdirected(_) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::BadRequest(error.to_string())
    }
}

impl From<ResizeError> for ApiError {
    /// A refused resize or scale request: Senlin's own text, as its API answers it.
    fn from(error: ResizeError) -> Self {
        ApiError::BadRequest(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => ApiError::NotFound(error.to_string()),
            StoreError::Unauthenticated(_) => ApiError::Unauthorized(error.to_string()),
            StoreError::NameTaken { .. } | StoreError::Conflict(_) | StoreError::Ambiguous { .. } => ApiError::Conflict(error.to_string()),
            StoreError::Locked(_) => ApiError::Locked(error.to_string()),
            StoreError::BadMarker(_) | StoreError::Invalid(_) => ApiError::BadRequest(error.to_string()),
            StoreError::Quota(_) => ApiError::Forbidden(error.to_string()),
            StoreError::Connect { .. } | StoreError::BlocksExhausted { .. } => ApiError::Unavailable(error.to_string()),
            StoreError::UnsupportedUrl(_)
            | StoreError::NoOnlineBackup
            | StoreError::Corrupt(_)
            | StoreError::Migrate(_)
            | StoreError::Database(_) => ApiError::Internal(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let message = match &self {
            ApiError::Internal(_) => "internal error; the server log has the details under this request id".to_owned(),
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: status.as_u16(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                message,
                request_id: request_id::current(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        match self {
            ApiError::TooManyRequests { retry_after, .. } => {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(retry_after));
            }
            ApiError::Locked(_) => {
                response.extensions_mut().insert(LockConflict);
            }
            _ => {}
        }
        response
    }
}
