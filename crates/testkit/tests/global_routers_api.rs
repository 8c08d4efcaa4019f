//! Global routers, on SQLite and PostgreSQL: at the central a global router joins global networks
//! only (a region's own network is a 400 naming it) and is answered for the networks it joins; a
//! server of no federation refuses `global`; a region's copy of the central's routers makes its
//! hosts carry the routers' other networks (their routers, the other regions' endpoints on them,
//! the networks it watches), wakes them when it changes and not when nothing did, is changed at
//! the central only (421 anywhere else), and goes when the central no longer answers it.

use flotilla_api::{NetworkCreate, RouterCreate, SubnetCreate};
use flotilla_client::{Client, ClientError};
use flotilla_core::ipam::Cidr;
use flotilla_core::overlay::GLOBAL_VNI_FIRST;
use flotilla_core::router::Router;
use flotilla_core::{HostId, Name, NetworkId, ProjectId, RouterId};
use flotilla_server::federation::{CentralSettings, Role};
use flotilla_store::{AddressBlock, GlobalEndpoint, GlobalRouterRow, NetworkEndpoints, RemoteEndpoint, Store};
use flotilla_testkit::{Backend, SimHost, TestRegion, global_copy, run_on};
use std::net::Ipv4Addr;
use std::time::Duration;
use uuid::Uuid;

const TUNNEL_A: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);

fn network(name: &str, cidr: &str, global: bool) -> NetworkCreate {
    let subnet = SubnetCreate { name: None, cidr: cidr.into(), gateway: None, allocation_pools: vec![], reserved: vec![] };
    NetworkCreate { name: name.into(), shared: false, global, subnet: Some(subnet), metadata: Default::default() }
}

/// The status and message of a refusal.
fn refused(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Api { status, message, .. } => (status, message),
        other => panic!("an API refusal: {other:?}"),
    }
}

async fn add(client: &Client, router: &str, network: &str) -> Result<flotilla_api::Router, ClientError> {
    client.add_router_interface(router, network).await
}

async fn the_central_joins_global_networks_only(backend: Backend) {
    let settings =
        CentralSettings { global_pool: Some(Cidr::parse("pool", "10.240.0.0/16").unwrap()), region_grace_period: Duration::from_secs(10) };
    let Some(central) = TestRegion::start_with(backend, |c| c.role = Role::Central(settings)).await else { return };
    let admin = &central.admin;
    let made = admin.create_router(&RouterCreate { name: "edge".into(), global: true }).await.unwrap();
    assert!(made.global, "{made:?}");
    let g1 = admin.create_network(&network("g1", "10.240.1.0/24", true)).await.unwrap();
    let g2 = admin.create_network(&network("g2", "10.240.2.0/24", true)).await.unwrap();
    let g3 = admin.create_network(&network("g3", "10.240.3.0/24", true)).await.unwrap();
    admin.create_network(&network("local", "10.77.0.0/24", false)).await.unwrap();
    let (status, message) = refused(add(admin, "edge", "local").await.unwrap_err());
    assert_eq!(status, 400, "a region-local network on a global router: {message}");
    assert!(message.contains("network") && message.contains("local") && message.contains("not a global network"), "{message}");
    add(admin, "edge", "g1").await.unwrap();
    let shown = add(admin, "edge", "g2").await.unwrap();
    let names: Vec<&str> = shown.interfaces.iter().map(|i| i.network.as_str()).collect();
    assert_eq!(names, ["g1", "g2"]);

    // What a region carrying g1 (or g2) is answered: the router with both; g3 has none.
    let store = central.store().await;
    let [g1, g2, g3] = [g1.id, g2.id, g3.id].map(NetworkId);
    let answered = store.global_routers_for(&[g1]).await.unwrap();
    assert_eq!(answered.len(), 1);
    assert_eq!((answered[0].router.id, answered[0].router.global), (RouterId(made.id), true));
    assert_eq!(answered[0].networks, {
        let mut n = vec![g1, g2];
        n.sort();
        n
    });
    assert_eq!(store.global_routers_for(&[g2]).await.unwrap(), answered);
    assert_eq!(store.global_routers_for(&[g3]).await.unwrap(), vec![]);
    admin.remove_router_interface("edge", "g2").await.unwrap();
    assert_eq!(store.global_routers_for(&[g2]).await.unwrap(), vec![], "g2 left it");
    admin.remove_router_interface("edge", "g1").await.unwrap();
    admin.delete_router("edge").await.unwrap();
    central.stop().await;

    // A server of no federation has no central to own one.
    let Some(alone) = TestRegion::start(backend).await else { return };
    let (status, message) = refused(alone.admin.create_router(&RouterCreate { name: "edge".into(), global: true }).await.unwrap_err());
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("global") && message.contains("not part of a federation"), "{message}");
    assert!(alone.admin.router("edge").await.is_err(), "nothing made");
    alone.stop().await;
}

