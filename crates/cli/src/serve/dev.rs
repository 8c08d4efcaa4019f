//! `flotilla dev`: an all-in-one region on a laptop (or a federation of them with `--regions N`,
//! see `dev_regions`). SQLite in a data directory, the admin password kept there, and the CLI logged
//! in as admin, so the next command just works.

use super::agent::{self, RuntimeKind};
use super::dev_regions;
use super::dev_reset;
use super::dev_terminal::{self, EventLines};
use super::logging::{self, LogArgs};
use super::settings::{DEFAULT_LISTEN, DEFAULT_MAX_NODES_PER_CLUSTER, DEFAULT_REGION, Settings, sqlite_url};
use super::{server, shutdown};
use crate::workload::image::build_archive;
use crate::{paths, private, session::Session};
use anyhow::{Context, Result};
use clap::Args;
use flotilla_agent::Agent;
use flotilla_agent::AgentConfig;
use flotilla_agent::runtime::ContainerRuntime;
use flotilla_agent::runtime::sim::SimConfig;
use flotilla_api::{ContainerCreate, TokenCreate};
use flotilla_core::profile::{ContainerProperties, RestartPolicy};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The CLI context `flotilla dev` logs in to and makes current.
pub(super) const CONTEXT: &str = "dev";
/// The admin the server bootstraps.
pub(super) const ADMIN: &str = "admin";
/// The file in the data directory holding the whole log.
pub(super) const LOG_FILE: &str = "flotilla.log";
/// The file in the data directory holding the admin password.
pub(super) const PASSWORD_FILE: &str = "admin-password";

/// Where the dev agents keep their host credentials, in the data directory.
const AGENT_STATE_DIR: &str = "agents";

/// The demo container `dev` runs, and its image.
pub(super) const DEMO: &str = "demo";
pub(super) const DEMO_IMAGE: &str = "flotilla/workload:latest";

/// Which runtime the dev region's agents drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DevRuntime {
    /// Docker when its engine answers, else the simulated runtime (said loudly).
    Auto,
    Docker,
    Sim,
}

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Directory for the region's files [default: $XDG_DATA_HOME/flotilla/dev or ~/.local/share/flotilla/dev].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to serve the API on.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// How many hosts (agents) to run on this machine, named dev-1 ... dev-N.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub hosts: usize,
    #[arg(long, value_enum, default_value_t = DevRuntime::Auto)]
    pub runtime: DevRuntime,
    /// Run a federation instead of one region: a central on --listen and N regions (region-1 ...
    /// region-N, 1 to 8) on the next ports, each with its own SQLite under the data directory and
    /// --hosts hosts of its own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=8))]
    pub regions: Option<u8>,
    /// Do not build, upload and run the demo workload container.
    #[arg(long)]
    pub no_demo: bool,
    /// Remove what earlier runs left (every cluster and container, in Docker too, the data
    /// directory and the CLI's `dev` context) and exit.
    #[arg(long, conflicts_with = "regions")]
    pub reset: bool,
    #[command(flatten)]
    pub log: LogArgs,
}

