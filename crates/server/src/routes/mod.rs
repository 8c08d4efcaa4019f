//! The REST API: every route, its auth requirements, and the OpenAPI document built from them.

mod actions;
mod cluster_actions;
mod clusters;
mod container_files;
mod container_ops;
mod container_session;
mod containers;
mod convert;
mod dashboard;
mod events;
mod federation;
mod global_endpoints;
mod global_networks;
mod global_routers;
mod hosts;
mod images;
mod jobs;
mod members;
mod networks;
mod nodes;
mod plans;
mod policies;
mod ports;
mod profile_types;
mod profiles;
mod projects;
mod quotas;
mod receivers;
mod regions;
mod roles;
mod routers;
mod routings;
mod tokens;
mod users;
mod version;
mod volumes;

use crate::agents::gateway;
use crate::http::{drain, extract::MAX_JSON_BODY, idempotency, metrics, no_nul, request_id};
use crate::identity::principal::require_token;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use flotilla_api::{LabelQuery, ListQuery};
use flotilla_core::selector::Selector;
use flotilla_core::{ListParams, ValidationError};
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Flotilla API", description = "Multi-tenant, multi-region container clusters."),
    modifiers(&TokenAuth),
    security(("token" = [])),
    tags((name = "auth"), (name = "identity"), (name = "profiles"), (name = "hosts"), (name = "containers"), (name = "images"), (name = "quotas"), (name = "events"), (name = "clusters"), (name = "nodes"), (name = "actions"), (name = "policies"), (name = "receivers"), (name = "networks"), (name = "volumes"), (name = "jobs"), (name = "regions"), (name = "federation"), (name = "agent"), (name = "meta"))
)]
struct ApiDoc;

struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("token", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))));
        components.add_security_scheme(
            "region_credential",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(flotilla_api::region::REGION_CREDENTIAL_HEADER))),
        );
    }
}

/// Every operation may answer an error (401 without a token, 403 without the right, 404, 400 for
/// bad input, ...) with the one error body: a `default` response says so in the document.
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = ResponseBuilder::new()
            .description("An error: the body says which, and why")
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options];
            for operation in operations.into_iter().flatten() {
                operation.responses.responses.entry("default".to_owned()).or_insert_with(|| error.clone().into());
            }
        }
    }
}

