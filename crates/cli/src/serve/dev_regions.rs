//! `flotilla dev --regions N`: a federation on a laptop. A central on `--listen` and N regions on the
//! next ports, each with its own SQLite under the data directory and its own hosts; the CLI logged in
//! at the central, knowing every region.

use super::dev::{self, ADMIN, DEMO, DEMO_IMAGE, DevArgs, PASSWORD_FILE};
use super::dev_terminal;
use super::server;
use crate::session::Session;
use anyhow::{Context, Result, bail};
use flotilla_agent::Agent;
use flotilla_api::region::RegionJoinTokenCreate;
use flotilla_api::{ListQuery, TokenCreate};
use flotilla_client::Client;
use flotilla_core::network::{DEFAULT_SUBNET_PREFIX, RegionPool};
use flotilla_server::Server;
use flotilla_server::federation::{CentralSettings, DEFAULT_REGION_GRACE_PERIOD, DEFAULT_TOKEN_CACHE_TTL, RegionLinkSettings, Role};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the regions may take to register with the central.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The name of the `i`th region (from 1).
fn region_name(i: u8) -> String {
    format!("region-{i}")
}

/// The `i`th region's pool for default networks: a /12 of its own, so that regions on one Docker
/// Engine never make overlapping networks.
fn region_pool(i: u8) -> Result<RegionPool> {
    Ok(RegionPool::parse(&format!("10.{}.0.0/12", 128 + 16 * (u16::from(i) - 1)), DEFAULT_SUBNET_PREFIX)?)
}

/// Where the `i`th region listens: the port after the central's by `i`, or any free port when the
/// central's is 0.
fn region_address(central: SocketAddr, i: u8) -> Result<SocketAddr> {
    if central.port() == 0 {
        let probe = std::net::TcpListener::bind((central.ip(), 0)).context("cannot find a free port for a region")?;
        return probe.local_addr().context("cannot find a free port for a region");
    }
    let port = central.port().checked_add(u16::from(i)).context("--listen leaves no ports for the regions after it")?;
    Ok(SocketAddr::new(central.ip(), port))
}