pub async fn run(args: DevArgs) -> Result<()> {
    let data_dir = match &args.data_dir {
        Some(dir) => std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?,
        None => paths::data_dir()?.join("dev"),
    };
    if args.reset && !data_dir.exists() {
        return server::announce(&[format!("Nothing to reset: {} does not exist.", data_dir.display())]);
    }
    let log_file = data_dir.join(LOG_FILE);
    logging::init_dev(args.log.format_or(None), &log_file)?;
    if args.reset {
        return dev_reset::run(&args, &data_dir).await;
    }
    let stop = shutdown::on_signal()?;
    if let Some(regions) = args.regions {
        return dev_regions::run(&args, regions, data_dir, &log_file, stop).await;
    }
    let password_file = data_dir.join(PASSWORD_FILE);
    let saved = read_password(&password_file)?;
    let settings = settings(args.listen, data_dir, DEFAULT_REGION, saved.clone(), flotilla_server::federation::Role::Standalone);
    let server = server::start(&settings).await?;
    let url = server.url();

    let mut lines = Vec::new();
    let password = admin_password(&server, saved, &password_file, &settings.data_dir, &mut lines)?;
    lines.push(format!("listening on {url}"));
    let mut session = Session::open(Some(CONTEXT))?;
    let request = TokenCreate { user: ADMIN.into(), password, project: Some(ADMIN.into()), expires_in: None };
    let token = session.log_in(&url, None, request).await.context("cannot log the CLI in as admin")?;
    session.use_context(&session.name.clone())?;
    let client = flotilla_client::Client::new(&url)?.with_token(token.token.unwrap_or_default());

    let (runtime, runtime_line) = pick_runtime(args.runtime).await?;
    let agents = start_agents(&server, &settings.data_dir, "dev", args.hosts, &runtime).await?;
    lines.push(format!("{} host(s) joined: {runtime_line}", agents.len()));
    if !args.no_demo {
        lines.push(demo(&client, &settings.data_dir).await?);
    }

    lines.extend([
        String::new(),
        "Flotilla dev region is up.".to_owned(),
        format!("  url:       {url}"),
        format!("  user:      {ADMIN} (role admin on project {ADMIN})"),
        format!("  password:  in {}", password_file.display()),
        format!("  data:      {}", settings.data_dir.display()),
        format!("  CLI:       logged in as {ADMIN} in context {} (config {})", session.name, session.path.display()),
        String::new(),
        "Try:".to_owned(),
        "  flotilla host list".to_owned(),
        format!("  flotilla container logs {DEMO}"),
        format!("  flotilla container run --name web --image {DEMO_IMAGE} --wait"),
        "  flotilla whoami".to_owned(),
        "  flotilla project create demo".to_owned(),
        "  flotilla user create alice --project demo".to_owned(),
        "  flotilla role assign --user alice --project demo member".to_owned(),
        "  flotilla login --user alice --project demo".to_owned(),
        "  flotilla project list".to_owned(),
        String::new(),
        format!("What happens shows below; warnings too. The full log is in {}.", log_file.display()),
        "Press Ctrl-C to stop.".to_owned(),
        String::new(),
    ]);
    server::announce(&lines)?;
    let events = EventLines::start(&client);
    stop.await;
    drop(events);
    let removal = format!("`flotilla dev --reset` removes them and the region's data ({}).", settings.data_dir.display());
    server::announce(&dev_terminal::left_running(&client, runtime.kind(), &log_file, &removal).await)?;
    futures::future::join_all(agents.into_iter().map(Agent::shutdown)).await;
    server.shutdown().await.context("the server failed")
}

/// The settings of a dev server listening on `listen` with its files in `data_dir`.
pub(super) fn settings(
    listen: SocketAddr,
    data_dir: PathBuf,
    region: &str,
    bootstrap_password: Option<String>,
    role: flotilla_server::federation::Role,
) -> Settings {
    Settings {
        listen,
        database: sqlite_url(&data_dir),
        data_dir,
        region: region.to_owned(),
        bootstrap_password,
        host_grace_period: Duration::from_secs(flotilla_core::host::DEFAULT_GRACE_PERIOD_SECS),
        max_nodes_per_cluster: DEFAULT_MAX_NODES_PER_CLUSTER,
        network_pool: flotilla_core::network::RegionPool::default(),
        header_read_timeout: flotilla_server::DEFAULT_HEADER_READ_TIMEOUT,
        body_read_timeout: flotilla_server::DEFAULT_BODY_READ_TIMEOUT,
        retention: flotilla_server::Retention::default(),
        tls: None,
        callback: None,
        role,
    }
}

/// The admin's password: made by `server`'s first start (then saved in `password_file`, and said in
/// `lines`), else the saved one.
pub(super) fn admin_password(
    server: &flotilla_server::Server,
    saved: Option<String>,
    password_file: &Path,
    data_dir: &Path,
    lines: &mut Vec<String>,
) -> Result<String> {
    match (server.bootstrap(), saved) {
        (Some(bootstrap), saved) => {
            if saved.is_none() {
                private::write_file(password_file, bootstrap.password.as_bytes())?;
            }
            lines.push(format!("bootstrap: created user {ADMIN:?} with role admin on project {ADMIN:?}"));
            lines.push(format!("bootstrap: admin password: {} (saved in {})", bootstrap.password, password_file.display()));
            Ok(bootstrap.password.clone())
        }
        (None, Some(saved)) => Ok(saved),
        (None, None) => anyhow::bail!(
            "{} is missing, so the CLI cannot log in as admin; remove {} to start over",
            password_file.display(),
            data_dir.display()
        ),
    }
}

