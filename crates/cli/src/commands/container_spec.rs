//! What `container run` and `container create` take: a spec file and flags on top of it, merged into
//! the container's properties, and the parsers of `-e`, `-p`, `-v` and `--since`.

use super::common::{MetadataArgs, parse_entry, read_document};
use super::plans::DryRunArgs;
use super::wait::WaitArgs;
use anyhow::{Context, Result, bail};
use chrono::DateTime;
use clap::{Args, ValueEnum};
use flotilla_core::profile::{ContainerProperties, NetworkRef, PortSpec, RestartPolicy, VolumeMount};
use std::path::PathBuf;

/// The flags of `run` and `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the new container.
    #[arg(long)]
    pub name: String,
    /// Image to run (required unless the spec file names one).
    #[arg(long)]
    pub image: Option<String>,
    /// CPU cores: a limit, and what the scheduler reserves.
    #[arg(long, value_name = "CORES")]
    pub cpu: Option<f64>,
    /// Memory limit in MiB.
    #[arg(long, value_name = "MIB")]
    pub memory: Option<u64>,
    /// An environment variable KEY=VALUE, or KEY to pass this shell's value; repeat for more.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Publish a port: [HOST_PORT:]PORT[/tcp|udp], e.g. 8080, 80:8080 or 53/udp; repeat for more.
    #[arg(short = 'p', long = "publish", value_name = "[HOST:]PORT[/PROTO]", value_parser = parse_port)]
    pub ports: Vec<PortSpec>,
    /// Connect to this network (name or id); repeat for more (default: the project's default network).
    #[arg(long = "network", value_name = "NETWORK")]
    pub networks: Vec<String>,
    /// Mount a volume: VOLUME:/TARGET[:ro], e.g. data:/var/lib/data; repeat for more.
    #[arg(short = 'v', long = "volume", value_name = "VOLUME:/TARGET[:ro]", value_parser = parse_volume)]
    pub volumes: Vec<VolumeMount>,
    /// When the runtime restarts the container.
    #[arg(long, value_enum)]
    pub restart: Option<Restart>,
    /// A container label KEY=VALUE; repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_entry)]
    pub labels: Vec<(String, String)>,
    /// Run on this host (name or id).
    #[arg(long, value_name = "HOST")]
    pub host_node: Option<String>,
    /// Run on a host of this pool.
    #[arg(long, value_name = "POOL")]
    pub host_cluster: Option<String>,
    /// A placement constraint, e.g. "zone == az1" or "label.disk == ssd"; repeat for more.
    #[arg(long = "constraint", value_name = "EXPR")]
    pub constraints: Vec<String>,
    /// Start from these properties (YAML, or JSON when the name ends in .json); flags add to them
    /// or replace them.
    #[arg(long, value_name = "FILE")]
    pub spec_file: Option<PathBuf>,
    #[command(flatten)]
    pub metadata: MetadataArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub dry_run: DryRunArgs,
    /// The command to run instead of the image's, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `--restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Restart {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

impl From<Restart> for RestartPolicy {
    fn from(restart: Restart) -> Self {
        match restart {
            Restart::No => RestartPolicy::No,
            Restart::Always => RestartPolicy::Always,
            Restart::OnFailure => RestartPolicy::OnFailure,
            Restart::UnlessStopped => RestartPolicy::UnlessStopped,
        }
    }
}

impl CreateArgs {
    /// The spec file's properties (or none), with the flags applied: single values replace the
    /// file's, lists and maps add to them, a command after `--` replaces the file's.
    pub fn properties(&self) -> Result<ContainerProperties> {
        let mut spec = match &self.spec_file {
            Some(path) => read_document::<ContainerProperties>(path)?,
            None => ContainerProperties::default(),
        };
        if let Some(image) = &self.image {
            spec.image.clone_from(image);
        }
        if spec.image.trim().is_empty() {
            bail!("no image: pass --image IMAGE or name one in --spec-file");
        }
        spec.cpu = self.cpu.or(spec.cpu);
        spec.memory = self.memory.or(spec.memory);
        spec.environment.extend(self.env.iter().cloned());
        spec.ports.extend(self.ports.iter().cloned());
        spec.networks.extend(self.networks.iter().map(|network| NetworkRef { network: network.clone() }));
        spec.volumes.extend(self.volumes.iter().cloned());
        spec.restart_policy = self.restart.map(RestartPolicy::from).or(spec.restart_policy);
        spec.labels.extend(self.labels.iter().cloned());
        spec.host_node = self.host_node.clone().or(spec.host_node.take());
        spec.host_cluster = self.host_cluster.clone().or(spec.host_cluster.take());
        spec.constraints.extend(self.constraints.iter().cloned());
        if !self.command.is_empty() {
            spec.command.clone_from(&self.command);
        }
        Ok(spec)
    }
}

