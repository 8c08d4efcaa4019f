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
    /// The host's address on the underlay, reported at join: with it, the Docker runtime's
    /// networks span hosts over VXLAN ([`crate::overlay`]); without, they stay local bridges.
    pub tunnel_address: Option<Ipv4Addr>,
    pub timings: Timings,
    /// Serve each network's names on its gateway at this port (53 for containers); none: no
    /// name server (simulated hosts have no bridges).
    pub dns_port: Option<u16>,
    /// Apply the assignments' routers to the host (IP forwarding, iptables rules past Docker's
    /// isolation): hosts of a real runtime.
    pub routing: bool,
    /// Serve the agent's Prometheus metrics at `/metrics` here (plain HTTP); none: not served.
    pub metrics_listen: Option<SocketAddr>,
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
            tunnel_address: None,
            timings: Timings::default(),
            dns_port: None,
            routing: false,
            metrics_listen: None,
        }
    }
}

/// The host part of a URL (`https://[::1]:7947/x` → `::1`): what the agent's certificate names.
pub(crate) fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The socket address an advertised URL names (its port, else `default_port`), resolved: where the
/// agent listens, so that the callback is served on that address only, not on every interface.
pub async fn advertised_address(advertise: &str, default_port: u16) -> std::io::Result<SocketAddr> {
    let rest = advertise.split_once("://").map_or(advertise, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let port = match authority.rsplit_once(':') {
        Some((_, port)) if !port.contains(']') => {
            port.parse().map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad port in {advertise}")))?
        }
        _ => default_port,
    };
    let host = url_host(advertise);
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} has no address")))
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
    fn certificates_name_the_advertised_host() {
        assert_eq!(url_host("https://10.0.0.5:7947"), "10.0.0.5");
        assert_eq!(url_host("https://node-3.example:7947/x"), "node-3.example");
        assert_eq!(url_host("https://[::1]:7947"), "::1");
        assert_eq!(url_host("https://node-3"), "node-3");
    }

    #[tokio::test]
    async fn the_listener_follows_the_advertised_address() {
        assert_eq!(advertised_address("https://127.0.0.1:9001", 7947).await.unwrap(), "127.0.0.1:9001".parse().unwrap());
        assert_eq!(advertised_address("https://127.0.0.2", 7947).await.unwrap(), "127.0.0.2:7947".parse().unwrap());
        assert!(advertised_address("https://127.0.0.1:x", 7947).await.is_err());
    }

    #[test]
    fn overrides_replace_field_by_field() {
        let measured = Capacity { cpus: 8.0, memory_mib: 16384, disk_mib: 1000 };
        let o = CapacityOverride { cpus: Some(2.0), memory_mib: None, disk_mib: Some(10) };
        assert_eq!(o.apply(measured), Capacity { cpus: 2.0, memory_mib: 16384, disk_mib: 10 });
        assert_eq!(CapacityOverride::default().apply(measured), measured);
    }
}
