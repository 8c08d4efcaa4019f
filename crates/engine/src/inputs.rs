//! What a new node's container is made from (its profile's spec, the image it names, and its
//! cluster's enabled policies), read once for all the node actions of one cluster action: a
//! profile's spec never changes, the image is the one the first of them resolved (as a cluster
//! action reads its inputs when it runs), and a cluster's policies change only by cluster actions,
//! which wait for the cluster's lock that the running one holds.

use crate::error::EngineError;
use flotilla_core::node::Node;
use flotilla_core::profile::ContainerProperties;
use flotilla_core::{ActionId, ClusterId, ImageId, ProfileId, ProjectId};
use flotilla_store::{Binding, Scope, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Cluster actions whose inputs are kept at most; past it the kept ones are forgotten.
const MAX_KEPT: usize = 64;

/// A profile's container spec and the image it names, for one project.
#[derive(Debug, Clone)]
pub(crate) struct ProfileInputs {
    pub spec: ContainerProperties,
    pub image: Option<ImageId>,
}

impl ProfileInputs {
    pub async fn read(store: &Store, project: ProjectId, profile: ProfileId) -> Result<Self, EngineError> {
        let spec = store.profile(Scope::All, &profile.to_string()).await?.spec.properties;
        let reference = flotilla_core::image::normalize_reference(&spec.image);
        let image = store.resolve_image(project, &reference).await?.map(|image| image.id);
        Ok(ProfileInputs { spec, image })
    }
}

/// What a new node is made from: its profile's container, and its cluster's enabled policies
/// (none for a node of no cluster).
#[derive(Debug, Clone)]
pub(crate) struct NodeInputs {
    pub profile: ProfileInputs,
    pub policies: Vec<Binding>,
}

impl NodeInputs {
    pub async fn read(store: &Store, node: &Node) -> Result<Self, EngineError> {
        let profile = ProfileInputs::read(store, node.project_id, node.profile_id).await?;
        let policies = match node.cluster_id {
            Some(cluster) => crate::policies::enabled(store, cluster).await?,
            None => Vec::new(),
        };
        Ok(NodeInputs { profile, policies })
    }
}

/// Whose inputs: a cluster action's, for nodes of one project, profile and cluster.
type Key = (ActionId, ProjectId, ProfileId, Option<ClusterId>);

/// The inputs of running cluster actions' node actions, each read once.
#[derive(Debug, Default)]
pub(crate) struct SharedInputs {
    kept: Mutex<HashMap<Key, Arc<OnceCell<NodeInputs>>>>,
}

impl SharedInputs {
    /// The inputs of `node`, for a node action of `parent` (read once for all of its children),
    /// or read afresh for one without a parent.
    pub async fn of(&self, store: &Store, parent: Option<ActionId>, node: &Node) -> Result<NodeInputs, EngineError> {
        let Some(parent) = parent else { return NodeInputs::read(store, node).await };
        let key = (parent, node.project_id, node.profile_id, node.cluster_id);
        let cell = {
            let mut kept = self.kept.lock().expect("inputs lock");
            if kept.len() >= MAX_KEPT && !kept.contains_key(&key) {
                kept.clear();
            }
            kept.entry(key).or_default().clone()
        };
        cell.get_or_try_init(|| NodeInputs::read(store, node)).await.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_core::identity::Project;
    use flotilla_core::profile::{CONTAINER_DOCKER, CONTAINER_DOCKER_VERSION, Profile, ProfileSpec};
    use flotilla_core::{Name, UserId};

    /// The node actions of one cluster action read their profile once: after it is gone, they
    /// still make their containers from it, while another action's (or one without a parent)
    /// reads it afresh and finds nothing.
    #[tokio::test]
    async fn a_cluster_actions_children_read_their_profile_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("inputs.db").display())).await.unwrap();
        let now = flotilla_core::now();
        let name = |n: &str| Name::parse("name", n).unwrap();
        let project = Project {
            id: ProjectId::new(),
            name: name("p1"),
            description: String::new(),
            enabled: true,
            metadata: Default::default(),
            created_at: now,
            updated_at: now,
        };
        store.create_project(&project).await.unwrap();
        let properties = ContainerProperties { image: "demo:1".into(), ..Default::default() };
        let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: CONTAINER_DOCKER_VERSION.into(), properties };
        let profile = Profile {
            id: ProfileId::new(),
            name: name("web"),
            project_id: project.id,
            user_id: UserId::new(),
            spec,
            metadata: Default::default(),
            created_at: now,
            updated_at: now,
        };
        store.create_profile(&profile).await.unwrap();

        let node = crate::fixtures::node("web-1", project.id, profile.user_id, profile.id);

        let (inputs, parent) = (SharedInputs::default(), Some(ActionId::new()));
        let first = inputs.of(&store, parent, &node).await.unwrap();
        assert_eq!(first.profile.spec.image, "demo:1");
        store.delete_profile(profile.id).await.unwrap();
        let sibling = inputs.of(&store, parent, &node).await.expect("read once for every child");
        assert_eq!(sibling.profile.spec.image, "demo:1");
        assert!(inputs.of(&store, Some(ActionId::new()), &node).await.is_err(), "another action reads afresh");
        assert!(inputs.of(&store, None, &node).await.is_err(), "an action without a parent reads afresh");
    }
}
