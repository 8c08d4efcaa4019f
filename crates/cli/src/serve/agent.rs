//! `flotilla agent`: the host agent role — joins a region and runs its containers on the local
//! Docker Engine, or simulates one or many hosts in memory (`--runtime sim`, `--simulate-hosts N`).

use super::{logging, server, shutdown};
use anyhow::{Context, Result, bail};
use clap::Args;
use flotilla_agent::runtime::ContainerRuntime;
use flotilla_agent::runtime::docker::DockerRuntime;
use flotilla_agent::runtime::sim::{SimConfig, SimRuntime};
use flotilla_agent::{Agent, advertised_address, start_simulated};
use flotilla_agent::{AgentConfig, CapacityOverride};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The port an agent serves the server's calls on unless told otherwise.
pub const DEFAULT_AGENT_PORT: u16 = 7947;
/// Where an agent keeps its host credential unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/flotilla/agent";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    Docker,
    Sim,
}

#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// The region server's URL.
    #[arg(long, env = "FLOTILLA_SERVER", value_name = "URL")]
    pub server: String,
    /// A join token from `flotilla host join-token`; not needed by a host that joined before and
    /// kept its credential in --state-dir.
    #[arg(long, env = "FLOTILLA_JOIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub join_token: Option<String>,
    /// Where the host credential is kept (mode 0600), so that a restarted agent joins again as the
    /// same host without a join token.
    #[arg(long, env = "FLOTILLA_AGENT_STATE_DIR", value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// Also trust the certificates of this PEM file for the server's HTTPS.
    #[arg(long, env = "FLOTILLA_CACERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = RuntimeKind::Docker)]
    pub runtime: RuntimeKind,
    /// With `--runtime docker`: the engine's socket, `unix:///PATH` [default: /var/run/docker.sock].
    #[arg(long, env = "DOCKER_HOST", value_name = "unix:///PATH")]
    pub docker_host: Option<String>,
    /// The host's name [default: this machine's hostname].
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "")]
    pub zone: String,
    /// The host pool (what profiles call `host_cluster`).
    #[arg(long, default_value = "")]
    pub pool: String,
    /// A host label, `key=value`; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Address to serve the server's calls (logs, exec, stats, top; mutual TLS) on [default: the
    /// address --advertise names, else HOSTNAME:7947]. Not 0.0.0.0 unless --advertise is given.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// URL the server reaches this agent at [default: https://LISTEN, else https://HOSTNAME:7947].
    #[arg(long, value_name = "URL")]
    pub advertise: Option<String>,
    /// This host's IPv4 address on the underlay: other hosts' VXLAN packets come to it, and the
    /// host's networks span hosts (Docker runtime). Without it, its networks stay local bridges.
    #[arg(long, env = "FLOTILLA_TUNNEL_ADDRESS", value_name = "IP")]
    pub tunnel_address: Option<std::net::Ipv4Addr>,
    /// CPUs to announce instead of the machine's.
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Memory (MiB) to announce instead of the machine's.
    #[arg(long, value_name = "MIB")]
    pub memory_mib: Option<u64>,
    /// Seconds between CPU samples of the containers and between full reports to the server
    /// [default: 10 s and 30 s]; tests shorten it to see CPU use sooner.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub report_interval: Option<u64>,
    /// Serve the agent's Prometheus metrics at http://ADDR/metrics (reconcile time, runtime
    /// errors, probe results); with --simulate-hosts, host i at port + i - 1.
    #[arg(long, env = "FLOTILLA_AGENT_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// With `--runtime sim`: run this many simulated hosts, named NAME-1 ... NAME-N.
    #[arg(long, value_name = "N")]
    pub simulate_hosts: Option<usize>,
    /// With `--runtime sim`: delay added to every container operation, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub sim_latency_ms: u64,
    /// With `--runtime sim`: share (0 to 1) of container creates and starts that fail.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub sim_failure_rate: f64,
    #[command(flatten)]
    pub log: logging::LogArgs,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("label {text:?} must read key=value")),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("{text:?} is not a share between 0 and 1")),
    }
}

/// The simulated runtime's knobs from the flags.
fn sim_config(args: &AgentArgs) -> SimConfig {
    SimConfig {
        latency: std::time::Duration::from_millis(args.sim_latency_ms),
        failure_rate: args.sim_failure_rate,
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
    logging::init(&args.log)?;
    let stop = shutdown::on_signal()?;
    let name = args.name.clone().unwrap_or_else(hostname);
    let mut config = AgentConfig::new(args.server.trim_end_matches('/'), String::new(), name);
    config.join_token = args.join_token.clone();
    config.state_dir = Some(args.state_dir.clone());
    config.ca_cert = match &args.ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read --ca-cert {}", path.display()))?),
        None => None,
    };
    config.zone = args.zone.clone();
    config.pool = args.pool.clone();
    config.labels = args.labels.iter().cloned().collect::<BTreeMap<_, _>>();
    (config.listen, config.advertise) = callback_addresses(args.listen, args.advertise.clone()).await?;
    config.capacity = CapacityOverride { cpus: args.cpus, memory_mib: args.memory_mib, disk_mib: None };
    // Docker hosts answer their networks' names on each gateway (containers are pointed there)
    // and route between the networks their routers join.
    config.dns_port = (args.runtime == RuntimeKind::Docker).then_some(53);
    config.routing = args.runtime == RuntimeKind::Docker;
    config.tunnel_address = args.tunnel_address;
    config.metrics_listen = args.metrics_listen;
    if let Some(secs) = args.report_interval {
        config.timings.cpu_sample = std::time::Duration::from_secs(secs);
        config.timings.full_report = std::time::Duration::from_secs(secs);
    }
    if let Some(hosts) = args.simulate_hosts {
        if args.runtime != RuntimeKind::Sim {
            bail!("--simulate-hosts needs --runtime sim");
        }
        let agents = start_simulated(config, hosts, sim_config(&args)).await.context("simulated hosts cannot join")?;
        let mut said = vec![format!("{} simulated hosts joined {}", agents.len(), args.server)];
        said.extend(agents.iter().filter_map(|a| Some(format!("{}: metrics at http://{}/metrics", a.name(), a.metrics_addr()?))));
        server::announce(&said)?;
        stop.await;
        futures::future::join_all(agents.into_iter().map(Agent::shutdown)).await;
        return Ok(());
    }
    let runtime = match (args.runtime, &args.docker_host) {
        (RuntimeKind::Docker, Some(endpoint)) => Arc::new(
            DockerRuntime::connect_to(endpoint)
                .await
                .with_context(|| format!("cannot reach the Docker Engine at --docker-host {endpoint}"))?,
        ),
        (kind, _) => runtime(kind, sim_config(&args)).await?,
    };
    let agent = Agent::start(config, runtime).await.context("the agent cannot join its region")?;
    let mut said =
        vec![format!("host {} joined {} as {} (serving calls at {})", agent.name(), args.server, agent.host_id(), agent.advertise())];
    if let Some(addr) = agent.metrics_addr() {
        said.push(format!("metrics at http://{addr}/metrics"));
    }
    server::announce(&said)?;
    agent.run_until(stop).await;
    Ok(())
}
