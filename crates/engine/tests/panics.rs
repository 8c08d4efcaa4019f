//! A panic inside one action fails that action only: driven through the real engine on SQLite with
//! an `Agents` double (passed in, as the server passes its own) whose wake-up panics. The node's
//! action ends FAILED with the panic's message, the cluster's action ends too, and no lock is left
//! behind; the engine goes on running the next action.

mod support;

use flotilla_core::action::{Action, ActionKind, ActionStatus, Cause, Target};
use flotilla_core::{ContainerId, HostId};
use flotilla_engine::{Agents, EngineConfig};
use flotilla_store::{ActionFilters, Scope};
use std::sync::Arc;
use support::{cluster, ended, seed, sqlite_store, start_engine};

/// Agents whose every wake-up panics, as a bug in the engine's path would.
struct PanickingAgents;

#[async_trait::async_trait]
impl Agents for PanickingAgents {
    fn wake(&self, _host: HostId) {
        panic!("wake exploded");
    }
    async fn restart(&self, _container: ContainerId) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_action_fails_alone_and_frees_its_locks() {
    let (_dir, store) = sqlite_store().await;
    let (project, user, profile) = seed(&store).await;
    let (engine, waker) = start_engine(&store, EngineConfig::default(), Arc::new(PanickingAgents));

    for name in ["first", "second"] {
        let (c, action) = cluster(name, 1, project, user, profile);
        store.create_cluster(&c, &action).await.unwrap();
        waker.notify();
        let done = ended(&store, &action.id.to_string()).await;
        assert_eq!(done.status, ActionStatus::Failed, "{name}: {}", done.status_reason);
        assert_eq!(store.cluster_lock(c.id).await.unwrap(), None, "{name}: the cluster's lock was freed");
        let filters = ActionFilters { kind: Some("NODE_CREATE"), cluster: Some(c.id), ..Default::default() };
        let nodes = store.list_actions(Scope::All, filters, &Default::default()).await.unwrap().items;
        assert_eq!(nodes.len(), 1, "{name}");
        assert_eq!(nodes[0].status, ActionStatus::Failed, "{name}");
        assert!(nodes[0].status_reason.contains("panicked: wake exploded"), "{name}: {}", nodes[0].status_reason);
        // The node's lock is free: another action can take it.
        for node in store.cluster_nodes(c.id).await.unwrap() {
            let mut check = Action::new(ActionKind::NodeCheck, Target::Node(node.id), node.name.as_str(), project, user, Cause::User);
            check.cluster_id = Some(c.id);
            store.submit_node_action(node.id, &check).await.unwrap_or_else(|e| panic!("{name}: the node's lock was kept: {e}"));
        }
    }
    engine.shutdown().await;
}
