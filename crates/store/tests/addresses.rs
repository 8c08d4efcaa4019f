//! Address allocation under load: 1,000 concurrent port creates on one subnet (on PostgreSQL
//! spread over four store handles, as four servers' engines would be) never hand out an address
//! twice; an exhausted pool is a clear conflict; released addresses are handed out again.
//! Under `CI=true` a missing PostgreSQL (`FLOTILLA_TEST_POSTGRES_URL`) fails the run.

use flotilla_core::identity::Project;
use flotilla_core::ipam::{Cidr, Pool, SubnetPlan};
use flotilla_core::network::{Network, Subnet};
use flotilla_core::{Metadata, Name, NetworkId, ProjectId, SubnetId};
use flotilla_store::{Scope, Store, StoreError};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

const PORTS: usize = 1000;

fn name(n: &str) -> Name {
    Name::parse("name", n).unwrap()
}

/// A project and a network whose subnet's pool holds exactly [`PORTS`] addresses.
async fn network(store: &Store) -> (ProjectId, NetworkId) {
    let now = flotilla_core::now();
    let project = Project {
        id: ProjectId::new(),
        name: name("p"),
        description: String::new(),
        enabled: true,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    store.create_project(&project).await.unwrap();
    let network = Network {
        id: NetworkId::new(),
        name: name("net"),
        project_id: project.id,
        shared: false,
        is_default: false,
        global: false,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    // 10.50.0.10 - 10.50.3.241: 246 + 256 + 256 + 242 = 1,000 addresses.
    let pool = Pool { start: "10.50.0.10".parse().unwrap(), end: "10.50.3.241".parse().unwrap() };
    let plan = SubnetPlan::new("", Cidr::parse("cidr", "10.50.0.0/22").unwrap(), None, vec![pool], BTreeSet::new()).unwrap();
    assert_eq!(plan.capacity(), PORTS);
    let subnet =
        Subnet { id: SubnetId::new(), name: name("net-subnet"), network_id: network.id, project_id: project.id, plan, created_at: now };
    store.create_network(&network, Some(&subnet)).await.unwrap();
    (project.id, network.id)
}

/// Creates [`PORTS`] ports at once, task `i` on `stores[i % len]`; answers the addresses.
async fn create_all(stores: &[Store], project: ProjectId, network: NetworkId) -> Vec<Ipv4Addr> {
    let tasks: Vec<_> = (0..PORTS)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move { store.create_port(project, network, &format!("p{i}"), None).await.map(|p| p.port.ip) })
        })
        .collect();
    let mut ips = Vec::with_capacity(PORTS);
    for task in tasks {
        ips.push(task.await.unwrap().expect("every create within the pool succeeds"));
    }
    ips
}

async fn never_twice(stores: &[Store]) {
    let store = &stores[0];
    let (project, network) = network(store).await;
    let ips = create_all(stores, project, network).await;
    let distinct: BTreeSet<Ipv4Addr> = ips.iter().copied().collect();
    assert_eq!(distinct.len(), PORTS, "all {PORTS} addresses are distinct");
    let (low, high): (Ipv4Addr, Ipv4Addr) = ("10.50.0.10".parse().unwrap(), "10.50.3.241".parse().unwrap());
    assert!(distinct.iter().all(|ip| *ip >= low && *ip <= high), "every address comes from the pool");
    let shown = store.network(Scope::All, &network.to_string()).await.unwrap();
    assert_eq!(shown.subnets[0].used, PORTS as u64);

    match store.create_port(project, network, "one-too-many", None).await {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("no free address") && message.contains("10.50.0.0/22"), "{message}")
        }
        other => panic!("an exhausted pool is a conflict, got {other:?}"),
    }

    let filters = flotilla_store::PortFilters { network: Some(network), container: None };
    let page = store.list_ports(Scope::All, filters, &Default::default()).await.unwrap();
    let released: BTreeSet<Ipv4Addr> = page.items.iter().step_by(9).take(10).map(|p| p.port.ip).collect();
    for p in page.items.iter().filter(|p| released.contains(&p.port.ip)) {
        store.delete_port(p.port.id).await.unwrap();
    }
    let mut again = BTreeSet::new();
    for i in 0..released.len() {
        again.insert(stores[i % stores.len()].create_port(project, network, "again", None).await.unwrap().port.ip);
    }
    assert_eq!(again, released, "the released addresses, and only they, are handed out again");
    let fixed = store.create_port(project, network, "fixed", Some(*released.first().unwrap())).await;
    assert!(matches!(&fixed, Err(StoreError::Conflict(m)) if m.contains("already in use")), "{fixed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_never_hands_out_an_address_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flotilla.db").display());
    never_twice(&[Store::connect(&url).await.unwrap()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_never_hands_out_an_address_twice_across_four_servers() {
    let Ok(server) = std::env::var("FLOTILLA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FLOTILLA_TEST_POSTGRES_URL is not set");
        eprintln!("FLOTILLA_TEST_POSTGRES_URL not set: PostgreSQL half skipped outside CI (scripts/test.sh sets it)");
        return;
    };
    let url = flotilla_store::create_postgres_database(&server, &format!("addresses_{}", uuid::Uuid::now_v7().simple())).await.unwrap();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Store::connect(&url).await.unwrap());
    }
    never_twice(&stores).await;
}
