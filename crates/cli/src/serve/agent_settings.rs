//! `flotilla agent` settings: each from its flag, else its `FLOTILLA_*` variable, else the TOML
//! config file (`--config`, keys are the flags' names), else the default.

use super::logging::{LogArgs, LogFormat};
use super::settings::load_toml;
use anyhow::{Result, anyhow};
use clap::Args;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where an agent keeps its host credential unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/flotilla/agent";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Docker,
    Sim,
}

#[derive(Debug, Clone, Default, Args)]
pub struct AgentArgs {
    /// The region server's URL.
    #[arg(long, env = "FLOTILLA_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// A join token from `flotilla host join-token`; not needed by a host that joined before and
    /// kept its credential in --state-dir.
    #[arg(long, env = "FLOTILLA_JOIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub join_token: Option<String>,
    /// Where the host credential is kept (mode 0600), so that a restarted agent joins again as the
    /// same host without a join token [default: /var/lib/flotilla/agent].
    #[arg(long, env = "FLOTILLA_AGENT_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Also trust the certificates of this PEM file for the server's HTTPS.
    #[arg(long, env = "FLOTILLA_CACERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// The container runtime [default: docker].
    #[arg(long, env = "FLOTILLA_AGENT_RUNTIME", value_enum)]
    pub runtime: Option<RuntimeKind>,
    /// With `--runtime docker`: the engine's socket, `unix:///PATH` [default: /var/run/docker.sock].
    #[arg(long, env = "DOCKER_HOST", value_name = "unix:///PATH")]
    pub docker_host: Option<String>,
    /// The host's name [default: this machine's hostname].
    #[arg(long, env = "FLOTILLA_AGENT_NAME")]
    pub name: Option<String>,
    /// The host's availability zone.
    #[arg(long, env = "FLOTILLA_AGENT_ZONE")]
    pub zone: Option<String>,
    /// The host pool (what profiles call `host_cluster`).
    #[arg(long, env = "FLOTILLA_AGENT_POOL")]
    pub pool: Option<String>,
    /// A host label, `key=value`; repeatable (the variable: comma-separated).
    #[arg(long = "label", env = "FLOTILLA_AGENT_LABELS", value_name = "KEY=VALUE", value_delimiter = ',', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Address to serve the server's calls (logs, exec, stats, top; mutual TLS) on [default: the
    /// address --advertise names, else HOSTNAME:7947]. Not 0.0.0.0 unless --advertise is given.
    #[arg(long, env = "FLOTILLA_AGENT_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// URL the server reaches this agent at [default: https://LISTEN, else https://HOSTNAME:7947].
    #[arg(long, env = "FLOTILLA_AGENT_ADVERTISE", value_name = "URL")]
    pub advertise: Option<String>,
    /// This host's IPv4 address on the underlay: other hosts' VXLAN packets come to it, and the
    /// host's networks span hosts (Docker runtime). Without it, its networks stay local bridges.
    #[arg(long, env = "FLOTILLA_TUNNEL_ADDRESS", value_name = "IP")]
    pub tunnel_address: Option<Ipv4Addr>,
    /// CPUs to announce instead of the machine's.
    #[arg(long, env = "FLOTILLA_AGENT_CPUS")]
    pub cpus: Option<f64>,
    /// Memory (MiB) to announce instead of the machine's.
    #[arg(long, env = "FLOTILLA_AGENT_MEMORY_MIB", value_name = "MIB")]
    pub memory_mib: Option<u64>,
    /// Seconds between CPU samples of the containers and between full reports to the server
    /// [default: 10 s and 30 s]; tests shorten it to see CPU use sooner.
    #[arg(long, env = "FLOTILLA_AGENT_REPORT_INTERVAL", value_name = "SECS")]
    pub report_interval: Option<u64>,
    /// Serve the agent's Prometheus metrics at http://ADDR/metrics (reconcile time, runtime
    /// errors, probe results); with --simulate-hosts, host i at port + i - 1.
    #[arg(long, env = "FLOTILLA_AGENT_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// With `--runtime sim`: run this many simulated hosts, named NAME-1 ... NAME-N.
    #[arg(long, env = "FLOTILLA_AGENT_SIMULATE_HOSTS", value_name = "N")]
    pub simulate_hosts: Option<usize>,
    /// With `--runtime sim`: delay added to every container operation, in milliseconds [default: 0].
    #[arg(long, env = "FLOTILLA_AGENT_SIM_LATENCY_MS", value_name = "MS")]
    pub sim_latency_ms: Option<u64>,
    /// With `--runtime sim`: share (0 to 1) of container creates and starts that fail [default: 0].
    #[arg(long, env = "FLOTILLA_AGENT_SIM_FAILURE_RATE", value_name = "SHARE")]
    pub sim_failure_rate: Option<f64>,
    /// TOML file with any of: server, join_token, state_dir, ca_cert, runtime, docker_host, name,
    /// zone, pool, label (a list of "key=value"), listen, advertise, tunnel_address, cpus,
    /// memory_mib, report_interval, metrics_listen, simulate_hosts, sim_latency_ms, sim_failure_rate,
    /// log_format.
    #[arg(long, env = "FLOTILLA_AGENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The optional config file; a key it does not know is an error that names the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    pub server: Option<String>,
    pub join_token: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub runtime: Option<RuntimeKind>,
    pub docker_host: Option<String>,
    pub name: Option<String>,
    pub zone: Option<String>,
    pub pool: Option<String>,
    pub label: Option<Vec<String>>,
    pub listen: Option<SocketAddr>,
    pub advertise: Option<String>,
    pub tunnel_address: Option<Ipv4Addr>,
    pub cpus: Option<f64>,
    pub memory_mib: Option<u64>,
    pub report_interval: Option<u64>,
    pub metrics_listen: Option<SocketAddr>,
    pub simulate_hosts: Option<usize>,
    pub sim_latency_ms: Option<u64>,
    pub sim_failure_rate: Option<f64>,
    pub log_format: Option<LogFormat>,
}