fn global_router(project: ProjectId, networks: Vec<NetworkId>) -> GlobalRouterRow {
    let now = flotilla_core::now();
    let router = Router {
        id: RouterId::new(),
        name: Name::parse("name", "edge").unwrap(),
        project_id: project,
        global: true,
        created_at: now,
        updated_at: now,
    };
    GlobalRouterRow { router, networks }
}

async fn remotes(store: &Store, host: HostId, network: NetworkId) -> Vec<RemoteEndpoint> {
    store.assignments(host).await.unwrap().overlay.expect("host-a has an overlay").get(&network).cloned().unwrap_or_default()
}

async fn a_region_copies_global_routers(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let store = region.store().await;
    let agents = vec![region.sim_agent(SimHost::new("host-a").tunnel_address(TUNNEL_A)).await];
    let a = HostId(agents[0].host_id());
    let local = region.admin.create_network(&network("local", "10.77.0.0/24", false)).await.unwrap();
    let project = ProjectId(local.project_id);
    let (g1, s1) = global_copy(project, "g1", "10.240.1.0/24");
    let (g2, s2) = global_copy(project, "g2", "10.240.2.0/24");
    store.copy_global_network(&g1, Some(&s1), GLOBAL_VNI_FIRST).await.unwrap();
    store.copy_global_network(&g2, Some(&s2), GLOBAL_VNI_FIRST + 1).await.unwrap();
    let block = AddressBlock {
        network_id: g1.id,
        cidr: Cidr::parse("cidr", "10.240.1.0/26").unwrap(),
        region_id: Uuid::now_v7(),
        reserved: vec![],
        created_at: flotilla_core::now(),
    };
    store.hold_block(&block).await.unwrap();
    run_on(&region.admin, "x", "host-a", "g1").await;
    assert_eq!(store.carried_global_networks().await.unwrap(), vec![g1.id], "g1 only, before the router");

    // The central's router joining g1 and g2: host-a carries g2 too (the router, and g2's
    // endpoints in other regions), and the region watches g2.
    let edge = global_router(project, vec![g1.id, g2.id]);
    let before = store.host_revision(a).await.unwrap();
    assert_eq!(store.apply_global_routers(std::slice::from_ref(&edge)).await.unwrap(), vec![a]);
    assert!(store.host_revision(a).await.unwrap() > before);
    assert_eq!(store.apply_global_routers(std::slice::from_ref(&edge)).await.unwrap(), Vec::<HostId>::new(), "nothing changed");
    let mut both = vec![g1.id, g2.id];
    both.sort();
    assert_eq!(store.carried_global_networks().await.unwrap(), both);
    let routers = store.assignments(a).await.unwrap().routers;
    assert_eq!(routers.len(), 1, "{routers:?}");
    let joined: Vec<&str> = routers[0].interfaces.iter().map(|i| i.network.as_str()).collect();
    assert_eq!((routers[0].id, joined), (edge.router.id, vec!["g1", "g2"]));
    let far =
        RemoteEndpoint { ip: "10.240.2.5".into(), mac: "02:42:0a:f0:02:05".into(), tunnel_address: "198.51.100.21".into(), names: vec![] };
    let answer = vec![NetworkEndpoints {
        network_id: g2.id,
        vni: GLOBAL_VNI_FIRST + 1,
        endpoints: vec![GlobalEndpoint { region_id: Uuid::now_v7(), endpoint: far.clone() }],
    }];
    assert_eq!(store.apply_remote_endpoints(&answer).await.unwrap(), vec![a], "host-a carries g2 through the router: woken");
    assert_eq!(remotes(&store, a, g2.id).await, vec![far]);

    // The copy is the central's to change.
    let shown = region.admin.router("edge").await.unwrap();
    assert!(shown.global, "{shown:?}");
    assert_eq!(refused(region.admin.delete_router("edge").await.unwrap_err()).0, 421);
    assert_eq!(refused(region.admin.remove_router_interface("edge", "g2").await.unwrap_err()).0, 421);
    assert_eq!(refused(add(&region.admin, "edge", "local").await.unwrap_err()).0, 421);

    // The central answers g2 left it, then no router: host-a stops carrying g2.
    let only_g1 = GlobalRouterRow { networks: vec![g1.id], ..edge.clone() };
    assert_eq!(store.apply_global_routers(&[only_g1]).await.unwrap(), vec![a]);
    assert_eq!(store.carried_global_networks().await.unwrap(), vec![g1.id]);
    assert_eq!(store.apply_global_routers(&[]).await.unwrap(), vec![a]);
    assert!(store.assignments(a).await.unwrap().routers.is_empty());
    assert!(region.admin.router("edge").await.is_err(), "the copy went");
    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_joins_global_networks_only_on_sqlite() {
    the_central_joins_global_networks_only(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_joins_global_networks_only_on_postgres() {
    the_central_joins_global_networks_only(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_copies_global_routers_on_sqlite() {
    a_region_copies_global_routers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_copies_global_routers_on_postgres() {
    a_region_copies_global_routers(Backend::Postgres).await;
}
