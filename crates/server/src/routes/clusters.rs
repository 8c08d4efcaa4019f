//! `/v1/clusters`: create (202 + its CLUSTER_CREATE action), list, show with members and
//! policies, update (a new profile rolls out), delete, and one attribute over the members.

use super::{convert, labelled_list_params};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flotilla_api::{
    ActionAccepted, Cluster, ClusterAttrs, ClusterCreate, ClusterFilter, ClusterList, ClusterUpdate, DeleteQuery, DryRunQuery, ErrorBody,
    LabelQuery, ListQuery, NodeAttr, Plan,
};
use flotilla_core::action::{Action, ActionInputs, ActionKind, Cause, Target};
use flotilla_core::cluster::{self, ClusterStatus};
use flotilla_core::{ActionId, Name, ValidationError, metadata};
use flotilla_store::{ClusterChanges, ClusterFilters, Scope, StoreError};

/// 202 with the action to watch.
pub fn accepted_action(id: ActionId) -> Response {
    (StatusCode::ACCEPTED, [(header::LOCATION, format!("/v1/actions/{id}"))], Json(ActionAccepted { action: id.0 })).into_response()
}

/// A cluster as shown: with its members and attached policies.
pub async fn show(state: &AppState, c: cluster::Cluster) -> Result<Cluster, ApiError> {
    let nodes = state.store.cluster_nodes(c.id).await?.into_iter().map(|n| n.id.0).collect();
    let policies = state.store.cluster_policies(c.id).await?;
    Ok(convert::cluster(c, nodes, policies))
}

#[utoipa::path(post, path = "/v1/clusters", tag = "clusters", request_body = ClusterCreate, params(DryRunQuery),
    responses((status = 202, body = Cluster), (status = 200, body = Plan, description = "dry_run=true: where its members would go, nothing made"),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_cluster(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(dry): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<ClusterCreate>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    metadata::validate(&body.metadata)?;
    body.config.validate()?;
    cluster::check_sizes(body.desired_capacity, body.min_size, body.max_size, state.engine_config.max_nodes_per_cluster)?;
    let timeout = body.timeout.unwrap_or(cluster::DEFAULT_TIMEOUT_SECS);
    cluster::check_timeout(timeout)?;
    let profile = super::profiles::usable_profile(&state, &caller, &body.profile).await?;
    let c = cluster::Cluster {
        min_size: body.min_size,
        max_size: body.max_size,
        timeout,
        config: body.config,
        status_reason: "creating".to_owned(),
        metadata: body.metadata,
        ..cluster::Cluster::new(name, caller.project_id, caller.user_id, profile.id, body.desired_capacity)
    };
    if dry.is_dry_run() {
        if state.store.cluster(Scope::Project(c.project_id), c.name.as_str()).await.is_ok() {
            return Err(StoreError::NameTaken { kind: "cluster", name: c.name.to_string() }.into());
        }
        return Ok(Json(super::plans::cluster(&state, &c, c.desired_capacity, 0).await?).into_response());
    }
    let action = Action::new(ActionKind::ClusterCreate, Target::Cluster(c.id), c.name.as_str(), c.project_id, c.user_id, Cause::User)
        .timeout(timeout);
    state.store.create_cluster(&c, &action).await?;
    state.engine.notify();
    tracing::info!(cluster = %c.name, desired = c.desired_capacity, "cluster accepted");
    let shown = show(&state, c).await?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, format!("/v1/actions/{}", action.id))], Json(shown)).into_response())
}

#[utoipa::path(get, path = "/v1/clusters", tag = "clusters", params(ListQuery, LabelQuery, ClusterFilter),
    responses((status = 200, body = ClusterList), (status = 400, body = ErrorBody)))]
pub async fn list_clusters(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
    ApiQuery(filter): ApiQuery<ClusterFilter>,
) -> Result<Json<ClusterList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let scope = caller.scope(query.all_projects)?;
    if let Some(status) = &filter.status
        && ClusterStatus::parse(status).is_none()
    {
        return Err(ValidationError::new("status", status, "is not a cluster status").into());
    }
    let filters = ClusterFilters { name: query.name.as_deref(), status: filter.status.as_deref() };
    let page = state.store.list_clusters(scope, filters, &params).await?;
    let mut clusters = Vec::with_capacity(page.items.len());
    for c in page.items {
        clusters.push(show(&state, c).await?);
    }
    Ok(Json(ClusterList { clusters, next: page.next }))
}

