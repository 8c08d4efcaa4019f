//! Image wire types: uploaded `docker save` archives.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Header a client may send with the archive's hex sha256; the upload fails if it differs.
pub const IMAGE_SHA256_HEADER: &str = "x-image-sha256";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Image {
    pub id: Uuid,
    /// The reference containers use.
    pub name: String,
    pub tags: Vec<String>,
    pub project_id: Uuid,
    pub public: bool,
    pub size_bytes: u64,
    /// Hex sha256 of the archive.
    pub sha256: String,
    /// Docker's image id.
    pub docker_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageList {
    pub images: Vec<Image>,
    pub next: Option<String>,
}

/// `POST /v1/images` query: the body is the raw archive.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageUploadQuery {
    /// Reference to use instead of the archive's first tag.
    pub name: Option<String>,
    /// Visible to every project (admins only).
    pub public: Option<bool>,
}
