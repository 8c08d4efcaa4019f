//! `flotilla container ...`: run and manage containers (create, list, show, update, delete, start,
//! stop, restart, pause, unpause, kill, rebuild, rename), and look into them (logs, exec, stats, top, cp).

use super::common::{LabelArgs, ListArgs, MetadataArgs};
use super::container_spec::{CreateArgs, parse_since};
use super::wait::{self, Goal, WaitArgs};
use crate::completion;
use crate::failure::CliError;
use crate::output::{self, Format, Part, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::{Args, Subcommand};
use clap_complete::ArgValueCandidates;
use flotilla_api::{
    Container, ContainerCreate, ContainerFilter, ContainerList, ContainerUpdate, DeleteQuery, ExecRequest, KillQuery, LogsQuery,
    RenameRequest, StopQuery,
};
use flotilla_client::Client;
use futures::TryStreamExt;

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create a container and start it.
    Run(CreateArgs),
    /// Create a container without starting it (it stays CREATED).
    Create(CreateArgs),
    /// List containers with their status, health, CPU use and host.
    List {
        /// Only containers in this status, e.g. RUNNING or ERROR.
        #[arg(long)]
        status: Option<String>,
        /// Only containers on this host (name or id).
        #[arg(long)]
        host: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a container by name or id.
    Show {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
    },
    /// Change a container's name, CPU or memory limits, or metadata; only what is given changes.
    Update {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New CPU limit, in cores.
        #[arg(long, value_name = "CORES")]
        cpu: Option<f64>,
        /// New memory limit, in MiB.
        #[arg(long, value_name = "MIB")]
        memory: Option<u64>,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Delete a container.
    Delete {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
        /// Stop it first if it runs.
        #[arg(long)]
        stop: bool,
        /// Delete it whatever its status.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Start a created or stopped container.
    Start(Operation),
    /// Stop a running container: SIGTERM, then SIGKILL after the timeout.
    Stop(Stopping),
    /// Restart a container.
    Restart(Stopping),
    /// Pause a running container.
    Pause(Operation),
    /// Unpause a paused container.
    Unpause(Operation),
    /// Send a signal to a running container.
    Kill {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
        /// Signal name or number (default SIGKILL).
        #[arg(long, short)]
        signal: Option<String>,
    },
    /// Recreate a container from its image and spec, on the same host.
    Rebuild(Operation),
    /// Rename a container.
    Rename {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
        /// Its new name.
        name: String,
    },
    /// Print a container's output.
    Logs {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
        /// Keep printing new output until interrupted.
        #[arg(short, long)]
        follow: bool,
        /// Only the last N lines.
        #[arg(long, value_name = "N")]
        tail: Option<u64>,
        /// Only output since a time: Unix seconds, RFC 3339, or a duration ago (30s, 10m, 2h, 1d).
        #[arg(long, value_name = "TIME", value_parser = parse_since)]
        since: Option<i64>,
        /// Prefix each line with its time.
        #[arg(short, long)]
        timestamps: bool,
    },
    /// Run a command in a running container; exits with the command's exit code. With -i and/or
    /// -t it runs interactively (as `docker exec -it`), else it prints the output once it ended.
    Exec {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
        /// Keep stdin attached: what is typed or piped in goes to the command.
        #[arg(short, long)]
        interactive: bool,
        /// Allocate a pseudo-terminal (the local terminal goes raw and its size follows the window).
        #[arg(short, long)]
        tty: bool,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Show a container's CPU, memory, network and process counts.
    Stats {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
    },
    /// Show a container's processes.
    Top {
        /// Name or id of the container.
        #[arg(add = ArgValueCandidates::new(completion::containers))]
        container: String,
    },
    /// Copy a file or directory into or out of a container (created, running, stopped or paused).
    ///
    /// One side is CONTAINER:PATH with an absolute PATH. Into a container, PATH is an existing
    /// directory the source lands in under its own name. Out of one, a local DST that is a
    /// directory receives the copy under its own name; any other DST becomes the copy.
    /// `-` is a tar stream instead: SRC `-` reads one from stdin and extracts it into the container's
    /// directory; DST `-` writes the copy to stdout as a tar.
    Cp {
        /// CONTAINER:PATH, a local path, or `-` (a tar on stdin).
        src: String,
        /// CONTAINER:DIR, a local path, or `-` (a tar on stdout).
        dst: String,
    },
}

/// An operation on one container, optionally waited for.
#[derive(Debug, Args)]
pub struct Operation {
    /// Name or id of the container.
    #[arg(add = ArgValueCandidates::new(completion::containers))]
    pub container: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `stop` and `restart`.
#[derive(Debug, Args)]
pub struct Stopping {
    /// Name or id of the container.
    #[arg(add = ArgValueCandidates::new(completion::containers))]
    pub container: String,
    /// Seconds between SIGTERM and SIGKILL (default: the spec's stop_timeout, else 10).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

pub async fn run(client: &Target, format: Format, command: ContainerCommand) -> Result<()> {
    match command {
        ContainerCommand::Run(args) => create(client, format, args, true).await,
        ContainerCommand::Create(args) => create(client, format, args, false).await,
        ContainerCommand::List { status, host, list, labels, spread } => {
            let filter = ContainerFilter { status: status.map(|s| s.to_uppercase()), host };
            client.list(format, &spread, async |c| c.list_containers(labels.listing(&list.query()), &filter).await).await
        }
        ContainerCommand::Show { container } => {
            let (container, at) = client.found(&container, async |c| c.container(&container).await).await?;
            let events = super::events::recent(at, format, &container.id.to_string()).await;
            output::detailed(format, &container, &[Part::of("addresses", &container.addresses), Part::of("events", &events)])
        }
        ContainerCommand::Update { container, name, cpu, memory, metadata } => {
            let body = ContainerUpdate { name, cpu, memory, metadata: metadata.update() };
            shown(format, &client.found(&container, async |c| c.update_container(&container, &body).await).await?.0)
        }
        ContainerCommand::Delete { container, stop, force, wait } => {
            let options = DeleteQuery { stop: stop.then_some(true), force: force.then_some(true) };
            if let (Some(accepted), at) = client.found(&container, async |c| c.delete_container(&container, &options).await).await?
                && wait.wait
            {
                wait::until(at, &accepted, Goal::Gone, &wait).await?;
            }
            output::deleted(format, "container", &container)
        }
        ContainerCommand::Start(op) => {
            let (accepted, at) = client.found(&op.container, async |c| c.start_container(&op.container).await).await?;
            operated(at, format, accepted, wait::RUNNING, &op.wait).await
        }
        ContainerCommand::Stop(op) => {
            let query = StopQuery { timeout: op.timeout };
            let (accepted, at) = client.found(&op.container, async |c| c.stop_container(&op.container, &query).await).await?;
            operated(at, format, accepted, wait::STOPPED, &op.wait).await
        }
        ContainerCommand::Restart(op) => {
            let query = StopQuery { timeout: op.timeout };
            let (accepted, at) = client.found(&op.container, async |c| c.restart_container(&op.container, &query).await).await?;
            operated(at, format, accepted, wait::RUNNING, &op.wait).await
        }
        ContainerCommand::Pause(op) => {
            let (accepted, at) = client.found(&op.container, async |c| c.pause_container(&op.container).await).await?;
            operated(at, format, accepted, wait::PAUSED, &op.wait).await
        }
        ContainerCommand::Unpause(op) => {
            let (accepted, at) = client.found(&op.container, async |c| c.unpause_container(&op.container).await).await?;
            operated(at, format, accepted, wait::RUNNING, &op.wait).await
        }
        ContainerCommand::Kill { container, signal } => {
            let query = KillQuery { signal };
            shown(format, &client.found(&container, async |c| c.kill_container(&container, &query).await).await?.0)
        }
        ContainerCommand::Rebuild(op) => {
            let (accepted, at) = client.found(&op.container, async |c| c.rebuild_container(&op.container).await).await?;
            let goal = Goal::rebuilt(&accepted);
            operated(at, format, accepted, goal, &op.wait).await
        }
        ContainerCommand::Rename { container, name } => {
            let body = RenameRequest { name };
            shown(format, &client.found(&container, async |c| c.rename_container(&container, &body).await).await?.0)
        }
        ContainerCommand::Logs { container, follow, tail, since, timestamps } => {
            let options = LogsQuery { tail, since, follow: follow.then_some(true), timestamps: timestamps.then_some(true) };
            let (mut chunks, _) = client.found(&container, async |c| c.container_logs(&container, &options).await).await?;
            while let Some(chunk) = chunks.try_next().await? {
                if !output::raw(&chunk)? {
                    break;
                }
            }
            Ok(())
        }
        ContainerCommand::Cp { src, dst } => super::copy::run(client, src, dst).await,
        ContainerCommand::Exec { container, command, interactive, tty } if interactive || tty => {
            super::interactive_exec::run(client, &container, command, tty, interactive).await
        }
        ContainerCommand::Exec { container, command, .. } => {
            let body = ExecRequest { command };
            let (result, _) = client.found(&container, async |c| c.exec_container(&container, &body).await).await?;
            if format.is_table() {
                output::raw(result.output.as_bytes())?;
            } else {
                output::one(format, &result)?;
            }
            match result.exit_code {
                0 => Ok(()),
                code => Err(CliError::CommandExited(code).into()),
            }
        }
        ContainerCommand::Stats { container } => {
            output::one(format, &client.found(&container, async |c| c.container_stats(&container).await).await?.0)
        }
        ContainerCommand::Top { container } => {
            let (top, _) = client.found(&container, async |c| c.container_top(&container).await).await?;
            let headers: Vec<&str> = top.titles.iter().map(String::as_str).collect();
            output::grid(format, &top, &headers, top.processes.clone())
        }
    }
}

async fn create(client: &Client, format: Format, args: CreateArgs, run: bool) -> Result<()> {
    let body = ContainerCreate { spec: args.properties()?, name: args.name, run, metadata: args.metadata.metadata() };
    if args.dry_run.dry_run {
        return super::plans::shown(format, &client.plan_container(&body).await?);
    }
    let accepted = client.create_container(&body).await?;
    if args.wait.wait && accepted.status == "ERROR" {
        // Failed at once (no host fits, say): nothing to wait for.
        return Err(wait::failure(&accepted.name, Some(&accepted)).into());
    }
    operated(client, format, accepted, if run { wait::RUNNING } else { wait::CREATED }, &args.wait).await
}

/// Shows the container an operation answered with, or, with `--wait`, as it is once it got there.
async fn operated(client: &Client, format: Format, accepted: Container, goal: Goal, args: &WaitArgs) -> Result<()> {
    let container = if args.wait { wait::until(client, &accepted, goal, args).await?.unwrap_or(accepted) } else { accepted };
    shown(format, &container)
}

/// A container and, for people, its addresses as a table.
pub fn shown(format: Format, container: &Container) -> Result<()> {
    output::detailed(format, container, &[Part::of("addresses", &container.addresses)])
}

impl Row for Container {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "IMAGE", "STATUS", "HEALTH", "CPU", "HOST", "IP", "PORTS", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.spec.image.clone(),
            self.status.clone(),
            self.health.clone(),
            self.cpu_percent.map(|p| format!("{p:.0}%")).unwrap_or_default(),
            self.host.clone().unwrap_or_default(),
            self.addresses.first().map(|address| address.ip_address.clone()).unwrap_or_default(),
            self.ports.join(", "),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(ContainerList, containers, Container);

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use crate::commands::containers::ContainerCommand;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<ContainerCommand, clap::Error> {
        let cli = Cli::try_parse_from(["flotilla", "container"].iter().chain(args))?;
        match cli.command {
            Command::Container(command) => Ok(command),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_list_shows_health_cpu_use_and_the_first_address() {
        use crate::output::Row;
        let container = |extra: serde_json::Value| -> flotilla_api::Container {
            let mut c = serde_json::json!({
                "id": "01927c4e-0000-7000-8000-000000000001", "name": "web", "project_id": "01927c4e-0000-7000-8000-000000000002",
                "user_id": "01927c4e-0000-7000-8000-000000000003", "spec": {"image": "busybox"}, "host": "h1", "host_id": null,
                "status": "RUNNING", "status_reason": "", "desired_state": "running", "generation": 1, "runtime_id": null,
                "exit_code": null, "ports": [], "metadata": {}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            });
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            serde_json::from_value(c).unwrap()
        };
        let cell = |c: &flotilla_api::Container, header: &str| {
            c.cells()[flotilla_api::Container::HEADERS.iter().position(|h| *h == header).unwrap()].clone()
        };
        let sick = container(serde_json::json!({"health": "unhealthy", "health_reason": "HTTP 500", "cpu_percent": 42.6}));
        assert_eq!((cell(&sick, "HEALTH"), cell(&sick, "CPU")), ("unhealthy".to_owned(), "43%".to_owned()));
        let unprobed = container(serde_json::json!({}));
        assert_eq!(
            (cell(&unprobed, "HEALTH"), cell(&unprobed, "CPU"), cell(&unprobed, "IP")),
            (String::new(), String::new(), String::new()),
            "an older server's answer reads too"
        );
        let id = "01927c4e-0000-7000-8000-000000000009";
        let connected = container(serde_json::json!({"addresses": [
            {"network_id": id, "network": "front", "ip_address": "10.1.0.5", "mac_address": "02:42:0a:01:00:05"},
            {"network_id": id, "network": "back", "ip_address": "10.2.0.5", "mac_address": "02:42:0a:02:00:05"}
        ]}));
        assert_eq!(cell(&connected, "IP"), "10.1.0.5", "the first address");
    }

    #[test]
    fn exec_takes_the_command_after_a_double_dash() {
        let ContainerCommand::Exec { container, command, interactive: false, tty: false } =
            parse(&["exec", "web", "--", "sh", "-c", "exit 3"]).unwrap()
        else {
            panic!()
        };
        assert_eq!((container.as_str(), command), ("web", vec!["sh".to_owned(), "-c".into(), "exit 3".into()]));
        assert_eq!(parse(&["exec", "web"]).unwrap_err().exit_code(), 2, "a command is required");
        let ContainerCommand::Exec { interactive, tty, command, .. } = parse(&["exec", "-it", "web", "--", "sh"]).unwrap() else {
            panic!()
        };
        assert!(interactive && tty, "-it is both");
        assert_eq!(command, ["sh"]);
    }

    #[test]
    fn operations_take_their_options() {
        let ContainerCommand::Stop(stop) = parse(&["stop", "web", "--timeout", "3", "--wait", "--wait-timeout", "20"]).unwrap() else {
            panic!()
        };
        assert_eq!((stop.container.as_str(), stop.timeout, stop.wait.wait, stop.wait.wait_timeout), ("web", Some(3), true, 20));
        let ContainerCommand::Delete { stop, force, wait, .. } = parse(&["delete", "web", "--stop", "--force"]).unwrap() else { panic!() };
        assert!(stop && force && !wait.wait);
        let ContainerCommand::Logs { follow, tail, since, .. } = parse(&["logs", "web", "-f", "--tail", "5", "--since", "0"]).unwrap()
        else {
            panic!()
        };
        assert_eq!((follow, tail, since), (true, Some(5), Some(0)));
        assert_eq!(parse(&["logs", "web", "--since", "later"]).unwrap_err().exit_code(), 2);
        let ContainerCommand::Kill { signal, .. } = parse(&["kill", "web", "-s", "SIGTERM"]).unwrap() else { panic!() };
        assert_eq!(signal.as_deref(), Some("SIGTERM"));
    }
}
