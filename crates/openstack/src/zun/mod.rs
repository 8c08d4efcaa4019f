//! Zun container API v1 at `/container`: version discovery, microversions, containers and their
//! operations, hosts, images and services, each translated into calls of Flotilla's `/v1` API.

mod admin;
mod archive;
mod containers;
mod error;
mod operations;
mod query;
mod version;
mod view;

use crate::{Api, Site};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn;
use axum::routing::{get, post};
use error::ZunError;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Zun {
    api: Api,
    site: Arc<Site>,
}

impl Zun {
    fn base(&self, headers: &HeaderMap) -> String {
        self.site.base_url(headers)
    }
}

/// The caller's `X-Auth-Token`.
fn token(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-auth-token").and_then(|v| v.to_str().ok())
}

/// `method path` as the caller, its answer read as `T`.
async fn read<T: serde::de::DeserializeOwned>(
    zun: &Zun,
    headers: &HeaderMap,
    method: axum::http::Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<T, ZunError> {
    let answer = error::check(zun.api.call(method, path, token(headers), body).await)?;
    serde_json::from_value(answer.body).map_err(|error| ZunError::Unreadable(format!("the answer of {path} could not be read: {error}")))
}

async fn root(State(zun): State<Zun>, headers: HeaderMap) -> axum::Json<serde_json::Value> {
    version::root(&zun.base(&headers))
}

async fn version_one(State(zun): State<Zun>, headers: HeaderMap) -> axum::Json<serde_json::Value> {
    version::version_one(&zun.base(&headers))
}

/// Zun's 404 for what it does not route.
async fn unknown() -> ZunError {
    ZunError::Flotilla { status: StatusCode::NOT_FOUND, message: "The resource could not be found.".into() }
}

/// The routes of this dialect, relative to its prefix.
pub(crate) fn router(api: Api, site: Arc<Site>) -> Router {
    use operations as op;
    let v1 = Router::new()
        .route("/", get(version_one))
        .route("/containers", get(containers::list).post(containers::create))
        .route("/containers/", get(containers::list).post(containers::create))
        .route("/containers/{id}", get(containers::show).patch(containers::update).delete(containers::delete))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/{action}", post(op::act))
        .route("/containers/{id}/logs", get(op::logs))
        .route("/containers/{id}/execute", post(op::execute))
        .route("/containers/{id}/top", get(op::top))
        .route("/containers/{id}/stats", get(op::stats))
        .route("/containers/{id}/network_list", get(op::network_list))
        .route("/containers/{id}/get_archive", get(archive::get_archive))
        .route("/containers/{id}/put_archive", post(archive::put_archive).layer(DefaultBodyLimit::max(archive::MAX_PUT_BODY)))
        .route("/hosts", get(admin::hosts))
        .route("/hosts/{id}", get(admin::host))
        .route("/images", get(admin::images).post(admin::pull))
        .route("/images/{id}", get(admin::image).delete(admin::delete_image))
        .route("/services", get(admin::services))
        .fallback(unknown)
        .layer(from_fn(version::negotiate));
    Router::new()
        .route("/", get(root))
        .route("/v1/", get(version_one).layer(from_fn(version::negotiate)))
        .nest("/v1", v1)
        .with_state(Zun { api, site })
}

/// `/container/`, the root with a trailing slash, which a nested router cannot route (merged at the top).
pub(crate) fn slash_root(api: Api, site: Arc<Site>) -> Router {
    Router::new().route("/container/", get(root)).with_state(Zun { api, site })
}
