//! Request bodies that scenario tests share.

use flotilla_api::ProfileCreate;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
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
