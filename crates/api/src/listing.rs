//! Query parameters shared by every list endpoint.

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Id of the last object of the previous page (its `next`).
    pub marker: Option<String>,
    /// `name`, `created_at` or `updated_at`, optionally `:asc` or `:desc`.
    pub sort: Option<String>,
    /// Only objects with this exact name.
    pub name: Option<String>,
    /// Admins only: list across every project.
    pub all_projects: Option<bool>,
}

/// The label selector of a list of labelled objects (containers, clusters, nodes, hosts,
/// profiles, networks, volumes).
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LabelQuery {
    /// Comma-separated terms that must all match the object's labels (its metadata; a host's
    /// labels): `key=value` (or `key==value`), `key!=value` (missing or another value), `key`
    /// (present), `!key` (missing). Keys are letters, digits, `-`, `_`, `.` and `/`.
    #[param(example = "app=web,tier!=db")]
    pub labels: Option<String>,
}
