//! The agent's listener: the server's interactive calls under `/agent/v1` (logs, exec and its
//! interactive session, stats, top,
//! restart, kill, rename, update). It is served over mutual TLS that admits only the server whose
//! certificate the agent pinned at join, so no request reaches a handler unauthenticated.

mod error;
mod handlers;
mod session;

pub use error::CallbackError;

use crate::runtime::ContainerRuntime;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use flotilla_api::MAX_ARCHIVE_BYTES;
use flotilla_api::REQUEST_ID_HEADER;
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered (the caller's `x-request-id`, else a fresh one).
fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// What the handlers share.
#[derive(Clone)]
pub struct CallbackState {
    pub runtime: Arc<dyn ContainerRuntime>,
    pub host_id: Uuid,
    /// Turns true at shutdown: following log streams end then.
    pub shutdown: watch::Receiver<bool>,
}

/// The `/agent/v1` router.
pub fn router(state: CallbackState) -> Router {
    let calls = Router::new()
        .route("/agent/v1/containers/{id}/restart", post(handlers::restart))
        .route("/agent/v1/containers/{id}/kill", post(handlers::kill))
        .route("/agent/v1/containers/{id}/logs", get(handlers::logs))
        .route("/agent/v1/containers/{id}/exec", post(handlers::exec).get(session::exec_session))
        .route("/agent/v1/containers/{id}/stats", get(handlers::stats))
        .route("/agent/v1/containers/{id}/top", get(handlers::top))
        .route(
            "/agent/v1/containers/{id}/archive",
            get(handlers::download).put(handlers::upload).layer(DefaultBodyLimit::max(MAX_ARCHIVE_BYTES)),
        )
        .route("/agent/v1/containers/{id}/rename", post(handlers::rename))
        .route("/agent/v1/containers/{id}/update", post(handlers::update));
    Router::new()
        .route("/agent/v1/healthz", get(|| async { "ok" }))
        .merge(calls)
        .with_state(state)
        .layer(middleware::from_fn(with_request_id))
}

async fn with_request_id(request: Request, next: Next) -> Response {
    let id =
        request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = id.parse() {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
