//! Test fixtures of the pure planners: assignments, numbered networks and volumes.

use flotilla_api::agent::{Assignment, HostNetwork, HostVolume, ImageSource, NetworkAttachment, VolumeMount};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::ContainerProperties;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Container `n`, generation 1, on the default network.
pub fn assignment(n: u128, desired: DesiredState) -> Assignment {
    Assignment {
        id: Uuid::from_u128(n),
        name: format!("c{n}"),
        project_id: Uuid::from_u128(1000),
        generation: 1,
        desired,
        spec: ContainerProperties { image: "demo:latest".into(), ..Default::default() },
        image: ImageSource { reference: "demo:latest".into(), image_id: None, digest: None },
        runtime_id: None,
        networks: Vec::new(),
        mounts: Vec::new(),
        unknown: false,
    }
}

/// Network `n`: `10.213.n.0/24`.
pub fn network(n: u128) -> HostNetwork {
    HostNetwork {
        id: Uuid::from_u128(n),
        name: format!("net{n}"),
        cidr: format!("10.213.{n}.0/24"),
        gateway: format!("10.213.{n}.1"),
        names: vec![],
        overlay: None,
    }
}

pub fn volume(n: u128) -> HostVolume {
    HostVolume { id: Uuid::from_u128(n), name: format!("vol{n}"), driver: "local".into(), driver_opts: BTreeMap::new() }
}

/// `a` on networks `networks` (address `.9` on each) mounting volumes `volumes` (at `/vN`).
pub fn on(mut a: Assignment, networks: &[u128], volumes: &[u128]) -> Assignment {
    a.networks = networks
        .iter()
        .map(|&n| NetworkAttachment {
            network: network(n),
            ip_address: format!("10.213.{n}.9"),
            mac_address: String::new(),
            aliases: vec![a.name.clone()],
        })
        .collect();
    a.mounts = volumes.iter().map(|&v| VolumeMount { volume: volume(v), target: format!("/v{v}"), read_only: false }).collect();
    a
}
