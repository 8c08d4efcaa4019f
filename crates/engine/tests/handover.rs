//! A cluster action writes as many of its node actions already claimed as its engine has room for
//! (`max_running`), hands them to its dispatcher and leaves the rest READY: driven through the real
//! engine on SQLite with an `Agents` double that runs a host's containers (as its agent would
//! report) only once the test lets it. Until then exactly the free slots' worth of node actions
//! run; after it, the handed-over ones and the later claimed ones all end, and the cluster with them.

mod support;

use flotilla_core::action::ActionStatus;
use flotilla_core::container::ContainerStatus;
use flotilla_core::{ContainerId, HostId};
use flotilla_engine::{Agents, EngineConfig};
use flotilla_store::{ActionFilters, ContainerChanges, ContainerFilters, Scope, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{cluster, ended, seed, sqlite_store, start_engine};

/// Agents that, once `running` is set, run every container of a host they are woken for.
struct GatedAgents {
    store: Store,
    running: AtomicBool,
}

impl GatedAgents {
    /// Runs `host`'s containers that are still being created (what its agent would report).
    async fn run_containers(store: &Store, host: Option<HostId>) {
        let filters = ContainerFilters { host, ..Default::default() };
        let containers = store.list_containers(Scope::All, filters, &Default::default()).await.unwrap().items;
        for row in containers.into_iter().filter(|r| r.container.status == ContainerStatus::Creating) {
            let changes = ContainerChanges { status: Some((ContainerStatus::Running, String::new())), ..Default::default() };
            store.update_container(row.container.id, changes).await.unwrap();
        }
    }
}

#[async_trait::async_trait]
impl Agents for GatedAgents {
    fn wake(&self, host: HostId) {
        if self.running.load(Ordering::SeqCst) {
            let store = self.store.clone();
            tokio::spawn(async move { Self::run_containers(&store, Some(host)).await });
        }
    }
    async fn restart(&self, _container: ContainerId) -> Result<(), String> {
        Ok(())
    }
}

async fn node_actions_by_status(store: &Store, cluster: flotilla_core::ClusterId) -> (usize, usize) {
    let filters = ActionFilters { kind: Some("NODE_CREATE"), cluster: Some(cluster), ..Default::default() };
    let actions = store.list_actions(Scope::All, filters, &Default::default()).await.unwrap().items;
    let count = |status| actions.iter().filter(|a| a.status == status).count();
    (count(ActionStatus::Running), count(ActionStatus::Ready))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_action_runs_as_many_children_as_its_engine_has_room_for() {
    let (_dir, store) = sqlite_store().await;
    let (project, user, profile) = seed(&store).await;
    // Three slots: the cluster action's, and two for its six node actions.
    let config = EngineConfig { max_running: 3, ..Default::default() };
    let agents = Arc::new(GatedAgents { store: store.clone(), running: AtomicBool::new(false) });
    let (engine, waker) = start_engine(&store, config, agents.clone());

    let (c, action) = cluster("six", 6, project, user, profile);
    store.create_cluster(&c, &action).await.unwrap();
    waker.notify();
    let mut seen = (0, 0);
    for _ in 0..100 {
        seen = node_actions_by_status(&store, c.id).await;
        if seen.0 + seen.1 == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Twenty of the dispatcher's polls: a claim beyond the free slots would show here.
    for _ in 0..20 {
        assert_eq!(seen, (2, 4), "(RUNNING, READY) node actions while their containers wait");
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = node_actions_by_status(&store, c.id).await;
    }

    agents.running.store(true, Ordering::SeqCst);
    GatedAgents::run_containers(&store, None).await;
    let done = ended(&store, &action.id.to_string()).await;
    assert_eq!(done.status, ActionStatus::Succeeded, "{}", done.status_reason);
    let filters = ActionFilters { kind: Some("NODE_CREATE"), cluster: Some(c.id), ..Default::default() };
    let children = store.list_actions(Scope::All, filters, &Default::default()).await.unwrap().items;
    assert_eq!(children.len(), 6);
    assert!(children.iter().all(|a| a.status == ActionStatus::Succeeded), "{children:?}");
    engine.shutdown().await;
}
