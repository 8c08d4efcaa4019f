//! `GET /v1`: what this server is.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub region: String,
}