/// `-e KEY=VALUE`, or `-e KEY` for the value of KEY in this shell.
fn parse_env(text: &str) -> Result<(String, String)> {
    if text.contains('=') {
        return parse_entry(text);
    }
    if text.is_empty() {
        bail!("expected KEY=VALUE or KEY");
    }
    let value = std::env::var(text).with_context(|| format!("{text} is not set in this shell; pass {text}=VALUE"))?;
    Ok((text.to_owned(), value))
}

/// `-p [HOST_PORT:]PORT[/PROTO]`, as `docker run -p` reads it.
fn parse_port(text: &str) -> Result<PortSpec> {
    let (ports, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    let protocol = protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp") {
        bail!("unknown protocol {protocol:?}: expected tcp or udp");
    }
    let number = |port: &str| -> Result<u16> {
        match port.parse::<u16>() {
            Ok(0) | Err(_) => bail!("{port:?} is not a port (1-65535); expected [HOST_PORT:]PORT[/tcp|udp]"),
            Ok(port) => Ok(port),
        }
    };
    let (host, container) = match ports.split_once(':') {
        Some((host, container)) => (Some(number(host)?), number(container)?),
        None => (None, number(ports)?),
    };
    Ok(PortSpec { container, protocol, host })
}

/// `-v VOLUME:/TARGET[:ro|rw]`, as `docker run -v` reads a named volume (host paths do not mount).
fn parse_volume(text: &str) -> Result<VolumeMount> {
    const EXPECTED: &str = "expected VOLUME:/TARGET[:ro], e.g. data:/var/lib/data";
    let (volume, target, read_only) = match text.split(':').collect::<Vec<_>>()[..] {
        [volume, target] | [volume, target, "rw"] => (volume, target, false),
        [volume, target, "ro"] => (volume, target, true),
        [_, _, mode] => bail!("unknown mode {mode:?}: expected ro or rw"),
        _ => bail!("{EXPECTED}"),
    };
    if volume.is_empty() {
        bail!("no volume name; {EXPECTED}");
    }
    if volume.starts_with(['/', '.', '~']) {
        bail!("{volume:?} is a host path: only named volumes mount (make one with `flotilla volume create`)");
    }
    if !target.starts_with('/') {
        bail!("the target {target:?} is not an absolute path; {EXPECTED}");
    }
    Ok(VolumeMount { volume: volume.to_owned(), target: target.to_owned(), read_only })
}

/// `--since`: Unix seconds, an RFC 3339 time, or a duration ago (`30s`, `10m`, `2h`, `1d`).
pub fn parse_since(text: &str) -> Result<i64> {
    since_at(text, chrono::Utc::now().timestamp())
}

