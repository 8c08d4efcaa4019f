//! The error body every failed request answers with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": {...}}`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// The HTTP status code.
    pub code: u16,
    /// The status' reason phrase, e.g. `Bad Request`.
    pub title: String,
    /// What went wrong, naming the field and the value where one is at fault.
    pub message: String,
    /// The id of the request, also found in the server's logs.
    pub request_id: String,
}
