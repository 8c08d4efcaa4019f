//! Values the unit tests share: a node, and the container a node action makes of it.

use crate::inputs::ProfileInputs;
use flotilla_core::container::Container;
use flotilla_core::node::Node;
use flotilla_core::profile::ContainerProperties;
use flotilla_core::{Name, ProfileId, ProjectId, UserId};

/// A node `name` of no cluster, made from `profile` in `project`, not yet created.
pub(crate) fn node(name: &str, project: ProjectId, user: UserId, profile: ProfileId) -> Node {
    Node::orphan(Name::parse("name", name).unwrap(), project, user, profile)
}

/// The container a node action would make for a new node, of image `demo`.
pub(crate) fn container() -> Container {
    let node = node("web-1", ProjectId::new(), UserId::new(), ProfileId::new());
    let inputs = ProfileInputs { spec: ContainerProperties { image: "demo".into(), ..Default::default() }, image: None };
    crate::node::container_from(&node, inputs).0
}
