//! Actions: asynchronous operations on clusters, nodes and hosts, their statuses, inputs, and
//! which actions conflict. The action table is the engine's queue.

use crate::resize::ResizeRequest;
use crate::{ActionId, ClusterId, HostId, NodeId, PolicyId, ProfileId, ProjectId, ServiceId, Timestamp, UserId};
use std::collections::BTreeMap;

crate::named_enum! {
    /// What an action does.
    pub enum ActionKind {
        ClusterCreate => "CLUSTER_CREATE",
        ClusterDelete => "CLUSTER_DELETE",
        ClusterUpdate => "CLUSTER_UPDATE",
        ClusterResize => "CLUSTER_RESIZE",
        ClusterScaleOut => "CLUSTER_SCALE_OUT",
        ClusterScaleIn => "CLUSTER_SCALE_IN",
        ClusterAddNodes => "CLUSTER_ADD_NODES",
        ClusterDelNodes => "CLUSTER_DEL_NODES",
        ClusterReplaceNodes => "CLUSTER_REPLACE_NODES",
        ClusterCheck => "CLUSTER_CHECK",
        ClusterRecover => "CLUSTER_RECOVER",
        ClusterAttachPolicy => "CLUSTER_ATTACH_POLICY",
        ClusterDetachPolicy => "CLUSTER_DETACH_POLICY",
        ClusterUpdatePolicy => "CLUSTER_UPDATE_POLICY",
        ClusterOperation => "CLUSTER_OPERATION",
        NodeCreate => "NODE_CREATE",
        NodeDelete => "NODE_DELETE",
        NodeUpdate => "NODE_UPDATE",
        NodeCheck => "NODE_CHECK",
        NodeRecover => "NODE_RECOVER",
        NodeOperation => "NODE_OPERATION",
        /// Moves every container off a draining host (each node's under the node's lock).
        HostDrain => "HOST_DRAIN",
    }
}

impl ActionKind {
    /// Whether the action's target is a cluster.
    pub fn on_cluster(self) -> bool {
        self.as_str().starts_with("CLUSTER_")
    }

    /// The target of an action of this kind on the object `id`.
    pub fn target(self, id: uuid::Uuid) -> Target {
        match self.as_str().split('_').next() {
            Some("CLUSTER") => Target::Cluster(ClusterId(id)),
            Some("HOST") => Target::Host(HostId(id)),
            _ => Target::Node(NodeId(id)),
        }
    }
}

crate::named_enum! {
    /// Where an action is in its life.
    pub enum ActionStatus {
        Init => "INIT",
        /// Waiting for the actions it depends on.
        Waiting => "WAITING",
        /// Ready for an engine to claim.
        Ready => "READY",
        Running => "RUNNING",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
    }
}

impl ActionStatus {
    /// Whether the action is over.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

crate::named_enum! {
    /// Why an action exists.
    pub enum Cause {
        /// A user asked for it through the API.
        User => "RPC Request",
        /// Another action made it (a cluster action's node actions).
        Derived => "Derived Action",
        /// A webhook receiver triggered it.
        Receiver => "Receiver",
        /// The health policy found a node unhealthy.
        Health => "Health Policy",
        /// The autoscaling policy decided it.
        Autoscaling => "Autoscaling Policy",
    }
}

crate::named_enum! {
    /// How a node is recovered.
    pub enum RecoverAction {
        /// Restart the container where it is.
        Restart => "RESTART",
        /// Replace the container on the same host.
        Rebuild => "REBUILD",
        /// Replace the container on another host.
        Recreate => "RECREATE",
    }
}

crate::named_enum! {
    /// What a cluster or node operation does to members' containers.
    pub enum NodeOperation {
        Start => "start",
        Stop => "stop",
        Restart => "restart",
        Pause => "pause",
        Unpause => "unpause",
    }
}

/// The inputs of an action, typed per kind.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionInputs {
    #[default]
    None,
    /// Scale out or in by `count` (none: what the scaling policy says, else 1).
    Scale {
        count: Option<i64>,
    },
    Resize(ResizeInputs),
    /// Nodes to add, delete, check or recover.
    Nodes {
        nodes: Vec<NodeId>,
        #[serde(default)]
        destroy: bool,
    },
    /// Old node → new node.
    Replace {
        pairs: BTreeMap<NodeId, NodeId>,
    },
    Recover {
        action: RecoverAction,
    },
    Policy {
        policy: PolicyId,
        enabled: Option<bool>,
    },
    Operation {
        operation: NodeOperation,
        filters: BTreeMap<String, String>,
    },
    /// A rolling update to `profile`.
    Update {
        profile: ProfileId,
    },
    Delete {
        force: bool,
    },
    /// Node create: the zone the placement policy chose, if any.
    NodeCreate {
        zone: Option<String>,
    },
}

