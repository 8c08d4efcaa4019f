//! Profiles: the spec of what a container is (`container.docker` 1.0) and its validation.

use crate::bounds;
use crate::validation::ValidationError;
use std::collections::BTreeMap;

pub const CONTAINER_DOCKER: &str = "container.docker";
pub const CONTAINER_DOCKER_VERSION: &str = "1.0";

/// A profile spec as users write it: `{type, version, properties}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    #[serde(rename = "type")]
    pub type_name: String,
    pub version: String,
    pub properties: ContainerProperties,
}

/// The properties of a `container.docker` 1.0 profile.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerProperties {
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeMount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_node: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// Admin only: run privileged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Admin only: host bind mounts, `HOST_PATH:TARGET[:ro]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binds: Vec<String>,
    /// Admin only: share the host's network namespace.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_network: bool,
    /// Seconds between SIGTERM and SIGKILL on stop (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u32>,
}

impl ContainerProperties {
    /// What runs need that only admins may ask for: privileged mode, host bind mounts, host networking.
    pub fn admin_only_field(&self) -> Option<&'static str> {
        if self.privileged {
            Some("privileged")
        } else if !self.binds.is_empty() {
            Some("binds")
        } else if self.host_network {
            Some("host_network")
        } else {
            None
        }
    }

    /// CPU in thousandths of a core (a request and a limit); none given means no limit and no request.
    pub fn cpu_millis(&self) -> u64 {
        self.cpu.map_or(0, |c| (c * 1000.0).round() as u64)
    }

    pub fn memory_mib(&self) -> u64 {
        self.memory.unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    pub container: u16,
    #[serde(default = "tcp")]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<u16>,
}

fn tcp() -> String {
    "tcp".to_owned()
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkRef {
    pub network: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeMount {
    pub volume: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default = "five")]
    pub interval: u32,
    #[serde(default = "two")]
    pub timeout: u32,
    #[serde(default = "three")]
    pub retries: u32,
}

fn five() -> u32 {
    5
}
fn two() -> u32 {
    2
}
fn three() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    pub port: u16,
    #[serde(default = "root_path")]
    pub path: String,
}

fn root_path() -> String {
    "/".to_owned()
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    pub port: u16,
}

impl ProfileSpec {
    /// Checks everything that can be checked without looking at other objects.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.type_name != CONTAINER_DOCKER {
            return Err(ValidationError::new("type", &self.type_name, format!("unknown profile type; known: {CONTAINER_DOCKER}")));
        }
        if self.version != CONTAINER_DOCKER_VERSION {
            return Err(ValidationError::new(
                "version",
                &self.version,
                format!("{CONTAINER_DOCKER} supports version {CONTAINER_DOCKER_VERSION}"),
            ));
        }
        self.properties.validate_at("properties.")
    }
}

