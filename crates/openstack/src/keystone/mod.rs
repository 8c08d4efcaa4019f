//! Keystone v3 (identity) at `/identity`: version discovery, tokens, the catalog.

mod auth_request;
mod catalog;
mod discovery;
mod error;
mod tokens;

use crate::{Api, Site};
use axum::Router;
use axum::routing::get;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Keystone {
    api: Api,
    site: Arc<Site>,
}

/// The routes of this dialect, relative to its prefix.
pub(crate) fn router(api: Api, site: Arc<Site>) -> Router {
    Router::new()
        .route("/", get(discovery::versions))
        .route("/v3", get(discovery::v3))
        .route("/v3/", get(discovery::v3))
        .route("/v3/auth/tokens", get(tokens::validate).head(tokens::check).delete(tokens::revoke).post(tokens::issue))
        .with_state(Keystone { api, site })
}
