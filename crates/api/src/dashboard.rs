//! Dashboard wire types: the one-time sign-in link `flotilla dashboard` opens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/dashboard/links`: a link that signs a browser in as the caller, once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DashboardLink {
    /// The link's path on this server (`/ui/link/...`): add it to the server's URL.
    pub path: String,
    /// The link is refused after this time, and after its first use.
    pub expires_at: DateTime<Utc>,
}
