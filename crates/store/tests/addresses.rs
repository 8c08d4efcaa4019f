//! Address allocation under load: 1,000 concurrent port creates on one subnet (on PostgreSQL
//! spread over four store handles, as four servers' engines would be) never hand out an address
//! twice; an exhausted pool is a clear conflict; released addresses are handed out again. A
//! project's default network grows by another subnet of the region's pool when it is full.
//! Container creates at once are written together, and a refused one keeps nothing.
//! Under `CI=true` a missing PostgreSQL (`FLOTILLA_TEST_POSTGRES_URL`) fails the run.

use flotilla_core::ipam::{Cidr, Pool, SubnetPlan};
use flotilla_core::network::{Network, RegionPool, Subnet};
use flotilla_core::profile::ContainerProperties;
use flotilla_core::scheduler::{Request, Settings};
use flotilla_core::{ContainerId, Metadata, NetworkId, ProjectId, SubnetId};
use flotilla_store::{Scope, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use support::name;
mod support;

const PORTS: usize = 1000;

/// A project and a network whose subnet's pool holds exactly [`PORTS`] addresses.
async fn network(store: &Store) -> (ProjectId, NetworkId) {
    let project = support::project("p");
    store.create_project(&project).await.unwrap();
    // 10.50.0.10 - 10.50.3.241: 246 + 256 + 256 + 242 = 1,000 addresses.
    let pool = Pool { start: "10.50.0.10".parse().unwrap(), end: "10.50.3.241".parse().unwrap() };
    let plan = SubnetPlan::new("", Cidr::parse("cidr", "10.50.0.0/22").unwrap(), None, vec![pool], BTreeSet::new()).unwrap();
    assert_eq!(plan.capacity(), PORTS);
    (project.id, network_with(store, project.id, "net", plan).await)
}

/// Network `network_name` of `project` with one subnet of `plan`.
async fn network_with(store: &Store, project: ProjectId, network_name: &str, plan: SubnetPlan) -> NetworkId {
    let now = flotilla_core::now();
    let network = Network {
        id: NetworkId::new(),
        name: name(network_name),
        project_id: project,
        shared: false,
        is_default: false,
        global: false,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    };
    let subnet_name = name(&format!("{network_name}-subnet"));
    let subnet = Subnet { id: SubnetId::new(), name: subnet_name, network_id: network.id, project_id: project, plan, created_at: now };
    store.create_network(&network, Some(&subnet)).await.unwrap();
    network.id
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
    if let Some(stores) = postgres_stores("addresses", RegionPool::default()).await {
        never_twice(&stores).await;
    }
}

/// Four store handles (as four servers) on a new PostgreSQL database, with region pool `pool`;
/// `None` without PostgreSQL outside CI.
async fn postgres_stores(prefix: &str, pool: RegionPool) -> Option<Vec<Store>> {
    let Ok(server) = std::env::var("FLOTILLA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FLOTILLA_TEST_POSTGRES_URL is not set");
        eprintln!("FLOTILLA_TEST_POSTGRES_URL not set: PostgreSQL half skipped outside CI (scripts/test.sh sets it)");
        return None;
    };
    let url = flotilla_store::create_postgres_database(&server, &format!("{prefix}_{}", uuid::Uuid::now_v7().simple())).await.unwrap();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Store::connect(&url).await.unwrap().with_region_pool(pool));
    }
    Some(stores)
}

