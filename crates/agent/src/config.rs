//! What an agent is told at start: where its region is, who it is, where it listens, its timings.

use flotilla_api::Capacity;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// An agent's configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Base URL of the region server, e.g. `https://10.0.0.1:7700`.
    pub server: String,
    /// Needed to join under a new name; a host that saved its credential joins again without it.
    pub join_token: Option<String>,
    /// The host's name; joining again under the same name keeps the host's id.
    pub name: String,
    /// Where the host credential is saved at each join and read at start; in memory only when absent.
    pub state_dir: Option<PathBuf>,
    /// Certificates (PEM) trusted for the server's HTTPS besides the system's roots.
    pub ca_cert: Option<Vec<u8>>,
    pub zone: String,
    pub pool: String,
    pub labels: BTreeMap<String, String>,
    /// Where the agent serves the server's interactive calls (mutual TLS).
    pub listen: SocketAddr,
    /// Base URL the server uses to reach the agent; default `https://{bound listen address}`.
    pub advertise: Option<String>,
    /// Replaces what the runtime reports, field by field.
    pub capacity: CapacityOverride,
    pub timings: Timings,
}

impl AgentConfig {
    /// A configuration with defaults: no zone, pool or labels, listening on `127.0.0.1:0`.
    pub fn new(server: impl Into<String>, join_token: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            join_token: Some(join_token.into()),
            name: name.into(),
            state_dir: None,
            ca_cert: None,
            zone: String::new(),
            pool: String::new(),
            labels: BTreeMap::new(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            advertise: None,
            capacity: CapacityOverride::default(),
            timings: Timings::default(),
        }
    }
}

/// Capacity to announce instead of the runtime's own figures (so agents sharing one engine differ).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CapacityOverride {
    pub cpus: Option<f64>,
    pub memory_mib: Option<u64>,
    pub disk_mib: Option<u64>,
}

impl CapacityOverride {
    pub fn apply(&self, measured: Capacity) -> Capacity {
        Capacity {
            cpus: self.cpus.unwrap_or(measured.cpus),
            memory_mib: self.memory_mib.unwrap_or(measured.memory_mib),
            disk_mib: self.disk_mib.unwrap_or(measured.disk_mib),
        }
    }
}

/// The agent's clocks. The defaults are what production uses; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// How long a join keeps retrying an unreachable (or unavailable) server.
    pub join_retry_for: Duration,
    /// Seconds the server may hold a long-poll for assignments.
    pub long_poll_wait_secs: u64,
    /// How often the runtime is listed and reconciled without a new assignment set.
    pub resync: Duration,
    /// How often every assigned container is reported, changed or not.
    pub full_report: Duration,
    /// How long a container that failed to be created or started is left alone.
    pub failure_retry: Duration,
    /// How often the prober looks for due health checks (each runs every `interval` of its own).
    pub probe_tick: Duration,
    /// How often the CPU use of every running container is sampled.
    pub cpu_sample: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            join_retry_for: Duration::from_secs(30),
            long_poll_wait_secs: 30,
            resync: Duration::from_secs(2),
            full_report: Duration::from_secs(30),
            failure_retry: Duration::from_secs(10),
            probe_tick: Duration::from_secs(1),
            cpu_sample: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_field_by_field() {
        let measured = Capacity { cpus: 8.0, memory_mib: 16384, disk_mib: 1000 };
        let o = CapacityOverride { cpus: Some(2.0), memory_mib: None, disk_mib: Some(10) };
        assert_eq!(o.apply(measured), Capacity { cpus: 2.0, memory_mib: 16384, disk_mib: 10 });
        assert_eq!(CapacityOverride::default().apply(measured), measured);
    }
}
