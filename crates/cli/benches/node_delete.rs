//! Benchmark: how long a scale-in of one node takes, from the API call to the action's end, with
//! the node's container on a simulated host (so the time is Flotilla's own: engine, store, the
//! agent's long-poll and report, and the engine seeing the container gone). A cluster of
//! `FLOTILLA_BENCH_NODES` (20) nodes is scaled in one node at a time; prints min, median, p90 and
//! max, and fails unless every scale-in succeeded and the cluster ends empty.
//!
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench node_delete`.

mod roles;

use anyhow::{Context, Result, bail};
use flotilla_api::{ClusterActionRequest, JoinTokenCreate, ScaleParams};
use flotilla_client::Client;
use roles::{POLL, Sandbox, block_on, flotilla_binary};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-1234";
/// How often a scale-in's action is looked at: fine enough for the figure.
const ACTION_POLL: Duration = Duration::from_millis(5);

fn main() -> ExitCode {
    let nodes = std::env::var("FLOTILLA_BENCH_NODES").ok().and_then(|v| v.parse().ok()).unwrap_or(20usize);
    block_on(run(nodes))
}

async fn run(nodes: usize) -> Result<()> {
    let sandbox = Sandbox::new(flotilla_binary()?)?;
    let data = sandbox.path("data").display().to_string();
    let server_args = ["server", "--listen", "127.0.0.1:0", "--data-dir", &data, "--bootstrap-password", PASSWORD];
    let (mut server, ready) = sandbox.spawn("server", &server_args, "listening on ")?;
    let url = ready.split_once("listening on ").map(|(_, url)| url.trim().to_owned()).context("the server printed no URL")?;
    let client = roles::admin(&url, PASSWORD).await?;
    let join = client.create_join_token(&JoinTokenCreate::default()).await?.token;
    let agent_args = ["agent", "--server", &url, "--join-token", &join, "--runtime", "sim", "--name", "sim", "--listen", "127.0.0.1:0"];
    let (mut agent, _) = sandbox.spawn("agent", &agent_args, "joined")?;

    wait(&client, &roles::bench_cluster(&client, nodes as i64, 600).await?, POLL).await?;

    let mut took = Vec::with_capacity(nodes);
    for _ in 0..nodes {
        let start = Instant::now();
        let scale_in = ClusterActionRequest::ScaleIn(ScaleParams { count: Some(1) });
        let action = client.cluster_action("bench", &scale_in).await?.action.to_string();
        wait(&client, &action, ACTION_POLL).await?;
        took.push(start.elapsed());
    }
    let left = client.cluster("bench").await?.nodes.len();
    agent.stop();
    server.stop();
    if left != 0 {
        bail!("{left} node(s) left after {nodes} scale-ins");
    }
    took.sort();
    let at = |share: f64| took[((took.len() - 1) as f64 * share).round() as usize];
    println!("scale-in of one node (simulated host, SQLite), {nodes} one after the other; goal ≤ 100 ms");
    println!("  min {:.1?}  median {:.1?}  p90 {:.1?}  max {:.1?}", took[0], at(0.5), at(0.9), took[took.len() - 1]);
    Ok(())
}

/// Polls `action` every `every` until it ends; an error unless it succeeded.
async fn wait(client: &Client, action: &str, every: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let a = client.action(action).await?;
        match a.status.as_str() {
            "SUCCEEDED" => return Ok(()),
            "FAILED" | "CANCELLED" => bail!("{} ended {}: {}", a.name, a.status, a.status_reason),
            _ if start.elapsed() > roles::TIMEOUT => bail!("{} still {} after {:?}", a.name, a.status, roles::TIMEOUT),
            _ => tokio::time::sleep(every).await,
        }
    }
}
