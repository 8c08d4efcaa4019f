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
    /// Set by a user (`PATCH` with `tainted: true`, Senlin's API 1.13): the node is chosen first as a deletion
    /// victim and updated in the first rolling-update batch; it is otherwise served and counted as before.
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

impl Node {
    /// A new orphan node `name` of `profile`, made by `user` in `project`: INIT, of no cluster
    /// (index -1), no role, no metadata, no container yet.
    pub fn orphan(name: Name, project_id: ProjectId, user_id: UserId, profile_id: ProfileId) -> Self {
        let now = crate::now();
        Self {
            id: NodeId::new(),
            name,
            project_id,
            user_id,
            cluster_id: None,
            index: -1,
            role: String::new(),
            profile_id,
            status: NodeStatus::Init,
            status_reason: String::new(),
            tainted: false,
            physical_id: None,
            host_id: None,
            region: String::new(),
            metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Senlin's `filter_error_nodes`: a node in ERROR or WARNING, a tainted one, or one not yet ACTIVE is chosen
    /// before the others, as a deletion victim and for the first batches of a rolling update.
    pub fn goes_first(&self) -> bool {
        self.tainted || self.status != NodeStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goes_first_as_senlin_filter_error_nodes() {
        // Senlin's test_filter_error_nodes: ERROR, WARNING, tainted and not-yet-created nodes are picked out.
        let node = |status, tainted| Node {
            status,
            tainted,
            ..Node::orphan(Name::parse("name", "n").unwrap(), ProjectId::new(), UserId::new(), ProfileId::new())
        };
        let cases = [
            (NodeStatus::Active, false, false),
            (NodeStatus::Active, true, true),
            (NodeStatus::Error, false, true),
            (NodeStatus::Warning, false, true),
            (NodeStatus::Creating, false, true),
            (NodeStatus::Init, false, true),
        ];
        for (status, tainted, first) in cases {
            assert_eq!(node(status, tainted).goes_first(), first, "{status} tainted={tainted}");
        }
    }
}
