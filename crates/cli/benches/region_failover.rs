//! Benchmark: clusters across regions. A real central (default 10 s region grace period) and three
//! real regions (SQLite), each with a simulated agent. Prints:
//! - a member created in another region: p50/p99 from the scale-out call to the member RUNNING
//!   there (the node ACTIVE), beside the same for a member in the cluster's own region;
//! - after SIGKILL of one region's server and agent, holding 6 of a cluster's 12 members (weights
//!   1:1:2): the time until the first of them is being recovered (detection) and until all 12 are
//!   ACTIVE in the other two regions (replacement).
//!
//! Goals: create p99 ≤ 500 ms, detection ≤ 15 s, all replacements ACTIVE ≤ 30 s.
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench region_failover`.

mod roles;

use anyhow::{Context, Result, bail};
use flotilla_api::region::RegionJoinTokenCreate;
use flotilla_api::{
    ClusterActionRequest, ClusterCreate, JoinTokenCreate, Node, NodeFilter, PolicyCreate, PolicyParams, ProfileCreate, ScaleParams,
    TokenCreate,
};
use flotilla_client::Client;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
use roles::federation::{server, wait_registered};
use roles::{Role, Sandbox, flotilla_binary};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-1234";
const REGIONS: [&str; 3] = ["r0", "r1", "r2"];
/// Sequential member creates measured per kind.
const CREATES: usize = 40;

fn main() -> ExitCode {
    roles::block_on(run())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Waits until action `id` ends; an error unless it SUCCEEDED.
async fn finished(client: &Client, id: &str) -> Result<()> {
    loop {
        let action = client.action(id).await?;
        match action.status.as_str() {
            "SUCCEEDED" => return Ok(()),
            "FAILED" | "CANCELLED" => bail!("action {id} {}: {}", action.status, action.status_reason),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn policy(client: &Client, name: &str, spec: serde_json::Value) -> Result<()> {
    client.create_policy(&PolicyCreate { name: name.into(), spec: serde_json::from_value(spec)?, metadata: Default::default() }).await?;
    Ok(())
}

/// An empty cluster `name` with `policies` attached.
async fn cluster(client: &Client, name: &str, policies: &[&str]) -> Result<()> {
    let body = ClusterCreate {
        name: name.into(),
        profile: "bench".into(),
        desired_capacity: 0,
        min_size: 0,
        max_size: -1,
        timeout: Some(600),
        config: Default::default(),
        metadata: Default::default(),
    };
    finished(client, &client.create_cluster(&body).await?.action.context("no action")?).await?;
    for policy in policies {
        let attach = ClusterActionRequest::PolicyAttach(PolicyParams { policy: (*policy).into(), enabled: None });
        finished(client, &client.cluster_action(name, &attach).await?.action.to_string()).await?;
    }
    Ok(())
}

/// `count` scale-outs of one, one after the other: each one's time until its member is ACTIVE.
async fn creates(client: &Client, cluster: &str, count: usize) -> Result<Vec<Duration>> {
    let mut took = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let action = client.cluster_action(cluster, &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(1) })).await?;
        finished(client, &action.action.to_string()).await?;
        took.push(started.elapsed());
    }
    took.sort();
    Ok(took)
}

async fn members(client: &Client, cluster: &str) -> Result<Vec<Node>> {
    Ok(client.all_nodes(&NodeFilter { cluster: Some(cluster.into()), status: None }).await?)
}

struct Federation {
    roles: Vec<Role>,
    home: Client,
}

/// A central and the regions, each with a simulated agent; the client at the first region.
async fn federation(sandbox: &Sandbox) -> Result<Federation> {
    let (central_role, central) = server(sandbox, "central", &["--central", "--bootstrap-password", PASSWORD])?;
    let body = TokenCreate { user: "admin".into(), password: PASSWORD.into(), project: Some("admin".into()), expires_in: None };
    let token = Client::new(&central)?.create_token(&body).await?.token.context("a token")?;
    let admin = Client::new(&central)?.with_token(token.clone());
    let mut roles = vec![central_role];
    let mut clients = Vec::new();
    let mut urls = Vec::new();
    for (i, name) in REGIONS.into_iter().enumerate() {
        let join = admin.create_region_join_token(&RegionJoinTokenCreate::default()).await?.token;
        let pool = format!("10.{}.0.0/16", 190 + i);
        let extra = ["--region", name, "--central-url", &central, "--region-join-token", &join, "--network-pool", &pool];
        let (role, url) = server(sandbox, name, &extra)?;
        roles.push(role);
        clients.push(Client::new(&url)?.with_token(token.clone()));
        urls.push(url);
    }
    wait_registered(&clients).await?;
    for ((name, client), url) in REGIONS.into_iter().zip(&clients).zip(&urls) {
        let join = client.create_join_token(&JoinTokenCreate::default()).await?.token;
        let state = sandbox.path(&format!("{name}-agent"));
        let args = ["agent", "--server", url, "--join-token", &join, "--runtime", "sim", "--name", name, "--listen", "127.0.0.1:0"];
        let more = ["--simulate-hosts", "4", "--state-dir", state.to_str().context("a UTF-8 path")?];
        let agent_name: &'static str = Box::leak(format!("{name}-agent").into_boxed_str());
        let (agent, _) = sandbox.spawn(agent_name, &[&args[..], &more[..]].concat(), "simulated hosts joined")?;
        roles.push(agent);
    }
    Ok(Federation { roles, home: clients.swap_remove(0) })
}

async fn run() -> Result<()> {
    let sandbox = Sandbox::new(flotilla_binary()?)?;
    let Federation { mut roles, home } = federation(&sandbox).await?;
    let properties = ContainerProperties { image: "bench/any:1".into(), cpu: Some(0.01), memory: Some(4), ..Default::default() };
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    home.create_profile(&ProfileCreate { name: "bench".into(), spec, metadata: Default::default() }).await?;
    let regions = |weights: &[(&str, u32)]| {
        let regions: Vec<serde_json::Value> =
            weights.iter().map(|(name, weight)| serde_json::json!({"name": name, "weight": weight})).collect();
        serde_json::json!({"type": "placement.region", "version": "1.0", "properties": {"regions": regions}})
    };
    policy(&home, "far", regions(&[("r1", 100)])).await?;
    policy(&home, "spread", regions(&[("r0", 100), ("r1", 100), ("r2", 200)])).await?;
    let heal = serde_json::json!({"type": "health", "version": "1.0",
        "properties": {"detection": {"type": "container_status", "interval": 1}, "recovery": {"action": "RECREATE"}}});
    policy(&home, "heal", heal).await?;

    cluster(&home, "near", &[]).await?;
    cluster(&home, "far", &["far"]).await?;
    let near = creates(&home, "near", CREATES).await?;
    let far = creates(&home, "far", CREATES).await?;
    println!("member create to RUNNING, {CREATES} one after the other (simulated hosts, SQLite); goal p99 ≤ 500 ms");
    for (what, took) in [("in the home region", &near), ("in another region", &far)] {
        println!(
            "  {what:<20} p50 {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}",
            percentile(took, 0.5),
            percentile(took, 0.99),
            took[took.len() - 1]
        );
    }

    cluster(&home, "web", &["spread", "heal"]).await?;
    let resize = ClusterActionRequest::ScaleOut(ScaleParams { count: Some(12) });
    finished(&home, &home.cluster_action("web", &resize).await?.action.to_string()).await?;
    let lost: Vec<Node> = members(&home, "web").await?.into_iter().filter(|n| n.region == "r2").collect();
    if lost.len() != 6 {
        bail!("r2 holds {} members, not 6", lost.len());
    }
    // Roles: central, r0, r1, r2, then the agents of r0, r1, r2.
    let killed = Instant::now();
    for index in [6, 3] {
        roles[index].child.kill()?;
        roles[index].child.wait()?;
    }
    let mut detected = None;
    let replaced = loop {
        let now = members(&home, "web").await?;
        if detected.is_none() && now.iter().any(|n| lost.iter().any(|l| l.id == n.id) && n.status != "ACTIVE") {
            detected = Some(killed.elapsed());
        }
        if now.len() == 12 && now.iter().all(|n| n.region != "r2" && n.status == "ACTIVE") {
            break killed.elapsed();
        }
        if killed.elapsed() > Duration::from_secs(180) {
            bail!("the members of r2 were not replaced within 3 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("losing region r2 (SIGKILL of its server and agent) with 6 of a cluster's 12 members");
    println!("  detection (a member of r2 being recovered): {:.1?}; goal ≤ 15 s", detected.unwrap_or(replaced));
    println!("  all 12 ACTIVE in r0 and r1: {replaced:.1?}; goal ≤ 30 s");
    for role in roles.iter_mut().rev() {
        role.stop();
    }
    Ok(())
}
