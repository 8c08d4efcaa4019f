//! Addresses allocated per second on each backend, filling one /16 subnet per path (65,000
//! addresses; `FLOTILLA_BENCH_ADDRESSES=N` for fewer), with the rate of each quarter of the fill
//! so a slowdown as the subnet fills shows. Three paths: `create_port` one at a time (one address
//! per transaction), `create_port` from 16 tasks at once, and the batched path of a cluster
//! scale-out (`create_node_containers`, as the engine's placer calls it: up to 500 containers of
//! one port each per transaction; no hosts, so each container is written in ERROR, its address
//! still allocated and written; `FLOTILLA_BENCH_PATH=serial|concurrent|batched` runs one alone, to
//! profile it). SQLite always; PostgreSQL when `FLOTILLA_TEST_POSTGRES_URL` names
//! a server (`FLOTILLA_TEST_ONLY_DB=1 scripts/test.sh cargo bench -p flotilla-store --bench addresses`).

use flotilla_core::container::Container;
use flotilla_core::ipam::{Cidr, SubnetPlan};
use flotilla_core::network::{Network, Subnet};
use flotilla_core::profile::{ContainerProperties, NetworkRef};
use flotilla_core::quota::Quota;
use flotilla_core::scheduler::{Request, Settings};
use flotilla_core::{Metadata, Name, NetworkId, NodeId, ProjectId, SubnetId};
use flotilla_store::{NodePlacement, Store};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Assignable addresses of a /16 (all but the network, broadcast and gateway addresses).
const SLASH_16: usize = 65_533;
/// Addresses a fill hands out unless `FLOTILLA_BENCH_ADDRESSES` says fewer.
const DEFAULT_ADDRESSES: usize = 65_000;
/// Concurrent callers of the concurrent path.
const CONCURRENCY: usize = 16;
/// Placements per transaction on the batched path (the engine placer's most).
const BATCH: usize = 500;

#[path = "../tests/support/mod.rs"]
mod support;
use support::name;

/// A fresh project (its quota of ports raised to 100,000) with one network `tag` on the /16
/// `10.{second}.0.0/16`.
async fn fresh_network(store: &Store, tag: &str, second: u8) -> (ProjectId, NetworkId, Name) {
    let now = flotilla_core::now();
    let project = support::project(tag);
    store.create_project(&project).await.unwrap();
    // Room for the fill, still a limit (so every port written is counted against it).
    store.set_quota(project.id, Quota { ports: Some(100_000), ..Quota::default() }).await.unwrap();
    let network = Network {
        id: NetworkId::new(),
        name: name(tag),
        project_id: project.id,
        shared: false,
        is_default: false,
        global: false,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    let cidr = Cidr::parse("cidr", &format!("10.{second}.0.0/16")).unwrap();
    let plan = SubnetPlan::new("", cidr, None, Vec::new(), Default::default()).unwrap();
    let subnet = Subnet { id: SubnetId::new(), name: name(tag), network_id: network.id, project_id: project.id, plan, created_at: now };
    store.create_network(&network, Some(&subnet)).await.unwrap();
    (project.id, network.id, network.name)
}

/// How far a fill of `total` addresses has come: the time each quarter of it was done.
struct Progress {
    total: usize,
    started: Instant,
    done: usize,
    /// (addresses done, when) at the end of each quarter reached so far.
    quarters: Vec<(usize, Duration)>,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress { total, started: Instant::now(), done: 0, quarters: Vec::new() }
    }

    fn add(&mut self, addresses: usize) {
        self.done += addresses;
        while self.quarters.len() < 4 && self.done * 4 >= self.total * (self.quarters.len() + 1) {
            self.quarters.push((self.done, self.started.elapsed()));
        }
    }

    /// Addresses per second overall and in each quarter of the fill.
    fn rates(&self) -> (f64, Vec<f64>) {
        let mut rates = Vec::with_capacity(4);
        let mut before = (0, Duration::ZERO);
        for &(done, at) in &self.quarters {
            rates.push((done - before.0) as f64 / (at - before.1).as_secs_f64());
            before = (done, at);
        }
        (before.0 as f64 / before.1.as_secs_f64(), rates)
    }
}

