//! Senlin clustering API v1 at `/clustering`: each request is translated into `/v1` cluster calls
//! (profiles, clusters, nodes, policies, receivers, actions, events) and each answer back into
//! Senlin's shapes, statuses and errors.

mod actions;
mod cluster_actions;
mod clusters;
mod context;
mod error;
mod nodes;
mod receivers;
mod reply;
mod resolve;
mod shapes;
mod specs;
mod type_routes;
mod types;
mod version;
mod wire;

use crate::{Api, Site};
use axum::Router;
use axum::http::HeaderMap;
use axum::middleware::from_fn;
use axum::routing::{MethodRouter, get, post};
use context::Senlin;
use error::SenlinError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The routes of this dialect, relative to its prefix.
pub(crate) fn router(api: Api, site: Arc<Site>) -> Router {
    let state = Arc::new(Senlin { api, site, alarm_secrets: Mutex::new(HashMap::new()) });
    let router = Router::new()
        .route("/", get(version::root))
        .route("/v1", get(version::v1))
        .route("/v1/", get(version::v1))
        .route("/v1/build-info", get(version::build_info))
        .route("/v1/profile-types", get(type_routes::profile_types))
        .route("/v1/profile-types/{type}", get(type_routes::profile_type))
        .route("/v1/profile-types/{type}/ops", get(type_routes::profile_type_ops))
        .route("/v1/policy-types", get(type_routes::policy_types))
        .route("/v1/policy-types/{type}", get(type_routes::policy_type))
        .route("/v1/clusters", get(clusters::list).post(clusters::create))
        .route("/v1/clusters/{id}", get(clusters::show).patch(clusters::update).delete(clusters::delete))
        .route("/v1/clusters/{id}/actions", post(cluster_actions::cluster_action))
        .route("/v1/clusters/{id}/ops", post(cluster_actions::cluster_ops))
        .route("/v1/clusters/{id}/attrs/{path}", get(clusters::collect))
        .route("/v1/clusters/{id}/policies", get(clusters::policies))
        .route("/v1/clusters/{id}/policies/{policy}", get(clusters::policy))
        .route("/v1/nodes", get(nodes::list).post(nodes::create))
        .route("/v1/nodes/adopt", post(nodes::adopt))
        .route("/v1/nodes/{id}", get(nodes::show).patch(nodes::update).delete(nodes::delete))
        .route("/v1/nodes/{id}/actions", post(cluster_actions::node_action))
        .route("/v1/nodes/{id}/ops", post(cluster_actions::node_ops))
        .route("/v1/receivers", get(receivers::list).post(receivers::create))
        .route("/v1/receivers/{id}", get(receivers::show).delete(receivers::delete))
        .route("/v1/webhooks/{secret}/trigger", post(receivers::trigger))
        .route("/v1/actions", get(actions::list))
        .route("/v1/actions/{id}", get(actions::show).patch(actions::update))
        .route("/v1/events", get(actions::events))
        .route("/v1/events/{id}", get(actions::event))
        .route("/v1/services", get(actions::services));
    let router = specs::routes(router, "/v1/profiles", &specs::PROFILES);
    let router = specs::routes(router, "/v1/policies", &specs::POLICIES);
    router
        .fallback(|| async { SenlinError::not_found_route() })
        .method_not_allowed_fallback(|| async { SenlinError::method_not_allowed() })
        .layer(from_fn(version::microversion))
        .with_state(state)
}

/// `GET /clustering/` (a nested router's root has no trailing slash; tempest sends one).
pub(crate) fn slash_root(site: Arc<Site>) -> MethodRouter {
    get(move |headers: HeaderMap| async move { version::discovery(&format!("{}/clustering", site.base_url(&headers))) })
        .layer(from_fn(version::microversion))
}
