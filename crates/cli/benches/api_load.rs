//! Benchmark: the REST API's write path on simulated hosts, through a real `flotilla server` and
//! `FLOTILLA_BENCH_AGENTS` (3) `flotilla agent --runtime sim` processes, on SQLite and, when
//! `FLOTILLA_TEST_POSTGRES_URL` names a server, on PostgreSQL. Prints, beside issue 15's targets:
//! - the idle resident memory of the server and of one agent, `FLOTILLA_BENCH_IDLE_SECS` (10) after
//!   one login;
//! - an open-loop load of container creates and deletes (half each) at `FLOTILLA_BENCH_RATES`
//!   (25,50,100,200) requests/s for `FLOTILLA_BENCH_SECS` (10) each: requests leave on schedule,
//!   whatever the answers, and latency counts from the scheduled time, so queueing shows; the
//!   achieved rate, p50, p99 and max per rate, and the p99 of creates and of deletes apart (the
//!   deleted containers are made, and RUNNING, before
//!   each rate's run);
//! - on a second, fresh region: container creates/s as it fills to `FLOTILLA_BENCH_CONTAINERS`
//!   (3,400), in batches of `FLOTILLA_BENCH_BATCH` (200) with 16 requests in flight, per batch.
//!
//! Failed requests (the client's timeout, under overload) are counted, not timed; the bench fails
//! if every request of a rate fails, or a create outside the timed load fails. Everything lives in
//! a temporary sandbox (and a scratch PostgreSQL database) and stops with the bench.
//!
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench api_load`.

mod roles;

use anyhow::{Context, Result, bail};
use flotilla_api::{ContainerCreate, ContainerFilter, DeleteQuery, JoinTokenCreate, ListQuery};
use flotilla_client::Client;
use flotilla_core::profile::ContainerProperties;
use futures::{StreamExt, TryStreamExt};
use roles::{Role, Sandbox, flotilla_binary};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-1234";
/// Requests in flight while a region fills (and while a load's containers are made).
const IN_FLIGHT: usize = 16;
/// The longest wait for containers to leave CREATING.
const SETTLE: Duration = Duration::from_secs(300);

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The sizes, from `FLOTILLA_BENCH_*`.
struct Sizes {
    agents: usize,
    idle: Duration,
    rates: Vec<usize>,
    secs: usize,
    containers: usize,
    batch: usize,
}

impl Sizes {
    fn from_env() -> Self {
        let rates = std::env::var("FLOTILLA_BENCH_RATES").ok().and_then(|v| v.split(',').map(|r| r.trim().parse().ok()).collect());
        Self {
            agents: size("FLOTILLA_BENCH_AGENTS", 3).max(1),
            idle: Duration::from_secs(size("FLOTILLA_BENCH_IDLE_SECS", 10) as u64),
            rates: rates.unwrap_or_else(|| vec![25, 50, 100, 200]),
            secs: size("FLOTILLA_BENCH_SECS", 10).max(1),
            containers: size("FLOTILLA_BENCH_CONTAINERS", 3_400),
            batch: size("FLOTILLA_BENCH_BATCH", 200).max(1),
        }
    }
}

fn main() -> ExitCode {
    let sizes = Sizes::from_env();
    roles::block_on(async move {
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let mut backends = vec![("sqlite", None)];
        match flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, dir.path()).await {
            Some(url) => backends.push(("postgresql", Some(url))),
            None => println!("(PostgreSQL skipped: set FLOTILLA_TEST_POSTGRES_URL, e.g. through scripts/test.sh)"),
        }
        for (backend, database) in backends {
            println!("== {backend}, {} simulated agent(s)", sizes.agents);
            let mut region = Region::start(database.as_deref(), sizes.agents).await?;
            idle_memory(&region, sizes.idle).await?;
            load(&region.client, &sizes).await.with_context(|| format!("the load ({backend})"))?;
            region.stop();
            // A fresh region (and database) for the fill, so it starts from 0 containers.
            let fresh = match database {
                Some(_) => flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, dir.path()).await,
                None => None,
            };
            let mut region = Region::start(fresh.as_deref(), sizes.agents).await?;
            fill(&region.client, &sizes).await.with_context(|| format!("the fill ({backend})"))?;
            region.stop();
        }
        Ok(())
    })
}

/// A server and its simulated agents, each its own process, in a sandbox; the admin logged in.
struct Region {
    client: Client,
    server: Role,
    agents: Vec<Role>,
    /// Holds the roles' data and logs until the region is dropped.
    _sandbox: Sandbox,
}

impl Region {
    async fn start(database: Option<&str>, agents: usize) -> Result<Self> {
        let sandbox = Sandbox::new(flotilla_binary()?)?;
        let data = sandbox.path("data").display().to_string();
        let mut args = vec!["server", "--listen", "127.0.0.1:0", "--data-dir", &data, "--bootstrap-password", PASSWORD];
        if let Some(url) = database {
            args.extend(["--database", url]);
        }
        let (server, ready) = sandbox.spawn("server", &args, "listening on ")?;
        eprintln!("(server pid {}, for a profiler)", server.child.id());
        let url = ready.split_once("listening on ").map(|(_, url)| url.trim().to_owned()).context("the server printed no URL")?;
        let client = roles::admin(&url, PASSWORD).await?;
        let join = client.create_join_token(&JoinTokenCreate::default()).await?.token;
        let mut roles = Vec::with_capacity(agents);
        for i in 1..=agents {
            let name = format!("sim-{i}");
            let args = roles::sim_agent_args(&url, &join, &name, &[]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            roles.push(sandbox.spawn("agent", &args, "joined")?.0);
        }
        Ok(Self { client, server, agents: roles, _sandbox: sandbox })
    }

    fn stop(&mut self) {
        for agent in &mut self.agents {
            agent.stop();
        }
        self.server.stop();
    }
}

/// Waits `idle` (the region's admin logged in once), then prints the server's and the first
/// agent's resident memory.
async fn idle_memory(region: &Region, idle: Duration) -> Result<()> {
    tokio::time::sleep(idle).await;
    let (_, server) = region.server.memory_mib()?;
    let (_, agent) = region.agents[0].memory_mib()?;
    println!("idle RSS {:.0?} after one login: server {server:.1} MiB (goal ≤ 30 MB), agent {agent:.1} MiB (goal ≤ 15 MB)", idle);
    let (server_own, server_files) = region.server.resident_split_mib()?;
    let (agent_own, agent_files) = region.agents[0].resident_split_mib()?;
    println!(
        "  of which its own (anonymous) / the binary's shared pages: server {server_own:.1} / {server_files:.1} MiB, agent {agent_own:.1} / {agent_files:.1} MiB"
    );
    Ok(())
}

/// A tiny container named `name` on any host, to run.
fn container(name: String) -> ContainerCreate {
    let spec = ContainerProperties { image: "bench/any:1".into(), cpu: Some(0.01), memory: Some(4), ..Default::default() };
    ContainerCreate { name, spec, run: true, metadata: Default::default() }
}

/// Creates the containers `names`, `IN_FLIGHT` at a time.
async fn create_all(client: &Client, names: impl Iterator<Item = String>) -> Result<()> {
    futures::stream::iter(names.map(|name| async move { client.create_container(&container(name)).await.map(drop) }))
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await
        .context("a create failed")
}

/// Waits until no container of the project is CREATING any more (its agent ran it).
async fn settle(client: &Client) -> Result<()> {
    let (start, one) = (Instant::now(), ListQuery { limit: Some(1), ..Default::default() });
    let creating = ContainerFilter { status: Some("CREATING".into()), host: None };
    while !client.list_containers(&one, &creating).await?.containers.is_empty() {
        if start.elapsed() > SETTLE {
            bail!("containers still CREATING after {SETTLE:?}");
        }
        tokio::time::sleep(roles::POLL).await;
    }
    Ok(())
}

/// The open-loop load at each rate: half creates of new containers, half deletes of containers
/// made (and RUNNING) beforehand.
async fn load(client: &Client, sizes: &Sizes) -> Result<()> {
    println!("open-loop container creates + deletes (half each), {} s per rate; goal p99 ≤ 25 ms at 200/s", sizes.secs);
    println!(
        "{:>8}{:>10}{:>10}{:>10}{:>10}{:>10}{:>8}{:>14}{:>14}",
        "rate/s", "achieved", "p50 ms", "p99 ms", "max ms", "took s", "failed", "p99 creates", "p99 deletes"
    );
    for (step, &rate) in sizes.rates.iter().enumerate() {
        let total = rate * sizes.secs;
        let deletes: Vec<String> = (0..total / 2).map(|i| format!("old-{step}-{i}")).collect();
        create_all(client, deletes.iter().cloned()).await?;
        settle(client).await?;
        let period = Duration::from_secs_f64(1.0 / rate as f64);
        let start = tokio::time::Instant::now();
        let mut requests = Vec::with_capacity(total);
        for i in 0..total {
            let due = start + period * i as u32;
            tokio::time::sleep_until(due).await;
            let client = client.clone();
            let doomed = (i % 2 == 1).then(|| deletes[i / 2].clone());
            let deleting = doomed.is_some();
            requests.push(tokio::spawn(async move {
                match doomed {
                    Some(name) => client.delete_container(&name, &DeleteQuery { stop: Some(true), force: None }).await.map(drop),
                    None => client.create_container(&container(format!("new-{step}-{i}"))).await.map(drop),
                }
                .map(|()| (due.elapsed(), deleting))
            }));
        }
        let (mut latencies, mut by_kind, mut failed) = (Vec::with_capacity(total), [Vec::new(), Vec::new()], Vec::new());
        for request in requests {
            match request.await.context("a request's task panicked")? {
                Ok((latency, deleting)) => {
                    latencies.push(latency);
                    by_kind[usize::from(deleting)].push(latency);
                }
                Err(e) => failed.push(e),
            }
        }
        let took = start.elapsed();
        if latencies.is_empty() {
            bail!("every request at {rate}/s failed, the first: {}", failed[0]);
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |latencies: &mut Vec<Duration>, share: f64| {
            latencies.sort();
            latencies.get(((latencies.len().max(1) - 1) as f64 * share).round() as usize).map_or(f64::NAN, |d| ms(*d))
        };
        println!(
            "{rate:>8}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>8}{:>14.1}{:>14.1}",
            latencies.len() as f64 / took.as_secs_f64(),
            at(&mut latencies, 0.5),
            at(&mut latencies, 0.99),
            at(&mut latencies, 1.0),
            took.as_secs_f64(),
            failed.len(),
            at(&mut by_kind[0], 0.99),
            at(&mut by_kind[1], 0.99),
        );
        if let Some(e) = failed.first() {
            println!("          (the first failure: {e})");
        }
    }
    Ok(())
}

/// Fills a fresh region with containers, batch by batch; prints each batch's creates/s.
async fn fill(client: &Client, sizes: &Sizes) -> Result<()> {
    println!("container creates/s as a region fills to {} ({IN_FLIGHT} in flight); goal flat, ≥ 500/s", sizes.containers);
    let mut made = 0;
    let mut line = String::new();
    while made < sizes.containers {
        let batch = sizes.batch.min(sizes.containers - made);
        let start = Instant::now();
        create_all(client, (made..made + batch).map(|i| format!("fill-{i}"))).await?;
        made += batch;
        line.push_str(&format!(" {made}:{:.0}", batch as f64 / start.elapsed().as_secs_f64()));
        if line.len() > 80 {
            println!(" {}", line.trim());
            line.clear();
        }
    }
    if !line.is_empty() {
        println!(" {}", line.trim());
    }
    Ok(())
}
