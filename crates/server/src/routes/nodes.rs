//! `/v1/nodes`: create (orphan or into a cluster, 202 + NODE_CREATE), adopt a container, list,
//! show, update (a new profile replaces the container), delete, check, recover, operations.

use super::clusters::accepted_action;
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
    ActionAccepted, ErrorBody, LabelQuery, ListQuery, Node, NodeActionRequest, NodeAdopt, NodeCreate, NodeFilter, NodeList, NodeUpdate,
};
use flotilla_core::action::{Action, ActionInputs, ActionKind, Cause, RecoverAction, Target};
use flotilla_core::container::ContainerStatus;
use flotilla_core::node::NodeStatus;
use flotilla_core::policy::deletion::{self, Removal};
use flotilla_core::profile::{CONTAINER_DOCKER, Profile, ProfileSpec};
use flotilla_core::{ContainerId, HostId, Name, ProfileId, ValidationError, metadata, node};
use flotilla_store::{NodeChanges, NodeFilters, Scope};

/// A node as the API shows it: with its host's name and its container's addresses (for a member
/// in another region, as that region last reported them).
pub(super) async fn shown(state: &AppState, n: node::Node) -> Result<Node, ApiError> {
    let mut one = shown_all(state, vec![n]).await?;
    Ok(one.pop().expect("one node shown for one"))
}

/// Nodes as the API shows them ([`shown`]), their hosts' names and their containers' addresses
/// read once for the whole list, not per node.
pub(super) async fn shown_all(state: &AppState, nodes: Vec<node::Node>) -> Result<Vec<Node>, ApiError> {
    // Every node's (a member elsewhere finds none here; an orphan's region is empty).
    let hosts: Vec<HostId> = nodes.iter().filter_map(|n| n.host_id).collect();
    let containers: Vec<ContainerId> = nodes.iter().filter_map(|n| n.physical_id).collect();
    let names = state.store.host_names_of(&hosts).await?;
    let mut addresses = state.store.addresses(&containers).await?;
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        if n.region != state.region
            && let Some(c) = n.physical_id
            && let Some(member) = state.store.remote_member(c).await?
        {
            let addresses = member.addresses.into_iter().map(|a| flotilla_api::Address {
                network_id: uuid::Uuid::nil(),
                network: a.network,
                ip_address: a.ip,
                mac_address: a.mac,
            });
            out.push(Node { addresses: addresses.collect(), ..convert::node(n, member.host, Vec::new()) });
            continue;
        }
        let host_name = n.host_id.and_then(|h| names.get(&h).cloned());
        let mine = n.physical_id.and_then(|c| addresses.remove(&c)).unwrap_or_default();
        out.push(convert::node(n, host_name, mine));
    }
    Ok(out)
}

fn new_node(name: Name, caller: &Principal, profile: ProfileId, role: String, meta: flotilla_core::Metadata) -> node::Node {
    node::Node { role, metadata: meta, ..node::Node::orphan(name, caller.project_id, caller.user_id, profile) }
}

#[utoipa::path(post, path = "/v1/nodes", tag = "nodes", request_body = NodeCreate,
    responses((status = 202, body = Node), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_node(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<NodeCreate>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    metadata::validate(&body.metadata)?;
    let scope = caller.scope(None)?;
    let profile = super::profiles::usable_profile(&state, &caller, &body.profile).await?;
    let mut n = new_node(name, &caller, profile.id, body.role, body.metadata);
    let cluster = match &body.cluster {
        Some(key) => Some(super::referenced(state.store.cluster(scope, key).await, "cluster", key)?),
        None => None,
    };
    if let Some(c) = &cluster {
        let theirs = state.store.profile(Scope::All, &c.profile_id.to_string()).await?;
        if theirs.spec.type_name != profile.spec.type_name {
            return Err(ValidationError::new(
                "profile",
                &body.profile,
                format!("is of type {}, cluster {} runs {}", profile.spec.type_name, c.name, theirs.spec.type_name),
            )
            .into());
        }
        n.cluster_id = Some(c.id);
    }
    let mut action = Action::new(ActionKind::NodeCreate, Target::Node(n.id), n.name.as_str(), n.project_id, n.user_id, Cause::User)
        .inputs(ActionInputs::NodeCreate { zone: None });
    action.cluster_id = n.cluster_id;
    match n.cluster_id {
        // Its index, the max_size check and desired + 1 in one transaction with the node.
        Some(_) => state.store.create_member_node(&mut n, &action).await?,
        None => state.store.create_nodes(&[(n.clone(), action.clone())]).await?,
    }
    state.engine.notify();
    let location = format!("/v1/actions/{}", action.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(shown(&state, n).await?)).into_response())
}

