//! Benchmark: one cluster scaled from 0 to 10,000 nodes over 1,000 simulated hosts through the
//! whole engine (REST API, action DAG, scheduler, store, agents' long-polls and reports), on
//! SQLite and, when `FLOTILLA_TEST_POSTGRES_URL` names a server, on PostgreSQL. Prints the time
//! until every node is ACTIVE, nodes/s, the server's and the agent process's peak memory, and the
//! server's memory per managed container (its resident memory with every node ACTIVE, less what
//! it held before the scale-out, per node; again after a restart of the server with the nodes in
//! place); fails unless every node is ACTIVE on its own address (the project's default network
//! grows past one subnet) and the cluster's delete leaves no container, port or node.
//!
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench cluster_scale`;
//! `FLOTILLA_BENCH_NODES` and `FLOTILLA_BENCH_HOSTS` change the sizes; `FLOTILLA_BENCH_STORES`
//! (`sqlite`, `postgresql`, or both comma-separated, the default) which stores run.

mod roles;

use anyhow::{Context, Result, bail};
use flotilla_api::{ClusterActionRequest, ContainerFilter, JoinTokenCreate, ListQuery, NodeFilter, PortFilters, ScaleParams};
use flotilla_client::Client;
use roles::{Role, Sandbox, flotilla_binary};
use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-1234";

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> ExitCode {
    let nodes = size("FLOTILLA_BENCH_NODES", 10_000);
    let hosts = size("FLOTILLA_BENCH_HOSTS", 1_000);
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let stores = std::env::var("FLOTILLA_BENCH_STORES").unwrap_or_else(|_| "sqlite,postgresql".into());
    let wanted = |store: &str| stores.split(',').any(|s| s.trim() == store);
    let mut backends = Vec::new();
    if wanted("sqlite") {
        backends.push(("sqlite", None));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    if wanted("postgresql") {
        match runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, dir.path())) {
            Some(url) => backends.push(("postgresql", Some(url))),
            None => println!("(PostgreSQL skipped: set FLOTILLA_TEST_POSTGRES_URL, e.g. through scripts/test.sh)"),
        }
    }
    println!("scale-out of one cluster from 0 to {nodes} nodes over {hosts} simulated hosts");
    println!(
        "{:<12}{:>12}{:>10}{:>18}{:>18}{:>20}{:>22}",
        "store", "all ACTIVE", "nodes/s", "server peak MiB", "agents peak MiB", "server KB/container", "after restart KB/c."
    );
    for (name, database) in backends {
        match run(&runtime, nodes, hosts, database.as_deref()) {
            Ok(m) => println!(
                "{name:<12}{:>10.1} s{:>10.0}{:>18.1}{:>18.1}{:>20.1}{:>22.1}",
                m.took.as_secs_f64(),
                nodes as f64 / m.took.as_secs_f64(),
                m.server_peak_mib,
                m.agent_peak_mib,
                m.per_container_kb(m.live_mib, nodes),
                m.per_container_kb(m.restarted_mib, nodes),
            ),
            Err(e) => {
                eprintln!("error ({name}): {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

struct Measured {
    took: Duration,
    server_peak_mib: f64,
    agent_peak_mib: f64,
    /// The server's resident memory with its hosts joined, before the scale-out.
    before_mib: f64,
    /// The same with every node ACTIVE.
    live_mib: f64,
    /// The same after a restart of the server, every node ACTIVE again.
    restarted_mib: f64,
}

impl Measured {
    /// The server's memory per container at `resident_mib` with `nodes` containers, in KB (1,000 bytes).
    fn per_container_kb(&self, resident_mib: f64, nodes: usize) -> f64 {
        (resident_mib - self.before_mib) * 1024.0 * 1024.0 / 1000.0 / nodes as f64
    }
}

/// How long the server is left alone before its resident memory is read (the allocator hands
/// freed pages back to the system within 10 s).
const SETTLE: Duration = Duration::from_secs(15);

fn run(runtime: &tokio::runtime::Runtime, nodes: usize, hosts: usize, database: Option<&str>) -> Result<Measured> {
    let sandbox = Sandbox::new(flotilla_binary()?)?;
    let data = sandbox.path("data").display().to_string();
    let max = (nodes * 2).to_string();
    let mut args =
        vec!["server", "--listen", "127.0.0.1:0", "--data-dir", &data, "--bootstrap-password", PASSWORD, "--max-nodes-per-cluster", &max];
    if let Some(url) = database {
        args.extend(["--database", url]);
    }
    let (mut server, ready) = sandbox.spawn("server", &args, "listening on ")?;
    let url = ready.split_once("listening on ").map(|(_, url)| url.trim().to_owned()).context("the server printed no URL")?;
    let client = runtime.block_on(roles::admin(&url, PASSWORD))?;
    let join = runtime.block_on(client.create_join_token(&JoinTokenCreate::default()))?.token;
    let simulate_hosts = hosts.to_string();
    let agent_args = roles::sim_agent_args(&url, &join, "sim", &["--simulate-hosts", &simulate_hosts]);
    let agent_args: Vec<&str> = agent_args.iter().map(String::as_str).collect();
    let (mut agent, _) = sandbox.spawn("agent", &agent_args, "simulated hosts joined")?;
    let created = runtime.block_on(roles::bench_cluster(&client, 0, 3600))?;
    runtime.block_on(wait(&client, &created))?;
    std::thread::sleep(SETTLE);
    let before_mib = server.memory_mib()?.1;
    let took = runtime.block_on(scale_out(&client, nodes))?;
    std::thread::sleep(SETTLE);
    let (server_peak_mib, live_mib) = server.memory_mib()?;
    runtime.block_on(check(&client, nodes))?;
    server.stop();
    let restart = chrono::Utc::now();
    let listen = url.trim_start_matches("http://");
    let same_address: Vec<&str> = args.iter().map(|arg| if *arg == "127.0.0.1:0" { listen } else { arg }).collect();
    let (restarted, _) = sandbox.spawn("server", &same_address, "listening on ")?;
    server = restarted;
    runtime.block_on(all_up_again(&client, hosts, nodes, restart))?;
    std::thread::sleep(SETTLE);
    let restarted_mib = server.memory_mib()?.1;
    runtime.block_on(delete(&client))?;
    let agent_peak_mib = agent.memory_mib()?.0;
    stop(&mut agent, &mut server);
    Ok(Measured { took, server_peak_mib, agent_peak_mib, before_mib, live_mib, restarted_mib })
}

fn stop(agent: &mut Role, server: &mut Role) {
    agent.stop();
    server.stop();
}

/// Scales cluster `bench` out by `nodes`, and answers how long until all were ACTIVE.
async fn scale_out(client: &Client, nodes: usize) -> Result<Duration> {
    let start = Instant::now();
    let scale_out = ClusterActionRequest::ScaleOut(ScaleParams { count: Some(nodes as i64) });
    let action = client.cluster_action("bench", &scale_out).await?.action.to_string();
    wait(client, &action).await?;
    Ok(start.elapsed())
}

/// Fails unless the cluster's `nodes` nodes are ACTIVE, each on its own address.
async fn check(client: &Client, nodes: usize) -> Result<()> {
    let active = client.all_nodes(&NodeFilter { cluster: Some("bench".into()), status: Some("ACTIVE".into()) }).await?.len();
    if active != nodes {
        bail!("{active} of {nodes} nodes ACTIVE after the scale-out");
    }
    let ports = client.all_ports(&PortFilters::default()).await?;
    let addresses: HashSet<&str> = ports.iter().map(|p| p.ip_address.as_str()).collect();
    if (ports.len(), addresses.len()) != (nodes, nodes) {
        bail!("{} ports, {} distinct addresses for {nodes} nodes", ports.len(), addresses.len());
    }
    Ok(())
}

/// Waits (up to 5 minutes) until a server restarted at `restart` has heard from every one of its
/// `hosts` since, each UP, and has every node ACTIVE again.
async fn all_up_again(client: &Client, hosts: usize, nodes: usize, restart: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let back = client.all_hosts(Some("UP")).await.map(|up| up.iter().filter(|h| h.last_heartbeat > Some(restart)).count());
        let active = client.all_nodes(&NodeFilter { cluster: Some("bench".into()), status: Some("ACTIVE".into()) }).await.map(|n| n.len());
        if let (Ok(back), Ok(active)) = (&back, &active)
            && (*back, *active) == (hosts, nodes)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("after the server's restart: {back:?} hosts back and UP (of {hosts}), {active:?} nodes ACTIVE (of {nodes})");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Deletes cluster `bench`; fails unless it leaves no container, port or node.
async fn delete(client: &Client) -> Result<()> {
    let deleted = client.delete_cluster("bench", false).await?;
    wait(client, &deleted.action.to_string()).await?;
    let left = (
        client.list_containers(&ListQuery::default(), &ContainerFilter::default()).await?.containers.len(),
        client.all_ports(&PortFilters::default()).await?.len(),
        client.all_nodes(&NodeFilter::default()).await?.len(),
    );
    if left != (0, 0, 0) {
        bail!("left after the delete: {} container(s), {} port(s), {} node(s)", left.0, left.1, left.2);
    }
    Ok(())
}

/// Polls `action` until it ends; prints the cluster's size every 10 s.
async fn wait(client: &Client, action: &str) -> Result<()> {
    let (start, mut shown) = (Instant::now(), Instant::now());
    loop {
        let a = client.action(action).await?;
        match a.status.as_str() {
            "SUCCEEDED" => return Ok(()),
            "FAILED" | "CANCELLED" => bail!("{} ended {}: {}", a.name, a.status, a.status_reason),
            _ if start.elapsed() > Duration::from_secs(3600) => bail!("{} still {} after an hour", a.name, a.status),
            _ => {}
        }
        if shown.elapsed() > Duration::from_secs(10) {
            shown = Instant::now();
            // The cluster's delete removes it before its action ends: no size to show then.
            if let Ok(cluster) = client.cluster("bench").await {
                eprintln!("  {:>5.0} s: {} {}, {} nodes", start.elapsed().as_secs_f64(), a.name, a.status, cluster.nodes.len());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