impl AgentFile {
    pub fn load(path: &Path) -> Result<Self> {
        load_toml(path, "agent")
    }
}

/// The settings an agent starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    pub server: String,
    pub join_token: Option<String>,
    pub state_dir: PathBuf,
    pub ca_cert: Option<PathBuf>,
    pub runtime: RuntimeKind,
    pub docker_host: Option<String>,
    pub name: Option<String>,
    pub zone: String,
    pub pool: String,
    pub labels: BTreeMap<String, String>,
    pub listen: Option<SocketAddr>,
    pub advertise: Option<String>,
    pub tunnel_address: Option<Ipv4Addr>,
    pub cpus: Option<f64>,
    pub memory_mib: Option<u64>,
    pub report_interval: Option<u64>,
    pub metrics_listen: Option<SocketAddr>,
    pub simulate_hosts: Option<usize>,
    pub sim_latency_ms: u64,
    pub sim_failure_rate: f64,
    pub log_format: LogFormat,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("label {text:?} must read key=value")),
    }
}

impl AgentSettings {
    /// Reads the config file named by `--config` (if any) and merges it under the flags.
    pub fn from_args(args: &AgentArgs) -> Result<Self> {
        let file = args.config.as_deref().map(AgentFile::load).transpose()?.unwrap_or_default();
        Self::merge(args, file)
    }