impl ContainerProperties {
    /// Checks the properties; field paths in errors start with `prefix` (`""` at a body's root).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        let p = prefix;
        if self.image.trim().is_empty() {
            return Err(ValidationError::new(format!("{p}image"), &self.image, "is required"));
        }
        crate::image::validate_reference(&format!("{p}image"), &self.image)?;
        self.validate_limits(p)?;
        bounds::strings(&format!("{p}command"), &self.command, bounds::MAX_VALUE_LEN)?;
        bounds::string_map(&format!("{p}environment"), &self.environment)?;
        bounds::string_map(&format!("{p}labels"), &self.labels)?;
        bounds::strings(&format!("{p}constraints"), &self.constraints, bounds::MAX_TEXT_LEN)?;
        bounds::strings(&format!("{p}binds"), &self.binds, bounds::MAX_TEXT_LEN)?;
        bounds::entries(format!("{p}ports"), self.ports.len())?;
        bounds::entries(format!("{p}networks"), self.networks.len())?;
        bounds::entries(format!("{p}volumes"), self.volumes.len())?;
        for (field, value) in [("host_cluster", &self.host_cluster), ("host_node", &self.host_node)] {
            if let Some(value) = value {
                bounds::text(format!("{p}{field}"), value, bounds::MAX_KEY_LEN)?;
            }
        }
        if let Some(stop) = self.stop_timeout {
            bounds::range(format!("{p}stop_timeout"), u64::from(stop), 0, bounds::MAX_SECONDS)?;
        }
        for (i, port) in self.ports.iter().enumerate() {
            if port.container == 0 {
                return Err(ValidationError::new(format!("{p}ports[{i}].container"), 0, "must be 1-65535"));
            }
            if port.host == Some(0) {
                return Err(ValidationError::new(format!("{p}ports[{i}].host"), 0, "must be 1-65535"));
            }
            if port.protocol != "tcp" && port.protocol != "udp" {
                return Err(ValidationError::new(format!("{p}ports[{i}].protocol"), &port.protocol, "must be tcp or udp"));
            }
        }
        for (i, bind) in self.binds.iter().enumerate() {
            let parts: Vec<&str> = bind.split(':').collect();
            let valid = (2..=3).contains(&parts.len())
                && parts[0].starts_with('/')
                && parts[1].starts_with('/')
                && parts.get(2).is_none_or(|mode| *mode == "ro" || *mode == "rw");
            if !valid {
                return Err(ValidationError::new(format!("{p}binds[{i}]"), bind, "must read `/host/path:/target[:ro|rw]`"));
            }
        }
        for (i, mount) in self.volumes.iter().enumerate() {
            if !mount.target.starts_with('/') {
                return Err(ValidationError::new(format!("{p}volumes[{i}].target"), &mount.target, "must be an absolute path"));
            }
            bounds::text(format!("{p}volumes[{i}].target"), &mount.target, bounds::MAX_TEXT_LEN)?;
        }
        if let Some(check) = &self.healthcheck {
            let probes = usize::from(check.http.is_some()) + usize::from(check.tcp.is_some()) + usize::from(!check.command.is_empty());
            if probes != 1 {
                return Err(ValidationError::new(format!("{p}healthcheck"), probes, "give exactly one of http, tcp or command"));
            }
            bounds::range(format!("{p}healthcheck.interval"), u64::from(check.interval), 1, bounds::MAX_SECONDS)?;
            bounds::range(format!("{p}healthcheck.timeout"), u64::from(check.timeout), 0, bounds::MAX_SECONDS)?;
            bounds::range(format!("{p}healthcheck.retries"), check.retries, 0, MAX_HEALTHCHECK_RETRIES)?;
            bounds::strings(&format!("{p}healthcheck.command"), &check.command, bounds::MAX_VALUE_LEN)?;
            if let Some(http) = &check.http {
                bounds::text(format!("{p}healthcheck.http.path"), &http.path, bounds::MAX_TEXT_LEN)?;
            }
        }
        for (i, constraint) in self.constraints.iter().enumerate() {
            let valid =
                ["==", "!="].iter().any(|op| constraint.split_once(op).is_some_and(|(k, v)| !k.trim().is_empty() && !v.trim().is_empty()));
            if !valid {
                return Err(ValidationError::new(format!("{p}constraints[{i}]"), constraint, "must read `key == value` or `key != value`"));
            }
        }
        Ok(())
    }

    /// Checks the CPU and memory a container asks for (also what an update of them must meet).
    pub fn validate_limits(&self, prefix: &str) -> Result<(), ValidationError> {
        if let Some(cpu) = self.cpu
            && !(MIN_CPU_CORES..=bounds::MAX_CPU_CORES).contains(&cpu)
        {
            let max = bounds::MAX_CPU_CORES;
            return Err(ValidationError::new(format!("{prefix}cpu"), cpu, format!("must be between {MIN_CPU_CORES} and {max} cores")));
        }
        if let Some(memory) = self.memory {
            bounds::range(format!("{prefix}memory"), memory, bounds::MIN_MEMORY_MIB, bounds::MAX_MEMORY_MIB)?;
        }
        Ok(())
    }
}

/// The most retries a health check may count before it calls a container unhealthy.
pub const MAX_HEALTHCHECK_RETRIES: u32 = 1000;

/// The fewest cores a container may ask for: one thousandth, what the scheduler counts in.
pub const MIN_CPU_CORES: f64 = 0.001;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProfileSpec {
        ProfileSpec {
            type_name: CONTAINER_DOCKER.into(),
            version: CONTAINER_DOCKER_VERSION.into(),
            properties: ContainerProperties { image: "busybox".into(), ..Default::default() },
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert!(spec().validate().is_ok());
        type Mutation = Box<dyn Fn(&mut ProfileSpec)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|s| s.type_name = "vm.nova".into()), "type"),
            (Box::new(|s| s.version = "2.0".into()), "version"),
            (Box::new(|s| s.properties.image = " ".into()), "properties.image"),
            (Box::new(|s| s.properties.cpu = Some(0.0)), "properties.cpu"),
            (Box::new(|s| s.properties.memory = Some(1)), "properties.memory"),
            (
                Box::new(|s| s.properties.ports = vec![PortSpec { container: 80, protocol: "sctp".into(), host: None }]),
                "properties.ports[0].protocol",
            ),
            (
                Box::new(|s| s.properties.volumes = vec![VolumeMount { volume: "d".into(), target: "data".into(), read_only: false }]),
                "properties.volumes[0].target",
            ),
            (Box::new(|s| s.properties.constraints = vec!["zone az1".into()]), "properties.constraints[0]"),
        ];
        for (mutate, field) in cases {
            let mut s = spec();
            mutate(&mut s);
            assert_eq!(s.validate().unwrap_err().field, field);
        }
    }
}

/// A saved profile: an immutable spec under a changeable name.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: crate::ProfileId,
    pub name: crate::Name,
    pub project_id: crate::ProjectId,
    pub user_id: crate::UserId,
    pub spec: ProfileSpec,
    pub metadata: crate::Metadata,
    pub created_at: crate::Timestamp,
    pub updated_at: crate::Timestamp,
}
