//! `GET /v1/profile-types`: the profile types this region knows, with their properties' schema.

use crate::identity::principal::Principal;
use axum::Json;
use flotilla_core::profile::{CONTAINER_DOCKER, CONTAINER_DOCKER_VERSION};
use serde::Serialize;
use utoipa::ToSchema;

/// One property of a profile type.
#[derive(Debug, Serialize, ToSchema)]
pub struct PropertySchema {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub type_name: &'static str,
    pub required: bool,
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileType {
    pub name: &'static str,
    pub version: &'static str,
    pub properties: Vec<PropertySchema>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileTypes {
    pub profile_types: Vec<ProfileType>,
}

/// `container.docker` 1.0, as `core::profile::ContainerProperties` reads it.
const CONTAINER_PROPERTIES: &[(&str, &str, bool, &str)] = &[
    ("image", "string", true, "image reference: an uploaded image's tag, or one the hosts have"),
    ("command", "list of strings", false, "the command and its arguments"),
    ("environment", "map of strings", false, "environment variables"),
    ("cpu", "number", false, "cores: a limit and a scheduling request"),
    ("memory", "integer", false, "MiB: a limit and a scheduling request (at least 4)"),
    ("ports", "list of {container, protocol, host}", false, "published ports; a host port is taken on the chosen host"),
    ("networks", "list of {network}", false, "networks to join (default: the project's default network)"),
    ("volumes", "list of {volume, target, read_only}", false, "volumes mounted by name"),
    ("restart_policy", "no | always | on-failure | unless-stopped", false, "what the runtime does when the container exits"),
    ("healthcheck", "{http: {port, path} | tcp: {port} | command, interval, timeout, retries}", false, "a probe the agent runs"),
    ("labels", "map of strings", false, "runtime labels (flotilla.* are reserved)"),
    ("host_cluster", "string", false, "a host pool: only its hosts"),
    ("host_node", "string", false, "a host; must belong to host_cluster when both are set"),
    ("constraints", "list of strings", false, "`key == value` / `key != value` over zone, pool, name, label.KEY"),
    ("privileged", "boolean", false, "admins only: run privileged"),
    ("binds", "list of strings", false, "admins only: host bind mounts, HOST_PATH:TARGET[:ro]"),
    ("host_network", "boolean", false, "admins only: share the host's network namespace"),
    ("stop_timeout", "integer", false, "seconds between SIGTERM and SIGKILL on stop (default 10)"),
];

#[utoipa::path(get, path = "/v1/profile-types", tag = "profiles", responses((status = 200, body = ProfileTypes)))]
pub async fn profile_types(_caller: Principal) -> Json<ProfileTypes> {
    let properties = CONTAINER_PROPERTIES
        .iter()
        .map(|&(name, type_name, required, description)| PropertySchema { name, type_name, required, description })
        .collect();
    Json(ProfileTypes { profile_types: vec![ProfileType { name: CONTAINER_DOCKER, version: CONTAINER_DOCKER_VERSION, properties }] })
}

#[cfg(test)]
mod tests {
    use flotilla_core::profile::ContainerProperties;

    /// Every property the spec reads is described, and nothing else.
    #[test]
    fn the_schema_names_every_property() {
        let full = ContainerProperties {
            image: "x".into(),
            command: vec!["c".into()],
            environment: [("A".to_owned(), "b".to_owned())].into(),
            cpu: Some(1.0),
            memory: Some(8),
            ports: vec![serde_json::from_str(r#"{"container": 80}"#).unwrap()],
            networks: vec![serde_json::from_str(r#"{"network": "n"}"#).unwrap()],
            volumes: vec![serde_json::from_str(r#"{"volume": "v", "target": "/v"}"#).unwrap()],
            restart_policy: Some(serde_json::from_str(r#""always""#).unwrap()),
            healthcheck: Some(serde_json::from_str(r#"{"tcp": {"port": 1}}"#).unwrap()),
            labels: [("a".to_owned(), "b".to_owned())].into(),
            host_cluster: Some("p".into()),
            host_node: Some("h".into()),
            constraints: vec!["zone == a".into()],
            privileged: true,
            binds: vec!["/a:/b".into()],
            host_network: true,
            stop_timeout: Some(3),
        };
        let serialized = serde_json::to_value(&full).unwrap();
        let keys: Vec<&str> = serialized.as_object().unwrap().keys().map(String::as_str).collect();
        let mut described: Vec<&str> = super::CONTAINER_PROPERTIES.iter().map(|p| p.0).collect();
        described.sort_unstable();
        assert_eq!(keys, described);
    }
}
