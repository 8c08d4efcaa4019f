//! Zun container API v1 at `/container`.

use crate::{Api, Site};
use axum::Router;
use std::sync::Arc;

/// The routes of this dialect, relative to its prefix.
pub(crate) fn router(_api: Api, _site: Arc<Site>) -> Router {
    Router::new()
}
