//! Cluster, node, action, policy and receiver wire types.

use chrono::{DateTime, Utc};
use flotilla_core::Metadata;
use flotilla_core::action::{NodeOperation, RecoverAction};
use flotilla_core::cluster::ClusterConfig;
use flotilla_core::policy::PolicySpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Cluster {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub profile_id: Uuid,
    pub desired_capacity: i64,
    pub min_size: i64,
    pub max_size: i64,
    pub timeout: u32,
    #[schema(value_type = Object)]
    pub config: ClusterConfig,
    pub status: String,
    pub status_reason: String,
    /// Member node ids, by index.
    pub nodes: Vec<Uuid>,
    /// Attached policies.
    pub policies: Vec<ClusterPolicy>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterCreate {
    pub name: String,
    /// A profile's id or name.
    pub profile: String,
    /// At most the region's `max_nodes_per_cluster` (itself at most 1,000,000).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000)]
    pub desired_capacity: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000)]
    pub min_size: i64,
    /// -1: no limit but the region's.
    #[serde(default = "unlimited")]
    #[schema(minimum = -1, maximum = 1000000)]
    pub max_size: i64,
    /// Seconds each action may take, 1 to 7 days (default 3600).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 604800)]
    pub timeout: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: ClusterConfig,
    #[serde(default)]
    pub metadata: Metadata,
}

fn unlimited() -> i64 {
    -1
}

