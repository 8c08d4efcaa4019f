//! What the engine's tests share: a seeded store (project, user, profile, one sim host), a
//! cluster to create, and a wait for an action's end.

use flotilla_core::action::{Action, ActionKind, ActionStatus, Cause, Target};
use flotilla_core::cluster::Cluster;
use flotilla_core::identity::{Project, User};
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, Profile, ProfileSpec};
use flotilla_core::scheduler::Resources;
use flotilla_core::{Name, ProfileId, ProjectId, UserId, now};
use flotilla_engine::{Agents, Engine, EngineConfig, EngineWaker};
use flotilla_store::{HostRegistration, JoinGrant, JoinProof, Scope, Store};
use std::sync::Arc;
use std::time::Duration;

/// A store on a temporary SQLite file (kept while the directory lives).
pub async fn sqlite_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("f.db").display())).await.unwrap();
    (dir, store)
}

/// The real engine over `store` with `agents`, polling every 50 ms whatever `config` says (so a
/// test sees it act at once), and the waker that tells it of new work.
pub fn start_engine(store: &Store, config: EngineConfig, agents: Arc<dyn Agents>) -> (Engine, EngineWaker) {
    let waker = EngineWaker::default();
    let config = EngineConfig { poll: Duration::from_millis(50), ..config };
    (Engine::start(config, store.clone(), agents, waker.clone(), Arc::default()), waker)
}

/// A project, its user, a profile and one sim host of 4 CPUs and 8 GiB.
pub async fn seed(store: &Store) -> (ProjectId, UserId, ProfileId) {
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

/// A cluster of `desired` nodes and the action creating it.
pub fn cluster(name: &str, desired: i64, project: ProjectId, user: UserId, profile: ProfileId) -> (Cluster, Action) {
    let c = Cluster { timeout: 60, ..Cluster::new(Name::parse("name", name).unwrap(), project, user, profile, desired) };
    let action = Action::new(ActionKind::ClusterCreate, Target::Cluster(c.id), name, project, user, Cause::User).timeout(60);
    (c, action)
}

/// Action `id` once it ended (20 s at most).
pub async fn ended(store: &Store, id: &str) -> Action {
    for _ in 0..200 {
        let action = store.action(Scope::All, id).await.unwrap();
        if matches!(action.status, ActionStatus::Succeeded | ActionStatus::Failed | ActionStatus::Cancelled) {
            return action;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("action {id} did not end in 20 s");
}