#[utoipa::path(post, path = "/v1/nodes/adopt", tag = "nodes", request_body = NodeAdopt,
    responses((status = 201, body = Node), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn adopt_node(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(body): ApiJson<NodeAdopt>,
) -> Result<(StatusCode, Json<Node>), ApiError> {
    caller.require_write()?;
    metadata::validate(&body.metadata)?;
    let scope = caller.scope(None)?;
    let row = super::referenced(state.store.container(scope, &body.container).await, "container", &body.container)?;
    let c = row.container;
    // The node's profile copies the container's settings: adopting needs the rights they need.
    super::containers::check_admin_fields(&state, &caller, &c.spec, "container: its spec.").await?;
    if state.store.node_of_container(c.id).await?.is_some() {
        return Err(ApiError::Conflict(format!("container {} is already managed by a node", c.name)));
    }
    let name = Name::parse("name", body.name.as_deref().unwrap_or(c.name.as_str()))?;
    // The node's profile is made from what the container runs, as Senlin's adopt does.
    let now = flotilla_core::now();
    let profile = Profile {
        id: ProfileId::new(),
        name: Name::parse("name", &format!("adopted-{}", c.name))?,
        project_id: caller.project_id,
        user_id: caller.user_id,
        spec: ProfileSpec { type_name: CONTAINER_DOCKER.to_owned(), version: "1.0".to_owned(), properties: c.spec.clone() },
        metadata: Default::default(),
        created_at: now,
        updated_at: now,
    };
    state.store.create_profile(&profile).await?;
    let mut n = new_node(name, &caller, profile.id, body.role, body.metadata);
    n.physical_id = Some(c.id);
    n.host_id = c.host_id;
    (n.status, n.status_reason) = match c.status {
        ContainerStatus::Running => (NodeStatus::Active, "adopted".to_owned()),
        other => (NodeStatus::Warning, format!("adopted; its container is {other}")),
    };
    state.store.adopt_node(&n).await?;
    Ok((StatusCode::CREATED, Json(shown(&state, n).await?)))
}

#[utoipa::path(get, path = "/v1/nodes", tag = "nodes", params(ListQuery, LabelQuery, NodeFilter),
    responses((status = 200, body = NodeList), (status = 400, body = ErrorBody)))]
pub async fn list_nodes(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(labels): ApiQuery<LabelQuery>,
    ApiQuery(filter): ApiQuery<NodeFilter>,
) -> Result<Json<NodeList>, ApiError> {
    let params = labelled_list_params(&query, &labels)?;
    let scope = caller.scope(query.all_projects)?;
    if let Some(status) = &filter.status
        && NodeStatus::parse(status).is_none()
    {
        return Err(ValidationError::new("status", status, "is not a node status").into());
    }
    let cluster = match &filter.cluster {
        Some(key) => Some(super::referenced(state.store.cluster(scope, key).await, "cluster", key)?.id),
        None => None,
    };
    let filters = NodeFilters { name: query.name.as_deref(), status: filter.status.as_deref(), cluster };
    let page = state.store.list_nodes(scope, filters, &params).await?;
    Ok(Json(NodeList { nodes: shown_all(&state, page.items).await?, next: page.next }))
}

#[utoipa::path(get, path = "/v1/nodes/{node}", tag = "nodes", params(("node" = String, Path, description = "id or name")),
    responses((status = 200, body = Node), (status = 404, body = ErrorBody)))]
