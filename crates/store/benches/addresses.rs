//! Addresses allocated per second on each backend: 4,000 port creates on one /20 subnet, one at a
//! time and 16 at once. SQLite always; PostgreSQL when `FLOTILLA_TEST_POSTGRES_URL` names a
//! server (`FLOTILLA_TEST_ONLY_DB=1 scripts/test.sh cargo bench -p flotilla-store --bench addresses`).

use flotilla_core::identity::Project;
use flotilla_core::ipam::{Cidr, SubnetPlan};
use flotilla_core::network::{Network, Subnet};
use flotilla_core::{Metadata, Name, NetworkId, ProjectId, SubnetId};
use flotilla_store::Store;
use std::time::Instant;

const PORTS: usize = 4000;

/// A fresh project with one network on a /20 (4,093 assignable addresses).
async fn fresh_network(store: &Store, tag: &str) -> (ProjectId, NetworkId) {
    let now = flotilla_core::now();
    let name = |n: &str| Name::parse("name", n).unwrap();
    let project = Project {
        id: ProjectId::new(),
        name: name(tag),
        description: String::new(),
        enabled: true,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    store.create_project(&project).await.unwrap();
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
    let third = if tag == "serial" { 0 } else { 16 };
    let cidr = Cidr::parse("cidr", &format!("10.60.{third}.0/20")).unwrap();
    let plan = SubnetPlan::new("", cidr, None, Vec::new(), Default::default()).unwrap();
    let subnet = Subnet { id: SubnetId::new(), name: name(tag), network_id: network.id, project_id: project.id, plan, created_at: now };
    store.create_network(&network, Some(&subnet)).await.unwrap();
    (project.id, network.id)
}

/// Creates [`PORTS`] ports with `concurrency` tasks; answers addresses per second.
async fn rate(store: &Store, concurrency: usize, tag: &str) -> f64 {
    let (project, network) = fresh_network(store, tag).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (t..PORTS).step_by(concurrency) {
                    store.create_port(project, network, &format!("p{i}"), None).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    PORTS as f64 / started.elapsed().as_secs_f64()
}

async fn report(backend: &str, store: &Store) {
    let serial = rate(store, 1, "serial").await;
    let concurrent = rate(store, 16, "concurrent").await;
    println!("{backend:<10} {PORTS} addresses on one /20: {serial:>8.0}/s one at a time, {concurrent:>8.0}/s with 16 at once");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    report("SQLite", &sqlite).await;
    match std::env::var("FLOTILLA_TEST_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("bench_addresses_{}", uuid::Uuid::now_v7().simple());
            let url = flotilla_store::create_postgres_database(&server, &name).await.unwrap();
            report("PostgreSQL", &Store::connect(&url).await.unwrap()).await;
        }
        Err(_) => println!("PostgreSQL skipped: FLOTILLA_TEST_POSTGRES_URL is not set"),
    }
}
