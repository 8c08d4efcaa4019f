//! Errors of the interactive calls, answered with the same JSON body as the region server's.

use crate::runtime::RuntimeError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flotilla_api::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("no container {0} on this host")]
    UnknownContainer(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
}

impl CallbackError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownContainer(_) | Self::Runtime(RuntimeError::NotFound(_)) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) | Self::Runtime(RuntimeError::InvalidArgument(_)) => StatusCode::BAD_REQUEST,
            Self::Runtime(
                RuntimeError::Conflict(_) | RuntimeError::InUse(_) | RuntimeError::ImageMissing(_) | RuntimeError::Unsupported { .. },
            ) => StatusCode::CONFLICT,
            Self::Runtime(RuntimeError::Engine { .. } | RuntimeError::Injected { .. }) => StatusCode::BAD_GATEWAY,
        }
    }
}

impl IntoResponse for CallbackError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: status.as_u16(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                message: self.to_string(),
                request_id: super::request_id(),
            },
        };
        (status, Json(body)).into_response()
    }
}