fn since_at(text: &str, now: i64) -> Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp());
    }
    let expected = "expected Unix seconds, an RFC 3339 time or a duration such as 30s, 10m, 2h, 1d";
    let mut chars = text.chars();
    let unit = match chars.next_back() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => 0,
    };
    match chars.as_str().parse::<u32>() {
        Ok(count) if unit > 0 => Ok(now - i64::from(count) * unit),
        _ => bail!("invalid time {text:?}: {expected}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::commands::containers::ContainerCommand;
    use clap::Parser;

    fn port(container: u16, protocol: &str, host: Option<u16>) -> PortSpec {
        PortSpec { container, protocol: protocol.into(), host }
    }

    #[test]
    fn ports_read_like_docker_run() {
        assert_eq!(parse_port("8080").unwrap(), port(8080, "tcp", None));
        assert_eq!(parse_port("8080:80/udp").unwrap(), port(80, "udp", Some(8080)));
        assert_eq!(parse_port("53/UDP").unwrap(), port(53, "udp", None));
        assert_eq!(parse_port("9000:9000/tcp").unwrap(), port(9000, "tcp", Some(9000)));
        for bad in ["", "0", "70000", "80/sctp", "a:80", "80:", ":80", "1:2:3", "80/"] {
            assert!(parse_port(bad).is_err(), "{bad:?}");
        }
        let err = parse_port("80/sctp").unwrap_err().to_string();
        assert!(err.contains("sctp"), "{err}");
    }

    fn mount(volume: &str, target: &str, read_only: bool) -> VolumeMount {
        VolumeMount { volume: volume.into(), target: target.into(), read_only }
    }

    #[test]
    fn volumes_read_like_docker_run() {
        assert_eq!(parse_volume("data:/var/lib/data").unwrap(), mount("data", "/var/lib/data", false));
        assert_eq!(parse_volume("data:/srv:ro").unwrap(), mount("data", "/srv", true));
        assert_eq!(parse_volume("data:/srv:rw").unwrap(), mount("data", "/srv", false));
        for (bad, says) in [
            ("data", "expected VOLUME:/TARGET[:ro]"),
            ("data:/a:ro:x", "expected VOLUME:/TARGET[:ro]"),
            (":/srv", "no volume name"),
            ("data:srv", "\"srv\" is not an absolute path"),
            ("data:/srv:rx", "unknown mode \"rx\""),
            ("/var/data:/srv", "\"/var/data\" is a host path"),
            ("./data:/srv", "is a host path"),
        ] {
            let err = parse_volume(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        let bad = Cli::try_parse_from(["flotilla", "container", "run", "--name", "a", "-v", "data:srv"]).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().contains("'data:srv'") && bad.to_string().contains("--volume"), "{bad}");
    }

    #[test]
    fn env_entries_may_come_from_the_shell() {
        assert_eq!(parse_env("MODE=demo").unwrap(), ("MODE".into(), "demo".into()));
        assert_eq!(parse_env("EMPTY=").unwrap(), ("EMPTY".into(), String::new()));
        let path = std::env::var("PATH").unwrap();
        assert_eq!(parse_env("PATH").unwrap(), ("PATH".into(), path));
        let err = parse_env("FLOTILLA_TEST_SURELY_UNSET_VAR").unwrap_err().to_string();
        assert!(err.contains("not set"), "{err}");
        assert!(parse_env("=x").is_err() && parse_env("").is_err());
    }

    #[test]
    fn since_takes_times_and_durations() {
        let now = 1_800_000_000;
        assert_eq!(since_at("1700000000", now).unwrap(), 1_700_000_000);
        assert_eq!(since_at("2026-01-01T00:00:00Z", now).unwrap(), 1_767_225_600);
        assert_eq!(since_at("30s", now).unwrap(), now - 30);
        assert_eq!(since_at("10m", now).unwrap(), now - 600);
        assert_eq!(since_at("2h", now).unwrap(), now - 7200);
        assert_eq!(since_at("1d", now).unwrap(), now - 86_400);
        for bad in ["", "m", "10x", "-5m", "yesterday", "10mm", "10é"] {
            assert!(since_at(bad, now).is_err(), "{bad:?}");
        }
    }

    fn create_args(args: &[&str]) -> CreateArgs {
        let cli = Cli::try_parse_from(["flotilla", "container", "run"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Container(ContainerCommand::Run(args)) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_make_the_properties() {
        let args = create_args(&[
            "--name",
            "web",
            "--image",
            "flotilla/workload:latest",
            "--cpu",
            "0.5",
            "--memory",
            "128",
            "-e",
            "MODE=demo",
            "-p",
            "8080:80/udp",
            "-p",
            "9000",
            "--network",
            "front",
            "--network",
            "back",
            "-v",
            "data:/data",
            "--volume",
            "logs:/logs:ro",
            "--restart",
            "on-failure",
            "--label",
            "tier=web",
            "--host-cluster",
            "pool-a",
            "--constraint",
            "zone == az1",
            "--wait",
            "--",
            "/flotilla",
            "workload",
            "serve",
            "--port",
            "80",
        ]);
        assert_eq!(args.name, "web");
        assert!(args.wait.wait);
        let spec = args.properties().unwrap();
        assert_eq!(spec.image, "flotilla/workload:latest");
        assert_eq!((spec.cpu, spec.memory), (Some(0.5), Some(128)));
        assert_eq!(spec.environment["MODE"], "demo");
        assert_eq!(spec.ports, vec![port(80, "udp", Some(8080)), port(9000, "tcp", None)]);
        let networks: Vec<&str> = spec.networks.iter().map(|n| n.network.as_str()).collect();
        assert_eq!(networks, ["front", "back"]);
        assert_eq!(spec.volumes, [mount("data", "/data", false), mount("logs", "/logs", true)]);
        assert_eq!(spec.restart_policy, Some(RestartPolicy::OnFailure));
        assert_eq!(spec.labels["tier"], "web");
        assert_eq!((spec.host_cluster.as_deref(), spec.host_node.as_deref()), (Some("pool-a"), None));
        assert_eq!(spec.constraints, vec!["zone == az1"]);
        assert_eq!(spec.command, vec!["/flotilla", "workload", "serve", "--port", "80"]);
    }

    #[test]
    fn flags_go_on_top_of_the_spec_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("web.yaml");
        std::fs::write(
            &file,
            "image: busybox\ncommand: [sleep, '3600']\nenvironment: {MODE: file, KEEP: yes}\ncpu: 2\nmemory: 64\n\
             ports: [{container: 80}]\nnetworks: [{network: front}]\nvolumes: [{volume: data, target: /data}]\nlabels: {tier: db}\nhost_node: h1\nconstraints: [\"zone == az2\"]\nrestart_policy: always\n",
        )
        .unwrap();
        let file = file.to_str().unwrap();

        let spec = create_args(&["--name", "a", "--spec-file", file]).properties().unwrap();
        assert_eq!((spec.image.as_str(), spec.cpu, spec.memory), ("busybox", Some(2.0), Some(64)));
        assert_eq!(spec.command, vec!["sleep", "3600"]);
        assert_eq!(spec.restart_policy, Some(RestartPolicy::Always));

        let spec = create_args(&[
            "--name",
            "a",
            "--spec-file",
            file,
            "--image",
            "nginx",
            "--memory",
            "256",
            "-e",
            "MODE=flag",
            "-p",
            "443",
            "--network",
            "back",
            "-v",
            "logs:/logs:ro",
            "--label",
            "zone=x",
            "--host-node",
            "h2",
            "--constraint",
            "label.disk == ssd",
            "--restart",
            "no",
            "--",
            "nginx",
            "-g",
            "daemon off;",
        ])
        .properties()
        .unwrap();
        assert_eq!((spec.image.as_str(), spec.cpu, spec.memory), ("nginx", Some(2.0), Some(256)));
        assert_eq!((spec.environment["MODE"].as_str(), spec.environment["KEEP"].as_str()), ("flag", "yes"));
        assert_eq!(spec.ports, vec![port(80, "tcp", None), port(443, "tcp", None)]);
        assert_eq!(spec.networks, [NetworkRef { network: "front".into() }, NetworkRef { network: "back".into() }]);
        assert_eq!(spec.volumes, [mount("data", "/data", false), mount("logs", "/logs", true)]);
        assert_eq!((spec.labels["tier"].as_str(), spec.labels["zone"].as_str()), ("db", "x"));
        assert_eq!(spec.host_node.as_deref(), Some("h2"));
        assert_eq!(spec.constraints, vec!["zone == az2", "label.disk == ssd"]);
        assert_eq!(spec.restart_policy, Some(RestartPolicy::No));
        assert_eq!(spec.command, vec!["nginx", "-g", "daemon off;"]);

        let json = tmp.path().join("web.json");
        std::fs::write(&json, r#"{"image": "redis", "colour": "red"}"#).unwrap();
        let err = format!("{:#}", create_args(&["--name", "a", "--spec-file", json.to_str().unwrap()]).properties().unwrap_err());
        assert!(err.contains("web.json") && err.contains("colour"), "{err}");
    }

    #[test]
    fn an_image_is_required() {
        let err = create_args(&["--name", "a", "--cpu", "1"]).properties().unwrap_err().to_string();
        assert!(err.contains("--image"), "{err}");
        let bad = Cli::try_parse_from(["flotilla", "container", "run", "--name", "a", "--restart", "sometimes"]).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        let bad = Cli::try_parse_from(["flotilla", "container", "create", "--image", "x"]).unwrap_err();
        assert!(bad.to_string().contains("--name"), "{bad}");
    }
}
