//! Values the unit tests share: a node, and the container a node action makes of it.

use crate::inputs::ProfileInputs;
use flotilla_core::container::Container;
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::profile::ContainerProperties;
use flotilla_core::{Name, NodeId, ProfileId, ProjectId, UserId};

/// A node `name` of no cluster, made from `profile` in `project`, not yet created.
pub(crate) fn node(name: &str, project: ProjectId, user: UserId, profile: ProfileId) -> Node {
    let now = flotilla_core::now();
    Node {
        id: NodeId::new(),
        name: Name::parse("name", name).unwrap(),
        project_id: project,
        user_id: user,
        cluster_id: None,
        index: -1,
        role: String::new(),
        profile_id: profile,
        status: NodeStatus::Init,
        status_reason: String::new(),
        tainted: false,
        physical_id: None,
        host_id: None,
        region: String::new(),
        metadata: Default::default(),
        created_at: now,
        updated_at: now,
    }
}

/// The container a node action would make for a new node, of image `demo`.
pub(crate) fn container() -> Container {
    let node = node("web-1", ProjectId::new(), UserId::new(), ProfileId::new());
    let inputs = ProfileInputs { spec: ContainerProperties { image: "demo".into(), ..Default::default() }, image: None };
    crate::node::container_from(&node, inputs).0
}
