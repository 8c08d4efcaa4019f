//! Nodes: a cluster member (or an orphan) managing one container, and its statuses.

use crate::{ClusterId, ContainerId, HostId, Metadata, Name, NodeId, ProfileId, ProjectId, Timestamp, UserId};

crate::named_enum! {
    /// A node's status.
    pub enum NodeStatus {
        Init => "INIT",
        Creating => "CREATING",
        Active => "ACTIVE",
        Updating => "UPDATING",
        Deleting => "DELETING",
        Recovering => "RECOVERING",
        Warning => "WARNING",
        Error => "ERROR",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: NodeId,
    pub name: Name,
    pub project_id: ProjectId,
    pub user_id: UserId,
    /// `None`: an orphan node.
    pub cluster_id: Option<ClusterId>,
    /// The node's index in its cluster (-1 for orphans); indexes are never reused.
    pub index: i64,
    pub role: String,
    pub profile_id: ProfileId,
    pub status: NodeStatus,
    pub status_reason: String,
    /// Set while the node is unhealthy; a tainted node is replaced first.
    pub tainted: bool,
    /// The container this node manages.
    pub physical_id: Option<ContainerId>,
    /// Where the container was placed (Senlin forgot to record it).
    pub host_id: Option<HostId>,
    pub region: String,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