    /// Flags (clap has already put environment variables in their place) over the file over defaults.
    pub fn merge(args: &AgentArgs, file: AgentFile) -> Result<Self> {
        let server =
            args.server.clone().or(file.server).ok_or_else(|| {
                anyhow!("server: the region server's URL is needed (--server, FLOTILLA_SERVER or the config file's server)")
            })?;
        let labels = match (&args.labels[..], file.label) {
            ([], Some(labels)) => labels.iter().map(|l| parse_label(l)).collect::<Result<_, _>>().map_err(|e| anyhow!("label: {e}"))?,
            (labels, _) => labels.iter().cloned().collect(),
        };
        let report_interval = args.report_interval.or(file.report_interval);
        if let Some(secs) = report_interval {
            flotilla_core::bounds::range("report_interval", secs, 1, 3600)?;
        }
        let sim_failure_rate = args.sim_failure_rate.or(file.sim_failure_rate).unwrap_or(0.0);
        flotilla_core::bounds::range("sim_failure_rate", sim_failure_rate, 0.0, 1.0)?;
        Ok(AgentSettings {
            server: server.trim_end_matches('/').to_owned(),
            join_token: args.join_token.clone().or(file.join_token),
            state_dir: args.state_dir.clone().or(file.state_dir).unwrap_or_else(|| DEFAULT_STATE_DIR.into()),
            ca_cert: args.ca_cert.clone().or(file.ca_cert),
            runtime: args.runtime.or(file.runtime).unwrap_or(RuntimeKind::Docker),
            docker_host: args.docker_host.clone().or(file.docker_host),
            name: args.name.clone().or(file.name),
            zone: args.zone.clone().or(file.zone).unwrap_or_default(),
            pool: args.pool.clone().or(file.pool).unwrap_or_default(),
            labels,
            listen: args.listen.or(file.listen),
            advertise: args.advertise.clone().or(file.advertise),
            tunnel_address: args.tunnel_address.or(file.tunnel_address),
            cpus: args.cpus.or(file.cpus),
            memory_mib: args.memory_mib.or(file.memory_mib),
            report_interval,
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            simulate_hosts: args.simulate_hosts.or(file.simulate_hosts),
            sim_latency_ms: args.sim_latency_ms.or(file.sim_latency_ms).unwrap_or(0),
            sim_failure_rate,
            log_format: args.log.format_or(file.log_format),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> AgentFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let args = AgentArgs { name: Some("flag-name".into()), labels: vec![("rack".into(), "r9".into())], ..AgentArgs::default() };
        let settings = AgentSettings::merge(
            &args,
            file("server = \"http://s:1/\"\nname = \"file-name\"\nzone = \"z1\"\nlabel = [\"rack=r1\", \"disk=ssd\"]\nruntime = \"sim\"\n"),
        )
        .unwrap();
        assert_eq!(settings.server, "http://s:1");
        assert_eq!(settings.name.as_deref(), Some("flag-name"));
        assert_eq!(settings.zone, "z1");
        assert_eq!(settings.labels, BTreeMap::from([("rack".into(), "r9".into())]), "the flags' labels replace the file's");
        assert_eq!(settings.runtime, RuntimeKind::Sim);
        assert_eq!(settings.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert_eq!(settings.log_format, LogFormat::Text);
    }

    #[test]
    fn bad_settings_are_named() {
        let refused = |text: &str| format!("{:#}", AgentSettings::merge(&AgentArgs::default(), file(text)).unwrap_err());
        assert!(refused("zone = \"z\"").contains("server"));
        let error = refused("server = \"http://s:1\"\nsim_failure_rate = 1.5");
        assert!(error.contains("sim_failure_rate") && error.contains("1.5"), "{error}");
        let error = refused("server = \"http://s:1\"\nlabel = [\"nokey\"]");
        assert!(error.contains("label") && error.contains("nokey"), "{error}");
        let error = refused("server = \"http://s:1\"\nreport_interval = 0");
        assert!(error.contains("report_interval"), "{error}");
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("agent.toml");
        std::fs::write(&path, "server = \"http://s:1\"\nservr = \"x\"\n").unwrap();
        let error = format!("{:#}", AgentFile::load(&path).unwrap_err());
        assert!(error.contains("servr") && error.contains("agent.toml"), "{error}");
    }
}
