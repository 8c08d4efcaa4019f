//! Many simulated hosts in one process (`--simulate-hosts N`): one agent per host, each with its
//! own in-memory runtime and listener, sharing one HTTP client.

use crate::agent::Agent;
use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::region::http_client;
use crate::runtime::sim::{SimConfig, SimRuntime};
use futures::StreamExt;
use std::sync::Arc;

/// How many simulated agents join at once.
const CONCURRENT_JOINS: usize = 64;

/// The configuration of simulated host `i` (from 1): named `{name}-{i}`, listening on the given
/// address with port 0 (or `port + i - 1` when a port is given), advertising its bound address;
/// its metrics (when served) likewise at `port + i - 1`.
fn host_config(config: &AgentConfig, i: usize) -> AgentConfig {
    let mut host = config.clone();
    host.name = format!("{}-{i}", config.name);
    nth_port(&mut host.listen, i);
    if let Some(metrics) = &mut host.metrics_listen {
        nth_port(metrics, i);
    }
    host.advertise = None;
    host
}

/// Moves `addr`'s port to `port + i - 1` for host `i`, unless it is 0 (any port).
fn nth_port(addr: &mut std::net::SocketAddr, i: usize) {
    if addr.port() != 0 {
        addr.set_port(u16::try_from(usize::from(addr.port()) + i - 1).unwrap_or(0));
    }
}

/// Starts `hosts` simulated agents, joined concurrently. If any fails to start, those started are
/// shut down and the first error is returned.
pub async fn start_simulated(config: AgentConfig, hosts: usize, sim: SimConfig) -> Result<Vec<Agent>, AgentError> {
    let http = http_client(config.ca_cert.as_deref())?;
    let results: Vec<Result<Agent, AgentError>> = futures::stream::iter(1..=hosts)
        .map(|i| {
            let runtime = Arc::new(SimRuntime::new(SimConfig { seed: sim.seed.wrapping_add(i as u64), ..sim.clone() }));
            Agent::start_with(host_config(&config, i), runtime, http.clone())
        })
        .buffered(CONCURRENT_JOINS)
        .collect()
        .await;
    let (started, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let started: Vec<Agent> = started.into_iter().flatten().collect();
    match failed.into_iter().find_map(Result::err) {
        None => Ok(started),
        Some(error) => {
            futures::future::join_all(started.into_iter().map(Agent::shutdown)).await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_their_own_names_and_ports() {
        let mut config = AgentConfig::new("http://s", "t", "sim");
        config.advertise = Some("http://fixed".into());
        let first = host_config(&config, 1);
        assert_eq!((first.name.as_str(), first.listen.port(), first.advertise), ("sim-1", 0, None));
        config.listen.set_port(9000);
        assert_eq!(host_config(&config, 3).listen.port(), 9002);
    }
}