/// A new name, metadata or timeout apply at once; a new profile rolls out (202 + action).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Seconds each action may take, 1 to 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 604800)]
    pub timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterList {
    pub clusters: Vec<Cluster>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClusterFilter {
    pub status: Option<String>,
}

/// `POST /v1/clusters/{id}/actions`: one key naming the action, as Senlin's API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClusterActionRequest {
    ScaleOut(#[serde(default)] ScaleParams),
    ScaleIn(#[serde(default)] ScaleParams),
    Resize(ResizeParams),
    AddNodes(NodesParams),
    DelNodes(NodesParams),
    ReplaceNodes(ReplaceParams),
    Check(#[serde(default)] Empty),
    Recover(#[serde(default)] RecoverParams),
    PolicyAttach(PolicyParams),
    PolicyDetach(PolicyParams),
    PolicyUpdate(PolicyParams),
    Operation(OperationParams),
}

impl ClusterActionRequest {
    /// The action's name as the API spells it (`scale_out`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ScaleOut(_) => "scale_out",
            Self::ScaleIn(_) => "scale_in",
            Self::Resize(_) => "resize",
            Self::AddNodes(_) => "add_nodes",
            Self::DelNodes(_) => "del_nodes",
            Self::ReplaceNodes(_) => "replace_nodes",
            Self::Check(_) => "check",
            Self::Recover(_) => "recover",
            Self::PolicyAttach(_) => "policy_attach",
            Self::PolicyDetach(_) => "policy_detach",
            Self::PolicyUpdate(_) => "policy_update",
            Self::Operation(_) => "operation",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleParams {
    /// How many nodes, 1 to the region's `max_nodes_per_cluster` (at most 1,000,000); default:
    /// what the scaling policy says, else 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub count: Option<i64>,
}

/// Senlin's resize parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResizeParams {
    /// EXACT_CAPACITY, CHANGE_IN_CAPACITY or CHANGE_IN_PERCENTAGE. A string on the wire, checked by the server, so an
    /// unknown value is refused with Senlin's message ("Value 'X' is not acceptable for field 'adjustment_type'.").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "EXACT_CAPACITY", pattern = "^(EXACT_CAPACITY|CHANGE_IN_CAPACITY|CHANGE_IN_PERCENTAGE)$")]
    pub adjustment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_step: Option<i64>,
    #[serde(default = "yes")]
    pub strict: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodesParams {
    /// Node ids or names.
    pub nodes: Vec<String>,
    /// `del_nodes`: delete the nodes' containers too (default), or keep them as orphans.
    #[serde(default = "yes")]
    pub destroy: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceParams {
    /// Old member → new orphan node (ids or names).
    pub nodes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverParams {
    /// RESTART, REBUILD or RECREATE (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub operation: Option<RecoverAction>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyParams {
    /// A policy's id or name.
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationParams {
    /// start, stop, restart, pause or unpause.
    #[schema(value_type = String)]
    pub operation: NodeOperation,
    /// Only members matching every filter (status, role, name, or a metadata key).
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
}

/// The answer of an asynchronous operation: the action to watch (`Location: /v1/actions/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionAccepted {
    pub action: Uuid,
}

/// `GET /v1/clusters/{id}/attrs/{path}`: one attribute of every member.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterAttrs {
    pub cluster_attributes: Vec<NodeAttr>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeAttr {
    pub id: Uuid,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Node {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub cluster_id: Option<Uuid>,
    pub index: i64,
    pub role: String,
    pub profile_id: Uuid,
    pub status: String,
    pub status_reason: String,
    pub tainted: bool,
    /// The container this node manages.
    pub physical_id: Option<Uuid>,
    pub host_id: Option<Uuid>,
    pub host_name: Option<String>,
    /// Its container's addresses on Flotilla networks.
    #[serde(default)]
    pub addresses: Vec<crate::network::Address>,
    pub region: String,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeCreate {
    pub name: String,
    /// A profile's id or name.
    pub profile: String,
    /// A cluster's id or name; none: an orphan node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub metadata: Metadata,
}

/// Adopt an existing container as an orphan node (its profile is made from the container).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeAdopt {
    /// The container's id or name.
    pub container: String,
    /// The node's name; default: the container's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// A new profile of the same type: the node's container is replaced (202 + action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Mark (or unmark) the node as tainted: chosen first as a deletion victim and for a rolling update's first
    /// batch (Senlin's API 1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tainted: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeList {
    pub nodes: Vec<Node>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NodeFilter {
    pub status: Option<String>,
    /// A cluster's id or name.
    pub cluster: Option<String>,
}

/// `POST /v1/nodes/{id}/actions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeActionRequest {
    Check(#[serde(default)] Empty),
    Recover(#[serde(default)] RecoverParams),
    Operation(OperationParams),
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Action {
    pub id: Uuid,
    pub name: String,
    pub action: String,
    pub target: Uuid,
    pub cluster_id: Option<Uuid>,
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub cause: String,
    pub status: String,
    pub status_reason: String,
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    pub outputs: BTreeMap<String, String>,
    pub owner: Option<Uuid>,
    /// The actions this one waits for (a cluster action's node actions).
    pub depends_on: Vec<Uuid>,
    /// The action waiting for this one.
    pub depended_by: Vec<Uuid>,
    pub timeout: u32,
    pub cancel_requested: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActionList {
    pub actions: Vec<Action>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionFilter {
    pub status: Option<String>,
    pub action: Option<String>,
    /// A cluster's id or name: its actions and its nodes' actions.
    pub cluster: Option<String>,
    /// A cluster or node id.
    pub target: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "type")]
    pub type_name: String,
    #[schema(value_type = Object)]
    pub spec: PolicySpec,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyCreate {
    pub name: String,
    #[schema(value_type = Object)]
    pub spec: PolicySpec,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyValidate {
    #[schema(value_type = Object)]
    pub spec: PolicySpec,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyList {
    pub policies: Vec<Policy>,
    pub next: Option<String>,
}

/// A policy attached to a cluster.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterPolicy {
    pub policy_id: Uuid,
    pub policy_name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub priority: u32,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Receiver {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "type")]
    pub type_name: String,
    pub cluster_id: Uuid,
    pub action: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// The parameters a trigger's body may override; any other in a body is refused.
    #[serde(default)]
    pub overridable: Vec<String>,
    /// The trigger URL with its secret: shown only in the answer to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverCreate {
    pub name: String,
    /// `webhook`.
    #[serde(rename = "type", default = "webhook")]
    pub type_name: String,
    /// A cluster's id or name.
    pub cluster: String,
    /// The cluster action to run: scale_out, scale_in, resize, check, recover.
    pub action: String,
    /// Stored parameters of the action.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Parameters of the action a trigger's body may set over the stored ones (none by default:
    /// whoever holds the URL runs exactly the stored action). Senlin merged any. Each at most
    /// once, so no more than the action has (6: resize).
    #[serde(default)]
    #[schema(max_items = 6)]
    pub overridable: Vec<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

fn webhook() -> String {
    "webhook".to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiverList {
    pub receivers: Vec<Receiver>,
    pub next: Option<String>,
}

/// An engine of the region (`GET /v1/services`, admins): Senlin's `service list`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Service {
    pub id: Uuid,
    /// The server's listen address.
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceList {
    pub services: Vec<Service>,
}
