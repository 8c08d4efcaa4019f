//! `flotilla agent`: the host agent role — joins a region and runs its containers on the local
//! Docker Engine, or simulates one or many hosts in memory (`--runtime sim`, `--simulate-hosts N`).
//! Its settings: `agent_settings`.

use super::agent_settings::AgentSettings;
pub use super::agent_settings::{AgentArgs, RuntimeKind};
use super::{logging, server, shutdown};
use anyhow::{Context, Result, bail};
use flotilla_agent::runtime::ContainerRuntime;
use flotilla_agent::runtime::docker::DockerRuntime;
use flotilla_agent::runtime::sim::{SimConfig, SimRuntime};
use flotilla_agent::{Agent, advertised_address, start_simulated};
use flotilla_agent::{AgentConfig, CapacityOverride};
use std::net::SocketAddr;
use std::sync::Arc;

/// The port an agent serves the server's calls on unless told otherwise.
pub const DEFAULT_AGENT_PORT: u16 = 7947;

/// The simulated runtime's knobs from the settings.
fn sim_config(settings: &AgentSettings) -> SimConfig {
    SimConfig {
        latency: std::time::Duration::from_millis(settings.sim_latency_ms),
        failure_rate: settings.sim_failure_rate,
        ..SimConfig::default()
    }
}

/// This machine's hostname, the default host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "host".into())
}

/// The runtime an agent drives.
pub async fn runtime(kind: RuntimeKind, sim: SimConfig) -> Result<Arc<dyn ContainerRuntime>> {
    Ok(match kind {
        RuntimeKind::Docker => Arc::new(DockerRuntime::connect().await.context("cannot reach the Docker Engine (is it running?)")?),
        RuntimeKind::Sim => Arc::new(SimRuntime::new(sim)),
    })
}

/// Where the callback listens and the URL it is advertised at: on the advertised address only.
async fn callback_addresses(listen: Option<SocketAddr>, advertise: Option<String>) -> Result<(SocketAddr, Option<String>)> {
    let advertise = match (listen, advertise) {
        (Some(listen), advertise @ Some(_)) => return Ok((listen, advertise)),
        (Some(listen), None) if listen.ip().is_unspecified() => bail!(
            "--listen {listen} would serve the callback (exec into every container) on every interface: \
             give the address the server reaches this host at, or --advertise URL as well"
        ),
        (Some(listen), None) => return Ok((listen, None)),
        (None, Some(advertise)) => advertise,
        (None, None) => format!("https://{}:{DEFAULT_AGENT_PORT}", hostname()),
    };
    let listen = advertised_address(&advertise, DEFAULT_AGENT_PORT)
        .await
        .with_context(|| format!("cannot find the address of {advertise} to listen on: pass --listen ADDR"))?;
    Ok((listen, Some(advertise)))
}

pub async fn run(args: AgentArgs) -> Result<()> {
    let settings = AgentSettings::from_args(&args)?;
    logging::init(settings.log_format)?;
    let stop = shutdown::on_signal()?;
    let name = settings.name.clone().unwrap_or_else(hostname);
    let mut config = AgentConfig::new(&settings.server, String::new(), name);
    config.join_token = settings.join_token.clone();
    config.state_dir = Some(settings.state_dir.clone());
    config.ca_cert = match &settings.ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read ca_cert {}", path.display()))?),
        None => None,
    };
    config.zone = settings.zone.clone();
    config.pool = settings.pool.clone();
    config.labels = settings.labels.clone();
    (config.listen, config.advertise) = callback_addresses(settings.listen, settings.advertise.clone()).await?;
    config.capacity = CapacityOverride { cpus: settings.cpus, memory_mib: settings.memory_mib, disk_mib: None };
    // Docker hosts answer their networks' names on each gateway (containers are pointed there)
    // and route between the networks their routers join.
    config.dns_port = (settings.runtime == RuntimeKind::Docker).then_some(53);
    config.routing = settings.runtime == RuntimeKind::Docker;
    config.tunnel_address = settings.tunnel_address;
    config.metrics_listen = settings.metrics_listen;
    if let Some(secs) = settings.report_interval {
        config.timings.cpu_sample = std::time::Duration::from_secs(secs);
        config.timings.full_report = std::time::Duration::from_secs(secs);
    }
    if let Some(hosts) = settings.simulate_hosts {
        if settings.runtime != RuntimeKind::Sim {
            bail!("simulate_hosts needs runtime sim");
        }
        let agents = start_simulated(config, hosts, sim_config(&settings)).await.context("simulated hosts cannot join")?;
        let mut said = vec![format!("{} simulated hosts joined {}", agents.len(), settings.server)];
        said.extend(agents.iter().filter_map(|a| Some(format!("{}: metrics at http://{}/metrics", a.name(), a.metrics_addr()?))));
        server::announce(&said)?;
        stop.await;
        futures::future::join_all(agents.into_iter().map(Agent::shutdown)).await;
        return Ok(());
    }
    let runtime = match (settings.runtime, &settings.docker_host) {
        (RuntimeKind::Docker, Some(endpoint)) => Arc::new(
            DockerRuntime::connect_to(endpoint)
                .await
                .with_context(|| format!("cannot reach the Docker Engine at --docker-host {endpoint}"))?,
        ),
        (kind, _) => runtime(kind, sim_config(&settings)).await?,
    };
    let agent = Agent::start(config, runtime).await.context("the agent cannot join its region")?;
    let mut said =
        vec![format!("host {} joined {} as {} (serving calls at {})", agent.name(), settings.server, agent.host_id(), agent.advertise())];
    if let Some(addr) = agent.metrics_addr() {
        said.push(format!("metrics at http://{addr}/metrics"));
    }
    server::announce(&said)?;
    agent.run_until(stop).await;
    Ok(())
}
