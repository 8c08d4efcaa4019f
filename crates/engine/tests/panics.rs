//! A panic inside one action fails that action only: driven through the real engine on SQLite with
//! an `Agents` double (passed in, as the server passes its own) whose wake-up panics. The node's
//! action ends FAILED with the panic's message, the cluster's action ends too, and no lock is left
//! behind; the engine goes on running the next action.

use flotilla_core::action::{Action, ActionKind, ActionStatus, Cause, Target};
use flotilla_core::cluster::{Cluster, ClusterStatus};
use flotilla_core::identity::{Project, User};
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, Profile, ProfileSpec};
use flotilla_core::scheduler::Resources;
use flotilla_core::{ClusterId, ContainerId, HostId, Name, ProfileId, ProjectId, UserId, now};
use flotilla_engine::{Agents, Engine, EngineConfig, EngineWaker};
use flotilla_store::{ActionFilters, HostRegistration, JoinGrant, JoinProof, Scope, Store};
use std::sync::Arc;
use std::time::Duration;

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

async fn seed(store: &Store) -> (ProjectId, UserId, ProfileId) {
    let t = now();
    let project = Project {
        id: ProjectId::new(),
        name: Name::parse("name", "p").unwrap(),
        description: String::new(),
        enabled: true,
        metadata: Default::default(),
        created_at: t,
        updated_at: t,
    };
    store.create_project(&project).await.unwrap();
    let user = User {
        id: UserId::new(),
        name: Name::parse("name", "u").unwrap(),
        email: None,
        password_hash: "x".into(),
        enabled: true,
        default_project_id: Some(project.id),
        metadata: Default::default(),
        created_at: t,
        updated_at: t,
    };
    store.create_user(&user).await.unwrap();
    let properties = ContainerProperties { image: "busybox".into(), ..Default::default() };
    let profile = Profile {
        id: ProfileId::new(),
        name: Name::parse("name", "prof").unwrap(),
        project_id: project.id,
        user_id: user.id,
        spec: ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties },
        metadata: Default::default(),
        created_at: t,
        updated_at: t,
    };
    store.create_profile(&profile).await.unwrap();
    let host = HostRegistration {
        name: "h1".into(),
        zone: String::new(),
        pool: String::new(),
        labels: Default::default(),
        runtime: "sim".into(),
        advertise: "http://127.0.0.1:1".into(),
        capacity: Resources { cpu_millis: 4000, memory_mib: 8192, disk_mib: 10_000 },
        certificate: String::new(),
        tunnel_address: None,
        agent_version: "0.0.0-test".into(),
    };
    let token = JoinProof { token: Some(JoinGrant { replaces: None }), credential_digest: None };
    store.register_host(host, token, "d").await.unwrap();
    (project.id, user.id, profile.id)
}

fn cluster(name: &str, project: ProjectId, user: UserId, profile: ProfileId) -> (Cluster, Action) {
    let t = now();
    let c = Cluster {
        id: ClusterId::new(),
        name: Name::parse("name", name).unwrap(),
        project_id: project,
        user_id: user,
        profile_id: profile,
        desired_capacity: 1,
        min_size: 0,
        max_size: -1,
        timeout: 60,
        config: Default::default(),
        status: ClusterStatus::Init,
        status_reason: String::new(),
        next_index: 1,
        metadata: Default::default(),
        created_at: t,
        updated_at: t,
    };
    let action = Action::new(ActionKind::ClusterCreate, Target::Cluster(c.id), name, project, user, Cause::User).timeout(60);
    (c, action)
}

async fn ended(store: &Store, id: &str) -> Action {
    for _ in 0..200 {
        let action = store.action(Scope::All, id).await.unwrap();
        if matches!(action.status, ActionStatus::Succeeded | ActionStatus::Failed | ActionStatus::Cancelled) {
            return action;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("action {id} did not end in 20 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_action_fails_alone_and_frees_its_locks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("f.db").display())).await.unwrap();
    let (project, user, profile) = seed(&store).await;
    let waker = EngineWaker::default();
    let config = EngineConfig { poll: Duration::from_millis(50), ..Default::default() };
    let engine = Engine::start(config, store.clone(), Arc::new(PanickingAgents), waker.clone(), Arc::default());

    for name in ["first", "second"] {
        let (c, action) = cluster(name, project, user, profile);
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