/// Fills a fresh /16 with `total` `create_port` calls from `concurrency` tasks.
async fn single_creates(store: &Store, total: usize, concurrency: usize, tag: &str, second: u8) -> Progress {
    let (project, network, _) = fresh_network(store, tag, second).await;
    let progress = Arc::new(Mutex::new(Progress::new(total)));
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let (store, progress) = (store.clone(), progress.clone());
            tokio::spawn(async move {
                for i in (t..total).step_by(concurrency) {
                    store.create_port(project, network, &format!("p{i}"), None).await.unwrap();
                    progress.lock().unwrap().add(1);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    Arc::into_inner(progress).unwrap().into_inner().unwrap()
}

/// Container `i` of `project`, on network `network`, not yet placed.
fn container(project: ProjectId, network: &Name, i: usize) -> Container {
    let spec =
        ContainerProperties { image: "busybox".into(), networks: vec![NetworkRef { network: network.to_string() }], ..Default::default() };
    Container { name: name(&format!("c{i}")), ..support::container(project, spec) }
}

/// Fills a fresh /16 with `total` placements of one-port containers, [`BATCH`] per transaction.
async fn batched_placements(store: &Store, total: usize, second: u8) -> Progress {
    let (project, _, network) = fresh_network(store, "batched", second).await;
    let settings = Settings::default();
    let mut progress = Progress::new(total);
    for first in (0..total).step_by(BATCH) {
        let placements: Vec<NodePlacement> = (first..total.min(first + BATCH))
            .map(|i| {
                let container = container(project, &network, i);
                let request = Request::for_spec(&container.spec);
                NodePlacement { node: NodeId::new(), cluster: None, container, request }
            })
            .collect();
        let written = store.create_node_containers(placements, &settings).await.unwrap();
        assert!(written.iter().all(Result::is_ok), "every placement is written");
        progress.add(written.len());
    }
    progress
}

fn print(backend: &str, path: &str, total: usize, progress: &Progress) {
    let (overall, quarters) = progress.rates();
    let quarters: Vec<String> = quarters.iter().map(|r| format!("{r:>7.0}")).collect();
    println!("{backend:<10} {path:<52} {total} addresses on one /16: {overall:>7.0}/s; by quarter of the fill: {}", quarters.join(" "));
}

async fn report(backend: &str, store: &Store, total: usize, path: Option<&str>) {
    let runs = |p: &str| path.is_none_or(|path| path == p);
    if runs("serial") {
        let serial = single_creates(store, total, 1, "serial", 61).await;
        print(backend, "create_port, one at a time (1 per transaction)", total, &serial);
    }
    if runs("concurrent") {
        let concurrent = single_creates(store, total, CONCURRENCY, "concurrent", 62).await;
        print(backend, &format!("create_port, {CONCURRENCY} at once (1 per call)"), total, &concurrent);
    }
    if runs("batched") {
        let batched = batched_placements(store, total, 63).await;
        print(backend, &format!("placements, up to {BATCH} per transaction (1 port each)"), total, &batched);
    }
}

#[tokio::main]
async fn main() {
    let total = match std::env::var("FLOTILLA_BENCH_ADDRESSES") {
        Ok(n) => n.parse::<usize>().expect("FLOTILLA_BENCH_ADDRESSES is a number").clamp(4, SLASH_16),
        Err(_) => DEFAULT_ADDRESSES,
    };
    let path = std::env::var("FLOTILLA_BENCH_PATH").ok();
    let path = path.as_deref();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    report("SQLite", &sqlite, total, path).await;
    match std::env::var("FLOTILLA_TEST_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("bench_addresses_{}", uuid::Uuid::now_v7().simple());
            let url = flotilla_store::create_postgres_database(&server, &name).await.unwrap();
            report("PostgreSQL", &Store::connect(&url).await.unwrap(), total, path).await;
        }
        Err(_) => println!("PostgreSQL skipped: FLOTILLA_TEST_POSTGRES_URL is not set"),
    }
}
