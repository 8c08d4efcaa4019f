//! Keystone v3 (identity) at `/identity`: version discovery, tokens, the catalog.

use crate::{Api, Site};
use axum::Router;
use std::sync::Arc;

/// The routes of this dialect, relative to its prefix.
pub(crate) fn router(_api: Api, _site: Arc<Site>) -> Router {
    Router::new()
}