pub async fn run(args: &DevArgs, count: u8, data_dir: PathBuf, log_file: &Path, stop: impl Future<Output = ()>) -> Result<()> {
    let central_dir = data_dir.join("central");
    let password_file = data_dir.join(PASSWORD_FILE);
    let saved = dev::read_password(&password_file)?;
    let role = Role::Central(CentralSettings { global_pool: None, region_grace_period: DEFAULT_REGION_GRACE_PERIOD });
    let central_settings = dev::settings(args.listen, central_dir.clone(), "central", saved.clone(), role);
    let central = server::start(&central_settings).await?;
    let central_url = central.url();
    let mut lines = Vec::new();
    let password = dev::admin_password(&central, saved, &password_file, &central_dir, &mut lines)?;
    let request = TokenCreate { user: ADMIN.into(), password, project: Some(ADMIN.into()), expires_in: None };
    let token = Client::new(&central_url)?.create_token(&request).await.context("cannot log in at the central as admin")?;
    let admin = Client::new(&central_url)?.with_token(token.token.unwrap_or_default());

    let (runtime, runtime_line) = dev::pick_runtime(args.runtime).await?;
    let mut regions: Vec<(String, Server, Vec<Agent>)> = Vec::new();
    for i in 1..=count {
        let name = region_name(i);
        let dir = data_dir.join(&name);
        // A region registered before comes back with the credential it kept in its store.
        let join_token = if dir.join("flotilla.db").exists() {
            None
        } else {
            Some(admin.create_region_join_token(&RegionJoinTokenCreate::default()).await.context("cannot issue a region join token")?.token)
        };
        let listen = region_address(args.listen, i)?;
        let link = RegionLinkSettings {
            central_url: central_url.clone(),
            join_token,
            advertise_url: format!("http://{listen}"),
            ca_cert: None,
            token_cache_ttl: DEFAULT_TOKEN_CACHE_TTL,
        };
        let mut settings = dev::settings(listen, dir, &name, None, Role::Region(link));
        settings.network_pool = region_pool(i)?;
        let region = server::start(&settings).await.with_context(|| format!("cannot start {name}"))?;
        let agents = dev::start_agents(&region, &settings.data_dir, &name, args.hosts, &runtime).await?;
        lines.push(format!("{name}: listening on {} with {} host(s)", region.url(), agents.len()));
        regions.push((name, region, agents));
    }
    lines.push(format!("hosts: {runtime_line}"));
    let advertised: Vec<(String, String)> = regions.iter().map(|(name, region, _)| (name.clone(), region.url())).collect();
    registered(&admin, &advertised).await?;

    let mut session = Session::open(Some(dev::CONTEXT))?;
    session.log_in(&central_url, None, request).await.context("cannot log the CLI in as admin")?;
    session.use_context(&session.name.clone())?;
    let first = region_name(1);
    if !args.no_demo {
        let token = session.config.token.clone().unwrap_or_default();
        let at_first = Client::new(&regions[0].1.url())?.with_token(token);
        lines.push(format!("{first}: {}", dev::demo(&at_first, &data_dir.join(&first)).await?));
    }
    let last = region_name(count);
    lines.extend([
        String::new(),
        format!("Flotilla dev federation is up: a central and {count} region(s)."),
        format!("  central:   {central_url}"),
        format!("  user:      {ADMIN} (role admin on project {ADMIN})"),
        format!("  password:  in {}", password_file.display()),
        format!("  data:      {}", data_dir.display()),
        format!("  CLI:       logged in at the central as {ADMIN} in context {} (config {})", session.name, session.path.display()),
        String::new(),
        "Try:".to_owned(),
        "  flotilla region list".to_owned(),
        format!("  flotilla --region {first} container run --name web --image {DEMO_IMAGE} --wait"),
        format!("  flotilla --region {last} container run --name api --image {DEMO_IMAGE} --wait"),
        "  flotilla container list --all-regions".to_owned(),
        format!("  flotilla region use {first}"),
        format!("  flotilla container logs {DEMO}"),
        "  flotilla host list --all-regions".to_owned(),
        String::new(),
        format!("Warnings show below. The full log is in {}.", log_file.display()),
        "Press Ctrl-C to stop.".to_owned(),
    ]);
    server::announce(&lines)?;
    stop.await;
    let mut left = vec![String::from("Flotilla dev federation stopped.")];
    for (name, region, _) in &regions {
        let at_region = Client::new(&region.url())?.with_token(session.config.token.clone().unwrap_or_default());
        let removal = format!(
            "`flotilla --region {name} container delete NAME --stop` removes one; the region's data is in {}.",
            data_dir.join(name).display()
        );
        let said = dev_terminal::left_running(&at_region, runtime.kind(), log_file, &removal).await;
        left.extend(said.into_iter().skip(1).map(|line| format!("{name}: {line}")));
    }
    server::announce(&left)?;
    for (name, region, agents) in regions {
        futures::future::join_all(agents.into_iter().map(Agent::shutdown)).await;
        region.shutdown().await.with_context(|| format!("{name} failed"))?;
    }
    central.shutdown().await.context("the central failed")
}

/// Waits until the central lists each of `regions` (name, API URL) at that URL, so that the CLI
/// learns where they are now (a restarted region may have a new port).
async fn registered(central: &Client, regions: &[(String, String)]) -> Result<()> {
    let started = Instant::now();
    loop {
        let listed = central.list_regions(&ListQuery::default()).await?.regions;
        let missing: Vec<&str> = regions
            .iter()
            .filter(|(name, url)| !listed.iter().any(|r| r.name == *name && r.api_url == *url))
            .map(|(name, _)| name.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if started.elapsed() > REGISTRATION_TIMEOUT {
            bail!("{} did not register with the central within {} s", missing.join(", "), REGISTRATION_TIMEOUT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