/// Starts `hosts` agents (at least one) named PREFIX-1 ... on `runtime`, joined to `server`, keeping
/// their credentials under `data_dir`.
pub(super) async fn start_agents(
    server: &flotilla_server::Server,
    data_dir: &Path,
    prefix: &str,
    hosts: usize,
    runtime: &Arc<dyn ContainerRuntime>,
) -> Result<Vec<Agent>> {
    let join_token = server.issue_join_token(Duration::from_secs(24 * 3600)).await.context("cannot issue a join token")?;
    let mut agents = Vec::new();
    for i in 1..=hosts.max(1) {
        let mut config = AgentConfig::new(server.url(), join_token.clone(), format!("{prefix}-{i}"));
        config.zone = prefix.into();
        config.state_dir = Some(data_dir.join(AGENT_STATE_DIR));
        // The agents share one engine and its bridges: the first to bind a gateway answers its
        // network's names (each holds all of them).
        config.dns_port = (runtime.kind() == "docker").then_some(53);
        config.routing = runtime.kind() == "docker";
        agents.push(Agent::start(config, runtime.clone()).await.context("a dev agent cannot join")?);
    }
    Ok(agents)
}

/// Docker when asked for or reachable; else the simulated runtime, with a line saying why.
pub(super) async fn pick_runtime(choice: DevRuntime) -> Result<(Arc<dyn ContainerRuntime>, String)> {
    match choice {
        DevRuntime::Docker => {
            Ok((agent::runtime(RuntimeKind::Docker, SimConfig::default()).await?, "runtime docker (local Docker Engine)".into()))
        }
        DevRuntime::Sim => Ok((agent::runtime(RuntimeKind::Sim, SimConfig::default()).await?, "runtime sim (simulated, as asked)".into())),
        DevRuntime::Auto => match agent::runtime(RuntimeKind::Docker, SimConfig::default()).await {
            Ok(docker) => Ok((docker, "runtime docker (local Docker Engine)".into())),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Docker is not reachable: falling back to the simulated runtime");
                Ok((
                    agent::runtime(RuntimeKind::Sim, SimConfig::default()).await?,
                    format!("runtime sim — WARNING: Docker is not reachable ({e:#}); containers are SIMULATED, nothing really runs"),
                ))
            }
        },
    }
}

/// Builds the workload image from this binary, uploads it and runs the demo container, unless
/// they exist already; answers the line to print.
pub(super) async fn demo(client: &flotilla_client::Client, data_dir: &Path) -> Result<String> {
    if client.container(DEMO).await.is_ok() {
        return Ok(format!("demo container {DEMO:?} exists already"));
    }
    if client.image(DEMO_IMAGE).await.is_err() {
        let archive = data_dir.join("workload.tar");
        let path = archive.clone();
        tokio::task::spawn_blocking(move || build_archive(&path, DEMO_IMAGE)).await??;
        client.upload_image(&archive, &Default::default(), |_| {}).await.context("cannot upload the workload image")?;
        std::fs::remove_file(&archive).with_context(|| format!("cannot remove {}", archive.display()))?;
    }
    let spec = ContainerProperties { image: DEMO_IMAGE.into(), restart_policy: Some(RestartPolicy::Always), ..Default::default() };
    let body = ContainerCreate { name: DEMO.into(), spec, run: true, metadata: Default::default() };
    let created = client.create_container(&body).await.context("cannot run the demo container")?;
    Ok(format!("demo container {DEMO:?} ({DEMO_IMAGE}) placed on {}", created.host.unwrap_or_else(|| "no host".into())))
}

/// The saved admin password, `None` when there is no file yet.
pub(super) fn read_password(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|p| !p.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}
