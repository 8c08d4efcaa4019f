//! Rows the store's test suites share: names, a project, a profile, a host's registration, a container, a node.
#![allow(dead_code)] // each test crate uses its own part

use flotilla_core::cluster::Cluster;
use flotilla_core::container::{Container, ContainerHealth, ContainerStatus, DesiredState};
use flotilla_core::identity::Project;
use flotilla_core::node::Node;
use flotilla_core::profile::{CONTAINER_DOCKER, CONTAINER_DOCKER_VERSION, ContainerProperties, Profile, ProfileSpec};
use flotilla_core::scheduler::Resources;
use flotilla_core::{ContainerId, Metadata, Name, ProfileId, ProjectId, UserId};
use flotilla_store::{HostRegistration, JoinGrant, JoinProof, Store};

pub fn name(n: &str) -> Name {
    Name::parse("name", n).unwrap()
}

pub fn project(n: &str) -> Project {
    let now = flotilla_core::now();
    Project {
        id: ProjectId::new(),
        name: name(n),
        description: String::new(),
        enabled: true,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    }
}

/// A `container.docker` profile of `image`, labelled `tier: web`.
pub fn profile(n: &str, project: ProjectId, image: &str) -> Profile {
    let now = flotilla_core::now();
    Profile {
        id: ProfileId::new(),
        name: name(n),
        project_id: project,
        user_id: UserId::new(),
        spec: ProfileSpec {
            type_name: CONTAINER_DOCKER.into(),
            version: CONTAINER_DOCKER_VERSION.into(),
            properties: ContainerProperties { image: image.into(), ..Default::default() },
        },
        metadata: Metadata::from([("tier".into(), "web".into())]),
        created_at: now,
        updated_at: now,
    }
}

/// A simulated host of 4 cores, 8 GiB and 1 GB of disk.
pub fn registration(name: &str) -> HostRegistration {
    HostRegistration {
        name: name.into(),
        zone: String::new(),
        pool: String::new(),
        labels: Default::default(),
        runtime: "sim".into(),
        advertise: "https://127.0.0.1:1".into(),
        capacity: Resources { cpu_millis: 4000, memory_mib: 8192, disk_mib: 1000 },
        certificate: "-----BEGIN CERTIFICATE-----".into(),
        tunnel_address: None,
        agent_version: "0.0.0-test".into(),
    }
}

/// What a valid join token for a new host proves.
pub fn admitted() -> JoinProof {
    JoinProof { token: Some(JoinGrant { replaces: None }), credential_digest: None }
}

/// A container named `web` of `spec`, not yet placed: CREATING at generation 1.
pub fn container(project: ProjectId, spec: ContainerProperties) -> Container {
    let now = flotilla_core::now();
    Container {
        id: ContainerId::new(),
        name: name("web"),
        project_id: project,
        user_id: UserId::new(),
        spec,
        image_id: None,
        host_id: None,
        desired: DesiredState::Running,
        generation: 1,
        status: ContainerStatus::Creating,
        status_reason: String::new(),
        runtime_id: None,
        exit_code: None,
        health: ContainerHealth::Unknown,
        cpu_percent: None,
        observed_at: None,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    }
}

/// An empty, unbounded cluster `n` of `profile`, its first node index 1.
pub fn cluster(n: &str, project: ProjectId, profile: ProfileId) -> Cluster {
    Cluster { timeout: 60, ..Cluster::new(name(n), project, UserId::new(), profile, 0) }
}

/// An orphan node named `n-0` of `profile`, INIT.
pub fn node(project: ProjectId, profile: ProfileId) -> Node {
    Node::orphan(name("n-0"), project, UserId::new(), profile)
}

/// A project `racers` with a profile `web` of image `demo`, written to `store`.
pub async fn project_with_profile(store: &Store) -> (ProjectId, ProfileId) {
    let p = project("racers");
    store.create_project(&p).await.unwrap();
    let web = profile("web", p.id, "demo");
    store.create_profile(&web).await.unwrap();
    (p.id, web.id)
}
