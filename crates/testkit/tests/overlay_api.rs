//! The overlay's control plane, on SQLite and PostgreSQL, with simulated hosts that report tunnel
//! addresses: networks get distinct VNIs, each host's assignments carry the remote endpoints of
//! its networks (containers on other hosts with a tunnel address), and the revisions of the hosts
//! carrying a network move when one of its containers comes or goes; a host without a tunnel
//! address gets no overlay and is not woken; a host joining again at another tunnel address wakes
//! its peers with it; a bad tunnel address is refused at join. A router joining networks makes
//! each host carry the others too, with their remote endpoints.

use flotilla_agent::{Agent, AgentConfig};
use flotilla_api::{DeleteQuery, NetworkCreate, RouterCreate, SubnetCreate};
use flotilla_client::Client;
use flotilla_core::overlay::{VNI_FIRST, VNI_LAST};
use flotilla_core::{HostId, NetworkId, Role};
use flotilla_store::{HostAssignments, RemoteEndpoint, Store};
use flotilla_testkit::{Backend, SimHost, TestRegion, run_on, wait_until};
use std::net::Ipv4Addr;

const TUNNEL_A: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);
const TUNNEL_B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 12);

fn network(name: &str, cidr: &str) -> NetworkCreate {
    let subnet = SubnetCreate { name: None, cidr: cidr.into(), gateway: None, allocation_pools: vec![], reserved: vec![] };
    NetworkCreate { name: name.into(), shared: false, global: false, subnet: Some(subnet), metadata: Default::default() }
}

/// Runs container `name` on `host`, on network `network`, and waits until it runs: its endpoint.
async fn endpoint_on(client: &Client, name: &str, host: &str, network: &str) -> RemoteEndpoint {
    let c = run_on(client, name, host, network).await;
    let address = &c.addresses[0];
    let tunnel = if host == "host-a" { TUNNEL_A } else { TUNNEL_B };
    RemoteEndpoint {
        ip: address.ip_address.clone(),
        mac: address.mac_address.clone(),
        tunnel_address: tunnel.to_string(),
        names: Vec::new(),
    }
}

/// The remote endpoints host `host`'s assignments carry for `network` (`None`: no overlay).
async fn remotes(store: &Store, host: HostId, network: NetworkId) -> Option<Vec<RemoteEndpoint>> {
    let assigned: HostAssignments = store.assignments(host).await.expect("assignments");
    assigned.overlay.map(|o| o.get(&network).cloned().unwrap_or_default())
}