#[utoipa::path(get, path = "/v1/clusters/{cluster}", tag = "clusters", params(("cluster" = String, Path, description = "id or name")),
    responses((status = 200, body = Cluster), (status = 404, body = ErrorBody)))]
pub async fn get_cluster(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Cluster>, ApiError> {
    let c = state.store.cluster(caller.scope(query.all_projects)?, &key).await?;
    Ok(Json(show(&state, c).await?))
}

#[utoipa::path(patch, path = "/v1/clusters/{cluster}", tag = "clusters", params(("cluster" = String, Path, description = "id or name")),
    request_body = ClusterUpdate, responses((status = 200, body = Cluster), (status = 202, body = ActionAccepted), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_cluster(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<ClusterUpdate>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let c = state.store.cluster(caller.scope(None)?, &key).await?;
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    if let Some(timeout) = body.timeout {
        cluster::check_timeout(timeout)?;
    }
    let profile = match &body.profile {
        Some(key) => {
            let p = super::profiles::usable_profile(&state, &caller, key).await?;
            let old = state.store.profile(Scope::All, &c.profile_id.to_string()).await?;
            if p.spec.type_name != old.spec.type_name {
                return Err(ValidationError::new(
                    "profile",
                    key,
                    format!("is of type {}, the cluster's profiles are {}", p.spec.type_name, old.spec.type_name),
                )
                .into());
            }
            (p.id != c.profile_id).then_some(p.id)
        }
        None => None,
    };
    let changes = ClusterChanges {
        name: body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?,
        metadata: body.metadata,
        timeout: body.timeout,
        ..Default::default()
    };
    let c = state.store.update_cluster(c.id, changes).await?;
    let Some(profile) = profile else { return Ok(Json(show(&state, c).await?).into_response()) };
    let action = Action::new(ActionKind::ClusterUpdate, Target::Cluster(c.id), c.name.as_str(), c.project_id, caller.user_id, Cause::User)
        .inputs(ActionInputs::Update { profile })
        .timeout(c.timeout);
    state.store.submit_cluster_action(&action, false).await?;
    state.engine.notify();
    Ok(accepted_action(action.id))
}

#[utoipa::path(delete, path = "/v1/clusters/{cluster}", tag = "clusters", params(("cluster" = String, Path, description = "id or name"), DeleteQuery),
    responses((status = 202, body = ActionAccepted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_cluster(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let c = state.store.cluster(caller.scope(None)?, &key).await?;
    let force = query.force.unwrap_or(false);
    let action = Action::new(ActionKind::ClusterDelete, Target::Cluster(c.id), c.name.as_str(), c.project_id, caller.user_id, Cause::User)
        .inputs(ActionInputs::Delete { force })
        .timeout(c.timeout);
    state.store.submit_cluster_action(&action, false).await?;
    state.engine.notify();
    Ok(accepted_action(action.id))
}

#[utoipa::path(get, path = "/v1/clusters/{cluster}/attrs/{path}", tag = "clusters",
    params(("cluster" = String, Path, description = "id or name"), ("path" = String, Path, description = "a node or container field: status, host_name, physical_id, container.status, ...")),
    responses((status = 200, body = ClusterAttrs), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cluster_attrs(
    State(state): State<AppState>,
    caller: Principal,
    Path((key, path)): Path<(String, String)>,
) -> Result<Json<ClusterAttrs>, ApiError> {
    let c = state.store.cluster(caller.scope(None)?, &key).await?;
    let mut out = Vec::new();
    let nodes = state.store.cluster_nodes(c.id).await?;
    let shown_nodes = super::nodes::shown_all(&state, nodes.clone()).await?;
    for (node, shown) in nodes.into_iter().zip(shown_nodes) {
        let shown = serde_json::to_value(shown).unwrap_or_default();
        let value = match path.strip_prefix("container.") {
            Some(field) => match node.physical_id {
                Some(id) => match state.store.container(Scope::All, &id.to_string()).await {
                    Ok(row) => serde_json::to_value(convert::container(row)).unwrap_or_default().get(field).cloned(),
                    Err(_) => None,
                },
                None => None,
            },
            None => shown.get(&path).cloned(),
        };
        match value {
            Some(value) => out.push(NodeAttr { id: node.id.0, value }),
            None if path.starts_with("container.") => {}
            None => {
                return Err(ValidationError::new(
                    "path",
                    &path,
                    "is not a node attribute (try status, host_name, physical_id or container.FIELD)",
                )
                .into());
            }
        }
    }
    Ok(Json(ClusterAttrs { cluster_attributes: out }))
}
