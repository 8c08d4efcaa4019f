//! Benchmark: global address allocations per second over three regions. A real central and three
//! real region servers (SQLite), one global network of a /16; 3,000 port creates, 32 in flight
//! per region (after a warm-up create in each), each region asking the central for the next /26
//! block only when its held ones run low.
//! Prints allocations/s overall and per region, latency percentiles, and the blocks handed out.
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench global_alloc`.

mod roles;

use anyhow::{Context, Result, ensure};
use flotilla_api::region::RegionJoinTokenCreate;
use flotilla_api::{NetworkCreate, PortCreate, SubnetCreate, TokenCreate};
use flotilla_client::Client;
use futures::future::try_join_all;
use roles::federation::{server, wait_registered};
use roles::{Sandbox, flotilla_binary};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-pass-1234";
const REGIONS: [&str; 3] = ["r0", "r1", "r2"];
/// Port creates per region.
const PER_REGION: usize = 1000;
/// Creates in flight per region.
const IN_FLIGHT: usize = 32;

fn main() -> ExitCode {
    roles::block_on(run())
}

/// `count` port creates on `network` at `client`, `IN_FLIGHT` at once; each one's latency and address.
async fn allocate(client: Client, network: &str, count: usize) -> Result<Vec<(Duration, Ipv4Addr)>> {
    let per_worker = count.div_ceil(IN_FLIGHT);
    let workers = (0..IN_FLIGHT).map(|w| {
        let client = client.clone();
        let network = network.to_owned();
        async move {
            let mut out = Vec::new();
            for _ in 0..per_worker.min(count.saturating_sub(w * per_worker)) {
                let started = Instant::now();
                let port = client.create_port(&PortCreate { network: network.clone(), name: None, ip_address: None }).await?;
                out.push((started.elapsed(), port.ip_address.parse::<Ipv4Addr>()?));
            }
            anyhow::Ok(out)
        }
    });
    Ok(try_join_all(workers).await?.into_iter().flatten().collect())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run() -> Result<()> {
    let sandbox = Sandbox::new(flotilla_binary()?)?;
    let (_central, central) =
        server(&sandbox, "central", &["--central", "--global-pool", "172.31.0.0/16", "--bootstrap-password", PASSWORD])?;
    let body = TokenCreate { user: "admin".into(), password: PASSWORD.into(), project: Some("admin".into()), expires_in: None };
    let token = Client::new(&central)?.create_token(&body).await?.token.context("a token")?;
    let admin = Client::new(&central)?.with_token(token.clone());
    let mut roles = Vec::new();
    let mut clients = Vec::new();
    for name in REGIONS {
        let join = admin.create_region_join_token(&RegionJoinTokenCreate::default()).await?.token;
        let (role, url) = server(&sandbox, name, &["--region", name, "--central-url", &central, "--region-join-token", &join])?;
        roles.push(role);
        clients.push(Client::new(&url)?.with_token(token.clone()));
    }
    wait_registered(&clients).await?;
    let network = NetworkCreate {
        name: "bench".into(),
        shared: false,
        global: true,
        subnet: Some(SubnetCreate { cidr: "172.31.0.0/16".into(), ..Default::default() }),
        metadata: Default::default(),
    };
    clients[0].create_network(&network).await?;
    // Warm-up, not timed: each region validates the token and copies the network on first use.
    try_join_all(clients.iter().map(|c| allocate(c.clone(), "bench", 1))).await?;

    let started = Instant::now();
    let per_region = try_join_all(clients.iter().map(|c| allocate(c.clone(), "bench", PER_REGION))).await?;
    let elapsed = started.elapsed();
    let total = PER_REGION * REGIONS.len();
    let all: Vec<(Duration, Ipv4Addr)> = per_region.iter().flatten().copied().collect();
    let distinct: BTreeSet<Ipv4Addr> = all.iter().map(|(_, ip)| *ip).collect();
    // (the warm-up's three addresses are not among them: they were handed out before)
    ensure!(distinct.len() == total, "{} distinct addresses of {total}", distinct.len());
    let blocks: BTreeSet<u32> = distinct.iter().map(|ip| u32::from(*ip) >> 6).collect();
    let mut latencies: Vec<Duration> = all.iter().map(|(d, _)| *d).collect();
    latencies.sort();

    println!("global allocations over {} regions (SQLite, {IN_FLIGHT} in flight per region)", REGIONS.len());
    println!("  {total} addresses in {elapsed:.2?}: {:.0} allocations/s, all distinct", total as f64 / elapsed.as_secs_f64());
    for (name, ports) in REGIONS.iter().zip(&per_region) {
        let slowest = ports.iter().map(|(d, _)| *d).max().unwrap_or_default();
        println!("  {name}: {} addresses, slowest create {slowest:.2?}", ports.len());
    }
    println!(
        "  latency p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "  /26 blocks holding them: {} (a region asks the central ahead, when less than a block of held addresses is left)",
        blocks.len()
    );
    Ok(())
}