/// Containers of `project` on its default network, `n` at once (task `i` on `stores[i % len]`);
/// answers each create's outcome.
async fn containers_at_once(stores: &[Store], project: ProjectId, n: usize) -> Vec<Result<ContainerId, StoreError>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move {
                let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
                let mut c = support::container(project, spec.clone());
                c.name = name(&format!("c{}", c.id.0.simple()));
                store.create_container(c, &Request::for_spec(&spec), &Settings::default()).await.map(|row| row.container.id)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// The project's default network with its subnets (name, CIDR, addresses taken).
async fn default_subnets(store: &Store, project: ProjectId) -> (NetworkId, Vec<(String, String, u64)>) {
    let row = store.network(Scope::Project(project), "default").await.unwrap();
    assert!(row.network.is_default);
    let subnets = row.subnets.iter().map(|s| (s.subnet.name.to_string(), s.subnet.plan.cidr.to_string(), s.used)).collect();
    (row.network.id, subnets)
}

/// Every port of `network`: address → subnet, each address once.
async fn ports_of(store: &Store, network: NetworkId) -> BTreeMap<Ipv4Addr, SubnetId> {
    let filters = flotilla_store::PortFilters { network: Some(network), container: None };
    let params = flotilla_core::ListParams { limit: 1000, ..Default::default() };
    let ports = store.list_ports(Scope::All, filters, &params).await.unwrap().items;
    let by_ip: BTreeMap<Ipv4Addr, SubnetId> = ports.iter().map(|p| (p.port.ip, p.port.subnet_id)).collect();
    assert_eq!(by_ip.len(), ports.len(), "no address is given twice: {ports:?}");
    by_ip
}

/// A default network (the region pool 10.70.0.0/27 carved in /29s: 5 addresses each, 4 subnets)
/// grows by another subnet each time every one is full, in creation order and never twice for one
/// need (every port writer holds the placement lock: concurrent creates, on PostgreSQL across four
/// store handles, carve exactly the subnets needed); addresses never repeat and each lies in its
/// port's subnet; a fixed address lands on the subnet holding it; a user's network does not grow
/// (its error names it and its subnet); an exhausted pool is a 409 naming the pool.
async fn default_network_grows(stores: &[Store]) {
    let store = &stores[0];
    let project = support::project("grows");
    store.create_project(&project).await.unwrap();
    store.register_host(support::registration("host-1"), support::admitted(), "digest-1").await.unwrap();

    // One at a time: 12 containers fill two subnets and start a third.
    for _ in 0..12 {
        containers_at_once(&stores[..1], project.id, 1).await.remove(0).unwrap();
    }
    let (network, subnets) = default_subnets(store, project.id).await;
    let want = |rows: &[(&str, &str, u64)]| rows.iter().map(|(n, c, u)| (n.to_string(), c.to_string(), *u)).collect::<Vec<_>>();
    assert_eq!(subnets, want(&[("default", "10.70.0.0/29", 5), ("default-2", "10.70.0.8/29", 5), ("default-3", "10.70.0.16/29", 2)]));

    // At once: 8 more fill the third subnet and exactly one more (no subnet carved twice).
    let at_once = containers_at_once(stores, project.id, 8).await;
    assert!(at_once.iter().all(Result::is_ok), "{at_once:?}");
    let (_, subnets) = default_subnets(store, project.id).await;
    assert_eq!(
        subnets,
        want(&[
            ("default", "10.70.0.0/29", 5),
            ("default-2", "10.70.0.8/29", 5),
            ("default-3", "10.70.0.16/29", 5),
            ("default-4", "10.70.0.24/29", 5)
        ])
    );
    let row = store.network(Scope::All, &network.to_string()).await.unwrap();
    let ports = ports_of(store, network).await;
    assert_eq!(ports.len(), 20);
    for (ip, subnet) in &ports {
        let holder = row.subnets.iter().find(|s| s.subnet.id == *subnet).expect("the port's subnet is the network's");
        assert!(holder.subnet.plan.cidr.contains(*ip) && holder.subnet.plan.assignable(*ip), "{ip} in {}", holder.subnet.plan.cidr);
    }

    // The pool is exhausted: a 409 naming it.
    match containers_at_once(&stores[..1], project.id, 1).await.remove(0) {
        Err(StoreError::Conflict(message)) => assert!(message.contains("10.70.0.0/27"), "{message}"),
        other => panic!("an exhausted pool is a conflict, got {other:?}"),
    }

    // A released address of the second subnet, asked for again, is given on that subnet.
    let (released, subnet) = ports.iter().find(|(_, s)| **s == row.subnets[1].subnet.id).map(|(ip, s)| (*ip, *s)).unwrap();
    let filters = flotilla_store::PortFilters { network: Some(network), container: None };
    let page = store.list_ports(Scope::All, filters, &flotilla_core::ListParams { limit: 1000, ..Default::default() }).await.unwrap();
    let holder = page.items.iter().find(|p| p.port.ip == released).and_then(|p| p.port.container_id).unwrap();
    store.delete_container(holder).await.unwrap();
    let fixed = store.create_port(project.id, network, "fixed", Some(released)).await.unwrap();
    assert_eq!((fixed.port.ip, fixed.port.subnet_id), (released, subnet));
    let outside = store.create_port(project.id, network, "outside", Some("10.70.1.5".parse().unwrap())).await;
    assert!(matches!(&outside, Err(StoreError::Invalid(e)) if e.to_string().contains("10.70.0.24/29")), "{outside:?}");

    // A user's network does not grow: its 409 names it and its subnet.
    let plan = SubnetPlan::new("", Cidr::parse("cidr", "10.80.0.0/29").unwrap(), None, Vec::new(), BTreeSet::new()).unwrap();
    let own = network_with(store, project.id, "own", plan).await;
    for i in 0..5 {
        store.create_port(project.id, own, &format!("p{i}"), None).await.unwrap();
    }
    match store.create_port(project.id, own, "one-too-many", None).await {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("network own has no free address") && message.contains("10.80.0.0/29"), "{message}")
        }
        other => panic!("a full user network is a conflict, got {other:?}"),
    }
    assert_eq!(store.network(Scope::All, &own.to_string()).await.unwrap().subnets.len(), 1);
}

