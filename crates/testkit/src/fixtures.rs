//! Request bodies that scenario tests share, a container run on a chosen host and network, and a
//! global network as a region copies it.

use flotilla_api::{Container, ContainerCreate, ProfileCreate};
use flotilla_client::Client;
use flotilla_core::ipam::{Cidr, SubnetPlan};
use flotilla_core::network::{Network, Subnet};
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, NetworkRef, ProfileSpec};
use flotilla_core::{Metadata, Name, NetworkId, ProjectId, SubnetId};
use std::collections::BTreeMap;

/// A small `container.docker` profile of the workload image (0.1 CPU, 64 MiB), its `MODE` set to `mode`.
pub fn workload_profile(name: &str, mode: &str) -> ProfileCreate {
    let properties = ContainerProperties {
        image: "flotilla/workload:latest".into(),
        cpu: Some(0.1),
        memory: Some(64),
        environment: BTreeMap::from([("MODE".to_owned(), mode.to_owned())]),
        ..Default::default()
    };
    ProfileCreate {
        name: name.into(),
        spec: ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties },
        metadata: Default::default(),
    }
}

/// Runs a small container of the workload image `name` on host `host`, on network `network`, and
/// waits until it runs.
pub async fn run_on(client: &Client, name: &str, host: &str, network: &str) -> Container {
    let spec = ContainerProperties {
        image: "flotilla/workload:latest".into(),
        cpu: Some(0.1),
        memory: Some(64),
        host_node: Some(host.into()),
        networks: vec![NetworkRef { network: network.into() }],
        ..Default::default()
    };
    client.create_container(&ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() }).await.expect("create");
    crate::wait_for_container(client, name, "RUNNING").await
}

/// Global network `name` of `project` with subnet `cidr`, as a region copies it from the central.
pub fn global_copy(project: ProjectId, name: &str, cidr: &str) -> (Network, Subnet) {
    let now = flotilla_core::now();
    let network = Network {
        id: NetworkId::new(),
        name: Name::parse("name", name).expect("a network name"),
        project_id: project,
        shared: false,
        is_default: false,
        global: true,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    let plan =
        SubnetPlan::new("", Cidr::parse("cidr", cidr).expect("a CIDR"), None, Vec::new(), Default::default()).expect("a subnet plan");
    let subnet =
        Subnet { id: SubnetId::new(), name: network.name.clone(), network_id: network.id, project_id: project, plan, created_at: now };
    (network, subnet)
}