/// A resize request as stored (core's [`ResizeRequest`] with names).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResizeInputs {
    pub adjustment_type: Option<crate::resize::AdjustmentType>,
    pub number: Option<f64>,
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    pub min_step: Option<i64>,
    pub strict: bool,
}

impl From<ResizeInputs> for ResizeRequest {
    fn from(r: ResizeInputs) -> Self {
        ResizeRequest {
            adjustment_type: r.adjustment_type,
            number: r.number,
            min_size: r.min_size,
            max_size: r.max_size,
            min_step: r.min_step,
            strict: r.strict,
        }
    }
}

/// The target of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cluster(ClusterId),
    Node(NodeId),
    Host(HostId),
}

impl Target {
    pub fn id(self) -> uuid::Uuid {
        match self {
            Self::Cluster(c) => c.0,
            Self::Node(n) => n.0,
            Self::Host(h) => h.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub id: ActionId,
    /// `KIND_TARGET-NAME`, for lists.
    pub name: String,
    pub kind: ActionKind,
    pub target: Target,
    /// The cluster a node action works for, if any.
    pub cluster_id: Option<ClusterId>,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub cause: Cause,
    pub status: ActionStatus,
    pub status_reason: String,
    pub inputs: ActionInputs,
    /// What the action produced: created node ids, chosen victims, counts.
    pub outputs: BTreeMap<String, String>,
    /// The engine running it.
    pub owner: Option<ServiceId>,
    /// The parent action (a node action's cluster action).
    pub parent: Option<ActionId>,
    /// Seconds the action may run.
    pub timeout: u32,
    pub cancel_requested: bool,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Action {
    /// A new READY action on `target`.
    pub fn new(kind: ActionKind, target: Target, target_name: &str, project_id: ProjectId, user_id: UserId, cause: Cause) -> Self {
        let now = crate::now();
        Self {
            id: ActionId::new(),
            name: format!("{}_{}", kind.as_str().to_ascii_lowercase(), target_name),
            kind,
            target,
            cluster_id: match target {
                Target::Cluster(c) => Some(c),
                Target::Node(_) | Target::Host(_) => None,
            },
            project_id,
            user_id,
            cause,
            status: ActionStatus::Ready,
            status_reason: String::new(),
            inputs: ActionInputs::None,
            outputs: BTreeMap::new(),
            owner: None,
            parent: None,
            timeout: crate::cluster::DEFAULT_TIMEOUT_SECS,
            cancel_requested: false,
            started_at: None,
            ended_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn inputs(mut self, inputs: ActionInputs) -> Self {
        self.inputs = inputs;
        self
    }

    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout = secs;
        self
    }

    /// A node action derived from cluster action `parent`.
    pub fn derived(mut self, parent: &Action) -> Self {
        self.parent = Some(parent.id);
        self.cluster_id = parent.cluster_id;
        self.cause = Cause::Derived;
        self.timeout = parent.timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_inputs_round_trip() {
        assert!(ActionKind::ClusterScaleOut.on_cluster());
        assert!(!ActionKind::NodeRecover.on_cluster());
        assert_eq!(ActionKind::parse("cluster_scale_out"), Some(ActionKind::ClusterScaleOut));
        assert!(ActionStatus::Cancelled.is_final() && !ActionStatus::Waiting.is_final());
        let id = uuid::Uuid::now_v7();
        assert_eq!(ActionKind::ClusterResize.target(id), Target::Cluster(ClusterId(id)));
        assert_eq!(ActionKind::NodeRecover.target(id), Target::Node(NodeId(id)));
        assert_eq!(ActionKind::HostDrain.target(id), Target::Host(HostId(id)));
        let inputs = ActionInputs::Recover { action: RecoverAction::Recreate };
        let json = serde_json::to_string(&inputs).unwrap();
        assert_eq!(json, r#"{"type":"recover","action":"RECREATE"}"#);
        assert_eq!(serde_json::from_str::<ActionInputs>(&json).unwrap(), inputs);
    }
}