pub async fn get_node(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Node>, ApiError> {
    let n = state.store.node(caller.scope(query.all_projects)?, &key).await?;
    Ok(Json(shown(&state, n).await?))
}

#[utoipa::path(patch, path = "/v1/nodes/{node}", tag = "nodes", params(("node" = String, Path, description = "id or name")), request_body = NodeUpdate,
    responses((status = 200, body = Node), (status = 202, body = ActionAccepted), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_node(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<NodeUpdate>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let n = state.store.node(caller.scope(None)?, &key).await?;
    if let Some(m) = &body.metadata {
        metadata::validate(m)?;
    }
    let profile = match &body.profile {
        Some(key) => {
            let p = super::profiles::usable_profile(&state, &caller, key).await?;
            (p.id != n.profile_id).then_some(p.id)
        }
        None => None,
    };
    let changes = NodeChanges {
        name: body.name.as_deref().map(|v| Name::parse("name", v)).transpose()?,
        role: body.role,
        metadata: body.metadata,
        tainted: body.tainted,
        ..Default::default()
    };
    let n = state.store.update_node(n.id, changes).await?;
    let Some(profile) = profile else { return Ok(Json(shown(&state, n).await?).into_response()) };
    submit(&state, &n, &caller, ActionKind::NodeUpdate, ActionInputs::Update { profile }).await
}

/// `caller`'s `kind` action on node `n`.
fn new_action(n: &node::Node, caller: &Principal, kind: ActionKind, inputs: ActionInputs) -> Action {
    let mut action = Action::new(kind, Target::Node(n.id), n.name.as_str(), n.project_id, caller.user_id, Cause::User).inputs(inputs);
    action.cluster_id = n.cluster_id;
    action
}

/// Writes a node action holding the node's lock (409 when another holds it), answers 202.
async fn submit(
    state: &AppState,
    n: &node::Node,
    caller: &Principal,
    kind: ActionKind,
    inputs: ActionInputs,
) -> Result<Response, ApiError> {
    let action = new_action(n, caller, kind, inputs);
    state.store.submit_node_action(n.id, &action).await?;
    state.engine.notify();
    Ok(accepted_action(action.id))
}

#[utoipa::path(delete, path = "/v1/nodes/{node}", tag = "nodes", params(("node" = String, Path, description = "id or name")),
    responses((status = 202, body = ActionAccepted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_node(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Response, ApiError> {
    caller.require_write()?;
    let n = state.store.node(caller.scope(None)?, &key).await?;
    let Some(cluster) = n.cluster_id else {
        return submit(&state, &n, &caller, ActionKind::NodeDelete, ActionInputs::None).await;
    };
    // A member: the min_size check and desired - 1 (unless the deletion policy's
    // reduce_desired_capacity is false, as Senlin's NODE_DELETE reads it) in one transaction with the node's lock.
    let bindings = state.store.cluster_policies(cluster).await?;
    let policy = deletion::attached(bindings.iter().filter(|b| b.enabled).map(|b| &b.policy.spec.properties));
    let reduce_desired = deletion::plan_removal(policy, Removal::NodeDelete).reduce_desired_capacity;
    let action = new_action(&n, &caller, ActionKind::NodeDelete, ActionInputs::None);
    state.store.submit_member_delete(&n, &action, reduce_desired).await?;
    state.engine.notify();
    Ok(accepted_action(action.id))
}

#[utoipa::path(post, path = "/v1/nodes/{node}/actions", tag = "nodes", params(("node" = String, Path, description = "id or name")),
    request_body = NodeActionRequest, responses((status = 202, body = ActionAccepted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn node_action(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<NodeActionRequest>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let n = state.store.node(caller.scope(None)?, &key).await?;
    let (kind, inputs) = match body {
        NodeActionRequest::Check(_) => (ActionKind::NodeCheck, ActionInputs::None),
        NodeActionRequest::Recover(p) => {
            (ActionKind::NodeRecover, ActionInputs::Recover { action: p.operation.unwrap_or(RecoverAction::Recreate) })
        }
        NodeActionRequest::Operation(p) => {
            (ActionKind::NodeOperation, ActionInputs::Operation { operation: p.operation, filters: p.filters })
        }
    };
    submit(&state, &n, &caller, kind, inputs).await
}