/// The whole application: public routes, token-protected routes, docs, health and metrics, the
/// OpenStack dialects and the dashboard (`/ui`); `public_url` is where clients reach this server
/// when it is known, `https` whether it serves HTTPS.
pub fn router(state: AppState, public_url: Option<String>, https: bool) -> Router {
    let central_only = || from_fn_with_state(state.clone(), crate::federation::central_only::layer);
    let (public, public_doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(version::version))
        .merge(OpenApiRouter::new().routes(routes!(tokens::create_token)).route_layer(central_only()))
        .routes(routes!(receivers::trigger_webhook))
        .routes(routes!(federation::join))
        .routes(routes!(federation::heartbeat))
        .routes(routes!(federation::validate_token))
        .routes(routes!(federation::peer_regions))
        .routes(routes!(federation::verify_region))
        .routes(routes!(members::list_members))
        .routes(routes!(members::put_member, members::delete_member))
        .routes(routes!(routings::receive_routings))
        .routes(routes!(global_networks::create))
        .routes(routes!(global_networks::get))
        .routes(routes!(global_networks::allocate_block))
        .routes(routes!(global_networks::reserve_fixed_ip))
        .routes(routes!(global_networks::release_fixed_ip))
        .routes(routes!(global_routers::create))
        .routes(routes!(global_endpoints::report))
        .routes(routes!(global_endpoints::watch))
        .split_for_parts();
    let identity = OpenApiRouter::new()
        .routes(routes!(tokens::current_token, tokens::revoke_token))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user, users::delete_user))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::get_project, projects::update_project, projects::delete_project))
        .routes(routes!(roles::list_role_assignments, roles::assign_role))
        .routes(routes!(roles::delete_role_assignment))
        .route_layer(central_only())
        .route_layer(from_fn_with_state(state.clone(), crate::identity::auth_cache::forget_on_write));
    let (protected, protected_doc) = OpenApiRouter::new()
        .merge(identity)
        .routes(routes!(dashboard::create_link))
        .routes(routes!(profiles::list_profiles, profiles::create_profile))
        .routes(routes!(profiles::validate_profile))
        .routes(routes!(profile_types::profile_types))
        .routes(routes!(profiles::get_profile, profiles::update_profile, profiles::delete_profile))
        .routes(routes!(hosts::create_join_token))
        .routes(routes!(hosts::list_hosts))
        .routes(routes!(hosts::get_host, hosts::delete_host))
        .routes(routes!(hosts::enable_host))
        .routes(routes!(hosts::disable_host))
        .routes(routes!(hosts::drain_host))
        .routes(routes!(containers::list_containers, containers::create_container))
        .routes(routes!(containers::get_container, containers::update_container, containers::delete_container))
        .routes(routes!(container_ops::start_container))
        .routes(routes!(container_ops::stop_container))
        .routes(routes!(container_ops::restart_container))
        .routes(routes!(container_ops::pause_container))
        .routes(routes!(container_ops::unpause_container))
        .routes(routes!(container_ops::kill_container))
        .routes(routes!(container_ops::rebuild_container))
        .routes(routes!(container_ops::rename_container))
        .routes(routes!(container_ops::container_logs))
        .routes(routes!(container_ops::exec_container, container_session::exec_session))
        .routes(routes!(container_ops::container_stats))
        .routes(routes!(container_ops::container_top))
        .routes(routes!(container_files::download_archive, container_files::upload_archive))
        .routes(routes!(images::list_images, images::upload_image))
        .routes(routes!(images::get_image, images::delete_image))
        .routes(routes!(quotas::get_quota, quotas::set_quota))
        .routes(routes!(events::list_events))
        .routes(routes!(events::stream_events))
        .routes(routes!(clusters::list_clusters, clusters::create_cluster))
        .routes(routes!(clusters::get_cluster, clusters::update_cluster, clusters::delete_cluster))
        .routes(routes!(clusters::cluster_attrs))
        .routes(routes!(cluster_actions::cluster_action))
        .routes(routes!(nodes::list_nodes, nodes::create_node))
        .routes(routes!(nodes::adopt_node))
        .routes(routes!(nodes::get_node, nodes::update_node, nodes::delete_node))
        .routes(routes!(nodes::node_action))
        .routes(routes!(actions::list_actions))
        .routes(routes!(actions::get_action))
        .routes(routes!(actions::cancel_action))
        .routes(routes!(actions::list_services))
        .routes(routes!(policies::list_policies, policies::create_policy))
        .routes(routes!(policies::validate_policy))
        .routes(routes!(policies::get_policy, policies::update_policy, policies::delete_policy))
        .routes(routes!(policies::policy_types))
        .routes(routes!(receivers::list_receivers, receivers::create_receiver))
        .routes(routes!(receivers::get_receiver, receivers::delete_receiver))
        .routes(routes!(networks::list_networks, networks::create_network))
        .routes(routes!(networks::get_network, networks::delete_network))
        .routes(routes!(networks::list_subnets, networks::create_subnet))
        .routes(routes!(networks::get_subnet, networks::delete_subnet))
        .routes(routes!(ports::list_ports, ports::create_port))
        .routes(routes!(ports::get_port, ports::delete_port))
        .routes(routes!(ports::connect_network))
        .routes(routes!(ports::disconnect_network))
        .routes(routes!(volumes::list_volumes, volumes::create_volume))
        .routes(routes!(volumes::get_volume, volumes::delete_volume))
        .routes(routes!(regions::create_region_join_token))
        .routes(routes!(regions::list_regions))
        .routes(routes!(regions::get_region, regions::delete_region))
        .routes(routes!(jobs::list_jobs))
        .routes(routes!(jobs::get_job))
        .routes(routes!(jobs::redo_job))
        .routes(routes!(routings::list_routings))
        .routes(routes!(routings::get_routing))
        .routes(routes!(routers::list_routers, routers::create_router))
        .routes(routes!(routers::get_router, routers::delete_router))
        .routes(routes!(routers::add_router_interface))
        .routes(routes!(routers::remove_router_interface))
        .split_for_parts();
    let agent = Router::new()
        .route("/v1/agent/join", post(gateway::join))
        .route("/v1/agent/heartbeat", post(gateway::heartbeat))
        .route("/v1/agent/assignments", get(gateway::assignments))
        .route("/v1/agent/names", get(gateway::name))
        .route("/v1/agent/reports", post(gateway::reports))
        .route("/v1/agent/images/{image}", get(gateway::image));
    let mut doc = public_doc;
    doc.merge(protected_doc);
    // After the merge: modifiers of `ApiDoc` run before any route is added.
    ErrorAnswers.modify(&mut doc);
    let protected = protected
        .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
        .route_layer(from_fn_with_state(state.clone(), require_token));
    let site = flotilla_openstack::Site { region: state.region.clone(), public_url, https };
    let api = Router::new()
        .merge(public)
        .merge(protected)
        .merge(agent)
        .merge(SwaggerUi::new("/v1/docs").url("/v1/openapi.json", doc))
        .route("/healthz", get(version::healthz))
        .route("/livez", get(version::livez))
        .route("/readyz", get(version::readyz))
        .route("/metrics", get(metrics::handler))
        .fallback(version::not_found)
        .with_state(state.clone());
    // The layers wrap the dialects too: their requests are logged and counted once, and the calls
    // they make into `api` in-process run inside the request's id.
    let store = state.store.clone();
    // The dashboard calls `api` in-process, as the dialects do, with the browser's token.
    let ui = crate::ui::router(api.clone(), store, https);
    flotilla_openstack::mount(api, site)
        .merge(ui)
        .layer(from_fn_with_state(state.metrics.clone(), metrics::layer))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(RequestBodyTimeoutLayer::new(state.settings.body_read_timeout))
        .layer(from_fn(no_nul::layer))
        .layer(from_fn(request_id::layer))
        .layer(from_fn_with_state(state.drain.clone(), drain::layer))
}

pub use hosts::issue as issue_join_token;
pub(crate) use networks::subnet_of;

/// The page request of a list query.
fn list_params(query: &ListQuery) -> Result<ListParams, ValidationError> {
    ListParams::parse(query.limit, query.marker.clone(), query.sort.as_deref())
}

/// The page request of a list of labelled objects, with its label selector (400 naming `labels`).
fn labelled_list_params(query: &ListQuery, labels: &LabelQuery) -> Result<ListParams, ValidationError> {
    let mut params = list_params(query)?;
    if let Some(text) = &labels.labels {
        params.labels = Selector::parse(text)?;
    }
    Ok(params)
}

/// An object a request names in `field`: a missing one is a 400 naming the field and the value;
/// any other store error stays what it is.
pub fn referenced<T>(
    found: Result<T, flotilla_store::StoreError>,
    field: impl Into<String>,
    key: &str,
) -> Result<T, crate::error::ApiError> {
    found.map_err(|e| match e {
        flotilla_store::StoreError::NotFound { kind, .. } => {
            ValidationError::new(field, key, format!("no {kind} has this id or name")).into()
        }
        other => other.into(),
    })
}