async fn overlay_follows_containers(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let store = region.store().await;
    let mut agents: Vec<Agent> = vec![
        region.sim_agent(SimHost::new("host-a").tunnel_address(TUNNEL_A)).await,
        region.sim_agent(SimHost::new("host-b").tunnel_address(TUNNEL_B)).await,
        region.sim_agent(SimHost::new("host-c")).await,
    ];
    let [a, b, c] = [0, 1, 2].map(|i| HostId(agents[i].host_id()));

    // Hosts show their tunnel address to admins only.
    let shown = region.admin.host("host-a").await.unwrap();
    assert_eq!(shown.tunnel_address.as_deref(), Some("198.51.100.11"));
    assert_eq!(region.admin.host("host-c").await.unwrap().tunnel_address, None);
    let member = region.add_user("mia", "admin", Role::Member).await;
    assert_eq!(member.host("host-a").await.unwrap().tunnel_address, None, "not for members");

    let web = NetworkId(region.admin.create_network(&network("web", "10.77.0.0/24")).await.unwrap().id);
    let other = NetworkId(region.admin.create_network(&network("other", "10.78.0.0/24")).await.unwrap().id);
    let x = endpoint_on(&region.admin, "x", "host-a", "web").await;
    let y = endpoint_on(&region.admin, "y", "host-b", "web").await;
    endpoint_on(&region.admin, "z", "host-c", "web").await;

    let assigned = store.assignments(a).await.unwrap();
    let attachment = &assigned.containers.iter().find(|c| c.container.name.as_str() == "x").unwrap().networks[0];
    assert!((VNI_FIRST..=VNI_LAST).contains(&attachment.vni), "vni {}", attachment.vni);
    assert_eq!(remotes(&store, a, web).await, Some(vec![y.clone()]), "host-a reaches y on host-b; z's host has no tunnel");
    assert_eq!(remotes(&store, b, web).await, Some(vec![x.clone()]));
    assert_eq!(remotes(&store, c, web).await, None, "no tunnel address: no overlay");
    assert_eq!(remotes(&store, a, other).await, Some(vec![]), "a network host-a does not carry has no endpoints");

    // A container comes on host-a: host-b is woken and gets it; host-c is left alone.
    let (before_b, before_c) = (store.host_revision(b).await.unwrap(), store.host_revision(c).await.unwrap());
    let w = endpoint_on(&region.admin, "w", "host-a", "web").await;
    assert!(store.host_revision(b).await.unwrap() > before_b, "host-b's revision moved");
    let mut both = vec![x.clone(), w.clone()];
    both.sort_by_key(|e| e.ip.parse::<Ipv4Addr>().unwrap());
    assert_eq!(remotes(&store, b, web).await, Some(both));

    // x goes: host-b is woken and loses it.
    let before_b = store.host_revision(b).await.unwrap();
    region.admin.delete_container("x", &DeleteQuery { stop: Some(true), force: None }).await.expect("delete");
    wait_until("x is gone", || async { region.admin.container("x").await.is_err() }).await;
    assert!(store.host_revision(b).await.unwrap() > before_b, "host-b's revision moved");
    assert_eq!(remotes(&store, b, web).await, Some(vec![w]));
    assert_eq!(store.host_revision(c).await.unwrap(), before_c, "host-c has no tunnel address: never woken by its peers");

    // Networks have distinct VNIs.
    endpoint_on(&region.admin, "o", "host-a", "other").await;
    let vnis: Vec<u32> = store.assignments(a).await.unwrap().containers.iter().flat_map(|c| c.networks.iter().map(|n| n.vni)).collect();
    let mut distinct = vnis.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "web and other: {vnis:?}");

    // host-b joins again at another tunnel address: host-a is woken and reaches y there.
    let before_a = store.host_revision(a).await.unwrap();
    agents.remove(1).shutdown().await;
    let moved_to = Ipv4Addr::new(198, 51, 100, 13);
    agents.push(region.sim_agent(SimHost::new("host-b").tunnel_address(moved_to)).await);
    assert!(store.host_revision(a).await.unwrap() > before_a, "host-a's revision moved");
    let y_there = RemoteEndpoint { tunnel_address: moved_to.to_string(), ..y };
    assert_eq!(remotes(&store, a, web).await, Some(vec![y_there]));

    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlay_follows_containers_on_sqlite() {
    overlay_follows_containers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlay_follows_containers_on_postgres() {
    overlay_follows_containers(Backend::Postgres).await;
}

/// A router joining two networks: a host carries the other network too (its remote endpoints come
/// with its own network's), and is woken when that network's containers come; a network not
/// joined stays out; removing the interface takes it away again.
async fn routed_networks_are_carried_with_their_remotes(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let store = region.store().await;
    let agents: Vec<Agent> = vec![
        region.sim_agent(SimHost::new("host-a").tunnel_address(TUNNEL_A)).await,
        region.sim_agent(SimHost::new("host-b").tunnel_address(TUNNEL_B)).await,
    ];
    let [a, b] = [0, 1].map(|i| HostId(agents[i].host_id()));
    let web = NetworkId(region.admin.create_network(&network("web", "10.77.0.0/24")).await.unwrap().id);
    let back = NetworkId(region.admin.create_network(&network("back", "10.78.0.0/24")).await.unwrap().id);
    let lone = NetworkId(region.admin.create_network(&network("lone", "10.79.0.0/24")).await.unwrap().id);
    let x = endpoint_on(&region.admin, "x", "host-a", "web").await;
    let y = endpoint_on(&region.admin, "y", "host-b", "back").await;
    run_on(&region.admin, "q", "host-b", "lone").await;
    assert_eq!(remotes(&store, a, back).await, Some(vec![]), "not joined: host-a does not carry back");

    region.admin.create_router(&RouterCreate { name: "edge".into(), global: false }).await.unwrap();
    region.admin.add_router_interface("edge", "web").await.unwrap();
    let before_a = store.host_revision(a).await.unwrap();
    region.admin.add_router_interface("edge", "back").await.unwrap();
    assert!(store.host_revision(a).await.unwrap() > before_a, "host-a learns of the router");
    let routers = store.assignments(a).await.unwrap().routers;
    let vni_of = |id: NetworkId| routers[0].interfaces.iter().find(|i| i.network_id == id).map(|i| i.vni);
    assert!(vni_of(back).is_some_and(|v| (VNI_FIRST..=VNI_LAST).contains(&v)), "{routers:?}");
    assert_ne!(vni_of(back), vni_of(web));
    assert_eq!(remotes(&store, a, back).await, Some(vec![y.clone()]), "host-a carries back: y is a remote of it");
    assert_eq!(remotes(&store, b, web).await, Some(vec![x]), "and host-b carries web");
    assert_eq!(remotes(&store, a, lone).await, Some(vec![]), "a network no router joins stays out");

    // A container comes on back: host-a, which carries back through the router, is woken.
    let before_a = store.host_revision(a).await.unwrap();
    let y2 = endpoint_on(&region.admin, "y2", "host-b", "back").await;
    assert!(store.host_revision(a).await.unwrap() > before_a, "host-a's revision moved");
    let mut both = vec![y, y2];
    both.sort_by_key(|e| e.ip.parse::<Ipv4Addr>().unwrap());
    assert_eq!(remotes(&store, a, back).await, Some(both));

    // The interface goes: host-a no longer carries back.
    let before_a = store.host_revision(a).await.unwrap();
    region.admin.remove_router_interface("edge", "back").await.unwrap();
    assert!(store.host_revision(a).await.unwrap() > before_a, "host-a's revision moved");
    assert_eq!(remotes(&store, a, back).await, Some(vec![]));
    assert_eq!(store.assignments(a).await.unwrap().routers[0].interfaces.len(), 1, "only web is left on the router");

    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_networks_are_carried_with_their_remotes_on_sqlite() {
    routed_networks_are_carried_with_their_remotes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_networks_are_carried_with_their_remotes_on_postgres() {
    routed_networks_are_carried_with_their_remotes(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_tunnel_address_is_refused_at_join_and_leaves_no_host() {
    let region = TestRegion::sqlite().await;
    for bad in [Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(224, 0, 0, 5)] {
        let mut config = AgentConfig::new(&region.url, region.join_token().await, "bad-tunnel");
        config.tunnel_address = Some(bad);
        config.timings = flotilla_testkit::fast_timings();
        let runtime = std::sync::Arc::new(flotilla_agent::runtime::sim::SimRuntime::new(Default::default()));
        let refused = Agent::start(config, runtime).await.expect_err("refused");
        let message = refused.to_string();
        assert!(message.contains("400") && message.contains("tunnel_address") && message.contains(&bad.to_string()), "{message}");
    }
    assert!(region.admin.host("bad-tunnel").await.is_err(), "no host was made");
    region.stop().await;
}