fn tiny_pool() -> RegionPool {
    RegionPool::parse("10.70.0.0/27", 29).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_default_network_grows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flotilla.db").display());
    default_network_grows(&[Store::connect(&url).await.unwrap().with_region_pool(tiny_pool())]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_default_network_grows_across_four_servers() {
    if let Some(stores) = postgres_stores("grows", tiny_pool()).await {
        default_network_grows(&stores).await;
    }
}

/// How many ports `project`'s quota usage counts.
async fn ports_used(store: &Store, project: ProjectId) -> u64 {
    store.quota(project).await.unwrap().1.ports
}

/// A project's quota of ports counts its ports as they come and go (reserved, a container's,
/// deleted with their container, a tally folded past its rows); creates made at once are written
/// together and each refused alone: past the quota, or at an address taken by another of them.
async fn ports_counted_against_the_quota(stores: &[Store]) {
    let store = &stores[0];
    let project = support::project("counted");
    store.create_project(&project).await.unwrap();
    let plan = SubnetPlan::new("", Cidr::parse("cidr", "10.80.0.0/24").unwrap(), None, Vec::new(), BTreeSet::new()).unwrap();
    let network = network_with(store, project.id, "counted", plan).await;
    let quota = |ports| flotilla_core::quota::Quota { ports: Some(ports), ..Default::default() };
    store.set_quota(project.id, quota(5)).await.unwrap();

    // Eight at once against room for five: five written, three refused by the quota.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move { store.create_port(project.id, network, &format!("q{i}"), None).await })
        })
        .collect();
    let mut made = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(port) => made.push(port),
            Err(StoreError::Quota(exceeded)) => assert_eq!(exceeded.limit, 5),
            Err(e) => panic!("only the quota refuses: {e}"),
        }
    }
    assert_eq!(made.len(), 5, "{made:?}");
    assert_eq!(ports_used(store, project.id).await, 5);

    // A deleted port, and a container's port gone with its container, make room again.
    store.delete_port(made[0].port.id).await.unwrap();
    assert_eq!(ports_used(store, project.id).await, 4);
    let spec = ContainerProperties {
        image: "demo".into(),
        networks: vec![flotilla_core::profile::NetworkRef { network: "counted".into() }],
        ..Default::default()
    };
    let c = store
        .create_container(support::container(project.id, spec.clone()), &Request::for_spec(&spec), &Settings::default())
        .await
        .unwrap();
    assert_eq!(ports_used(store, project.id).await, 5);
    assert!(matches!(store.create_port(project.id, network, "over", None).await, Err(StoreError::Quota(_))));
    store.delete_container(c.container.id).await.unwrap();
    assert_eq!(ports_used(store, project.id).await, 4);

    // Many comings and goings (more tally rows than a count reads before folding them) still add up.
    store.set_quota(project.id, quota(100)).await.unwrap();
    for i in 0..40 {
        let port = store.create_port(project.id, network, &format!("churn{i}"), None).await.unwrap();
        store.delete_port(port.port.id).await.unwrap();
    }
    let kept = store.create_port(project.id, network, "kept", None).await.unwrap();
    assert_eq!(ports_used(store, project.id).await, 5);

    // Written together, one of two asking for the same address is refused; the other is written.
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let ip = Some(Ipv4Addr::new(10, 80, 0, 200));
            tokio::spawn(async move { store.create_port(project.id, network, &format!("fixed{i}"), ip).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().any(|o| matches!(o, Err(StoreError::Conflict(m)) if m.contains("already in use"))), "{outcomes:?}");
    assert_eq!(ports_used(store, project.id).await, 6);
    assert_ne!(kept.port.ip, Ipv4Addr::new(10, 80, 0, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_ports_counted_against_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flotilla.db").display());
    ports_counted_against_the_quota(&[Store::connect(&url).await.unwrap()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_ports_counted_against_the_quota() {
    if let Some(stores) = postgres_stores("counted", RegionPool::default()).await {
        ports_counted_against_the_quota(&stores).await;
    }
}

/// Container creates made at once are written together (`group_commit`), and a refused one keeps
/// nothing of itself: a name taken twice at once is given once, a project over its quota is
/// refused and is left without the default network its create would have made, and every other
/// create is placed with an address of its own.
async fn container_creates_at_once_refused_alone(stores: &[Store]) {
    let store = &stores[0];
    let host = store.register_host(support::registration("batch-host"), support::admitted(), "digest-batch").await.unwrap().host.id;
    let (open, full) = (support::project("open"), support::project("full"));
    store.create_project(&open).await.unwrap();
    store.create_project(&full).await.unwrap();
    store.set_quota(full.id, flotilla_core::quota::Quota { containers: Some(0), ..Default::default() }).await.unwrap();
    let names: Vec<(ProjectId, String)> = (0..20)
        .map(|i| (open.id, format!("c{i}")))
        .chain([(open.id, "twin".to_owned()), (open.id, "twin".to_owned()), (full.id, "f0".to_owned()), (full.id, "f1".to_owned())])
        .collect();
    let tasks: Vec<_> = names
        .into_iter()
        .enumerate()
        .map(|(i, (project, n))| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move {
                let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
                let mut c = support::container(project, spec.clone());
                c.name = name(&n);
                let made = store.create_container(c, &Request::for_spec(&spec), &Settings::default()).await;
                (n, made.map(|row| row.container))
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let of = |prefix: &'static str| outcomes.iter().filter(move |(n, _)| n.starts_with(prefix)).map(|(_, made)| made);
    assert!(of("c").all(|made| made.as_ref().is_ok_and(|c| c.host_id == Some(host))), "{outcomes:?}");
    assert_eq!(of("twin").filter(|made| made.is_ok()).count(), 1, "{outcomes:?}");
    assert!(of("twin").any(|made| matches!(made, Err(StoreError::NameTaken { .. }))), "{outcomes:?}");
    assert!(of("f").all(|made| matches!(made, Err(StoreError::Quota(_)))), "{outcomes:?}");
    let (network, _) = default_subnets(store, open.id).await;
    assert_eq!(ports_of(store, network).await.len(), 21, "an address for each container placed");
    let params = flotilla_core::ListParams::default();
    assert!(
        store.list_networks(Scope::Project(full.id), None, &params).await.unwrap().items.is_empty(),
        "the refused project has no network"
    );
    let (_, used) = store.quota(full.id).await.unwrap();
    assert_eq!(used.containers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_container_creates_at_once_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flotilla.db").display());
    container_creates_at_once_refused_alone(&[Store::connect(&url).await.unwrap()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_container_creates_at_once_refused_alone() {
    if let Some(stores) = postgres_stores("batched", RegionPool::default()).await {
        container_creates_at_once_refused_alone(&stores).await;
    }
}
