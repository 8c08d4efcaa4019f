//! Global networks on the overlay across regions, the store's rows on SQLite and PostgreSQL: a
//! region's copy keeps the central's VNI (one outside the central's range is refused; an older
//! copy takes the central's when it answers); a region knows its own endpoints on a global network
//! and the global networks its hosts carry; the other regions' endpoints it keeps reach the
//! assignments of the hosts carrying the network (woken when they change, not when nothing did;
//! dropped when the answer leaves the network out); a port change on a global network queues an
//! `endpoint_sync` job on a federated region's store; at the central each region's report replaces
//! its last, a region is answered the others', and a deleted region's go with it.

use flotilla_api::{NetworkCreate, SubnetCreate};
use flotilla_client::Client;
use flotilla_core::ids::RegionId;
use flotilla_core::ipam::Cidr;
use flotilla_core::overlay::GLOBAL_VNI_FIRST;
use flotilla_core::{HostId, JoinTokenId, ListParams, NetworkId, ProjectId};
use flotilla_store::{
    AddressBlock, ENDPOINT_SYNC, GlobalEndpoint, JobFilters, NetworkEndpoints, RegionProof, RegionRegistration, RemoteEndpoint, Store,
    StoreError,
};
use flotilla_testkit::{Backend, SimHost, TestRegion, global_copy, run_on};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use uuid::Uuid;

const TUNNEL_A: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);
const GLOBAL_SUBNET: &str = "10.250.0.0/24";
const VNI: u32 = GLOBAL_VNI_FIRST + 7;

fn endpoint(ip: &str, tunnel: &str) -> RemoteEndpoint {
    let last: u32 = ip.rsplit('.').next().unwrap().parse().unwrap();
    RemoteEndpoint { ip: ip.into(), mac: format!("02:42:0a:fa:01:{:02x}", last % 256), tunnel_address: tunnel.into(), names: Vec::new() }
}

/// Runs container `name` on `host`, on network `network`, and waits until it runs: its endpoint,
/// as its region reports it (with its name).
async fn endpoint_on(client: &Client, name: &str, host: &str, network: &str) -> RemoteEndpoint {
    let c = run_on(client, name, host, network).await;
    let address = &c.addresses[0];
    let tunnel = TUNNEL_A;
    let names = vec![name.to_owned()];
    RemoteEndpoint { ip: address.ip_address.clone(), mac: address.mac_address.clone(), tunnel_address: tunnel.to_string(), names }
}

async fn remotes(store: &Store, host: HostId, network: NetworkId) -> Vec<RemoteEndpoint> {
    store.assignments(host).await.unwrap().overlay.expect("host-a has an overlay").get(&network).cloned().unwrap_or_default()
}

async fn a_region_keeps_and_serves_endpoints(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let store = region.store().await;
    let agents =
        vec![region.sim_agent(SimHost::new("host-a").tunnel_address(TUNNEL_A)).await, region.sim_agent(SimHost::new("host-c")).await];
    let [a, c] = [0, 1].map(|i| HostId(agents[i].host_id()));
    let subnet = SubnetCreate { name: None, cidr: "10.77.0.0/24".into(), gateway: None, allocation_pools: vec![], reserved: vec![] };
    let local = NetworkCreate { name: "local".into(), shared: false, global: false, subnet: Some(subnet), metadata: Default::default() };
    let local = region.admin.create_network(&local).await.unwrap();
    let project = ProjectId(local.project_id);
    assert!(local.vni.is_some_and(|v| v < GLOBAL_VNI_FIRST), "a region's own network has a VNI of the region's range: {:?}", local.vni);

    // The copy keeps the central's VNI; one outside the central's range is refused.
    let (g, g_subnet) = global_copy(project, "g", GLOBAL_SUBNET);
    let (bad, bad_subnet) = global_copy(project, "bad", GLOBAL_SUBNET);
    match store.copy_global_network(&bad, Some(&bad_subnet), 4096).await {
        Err(StoreError::Invalid(e)) => assert_eq!((e.field.as_str(), e.value.as_str()), ("vni", "4096")),
        other => panic!("a region's VNI for a global network: {other:?}"),
    }
    assert_eq!(store.copy_global_network(&g, Some(&g_subnet), VNI).await.unwrap().vni, VNI);
    assert_eq!(region.admin.network("g").await.unwrap().vni, Some(VNI), "the API shows it");
    let block = Cidr::parse("cidr", "10.250.0.0/26").unwrap();
    store
        .hold_block(&AddressBlock {
            network_id: g.id,
            cidr: block,
            region_id: Uuid::now_v7(),
            reserved: vec![],
            created_at: flotilla_core::now(),
        })
        .await
        .unwrap();

    // A container on it: the region knows its endpoint and that its hosts carry the network.
    let x = endpoint_on(&region.admin, "x", "host-a", "g").await;
    let attachment = store.assignments(a).await.unwrap().containers[0].networks[0].clone();
    assert_eq!(attachment.vni, VNI, "the hosts tunnel it under the central's VNI");
    assert_eq!(
        store.own_global_endpoints(&[g.id, NetworkId(local.id)]).await.unwrap(),
        BTreeMap::from([(g.id, vec![x.clone()]), (NetworkId(local.id), vec![])])
    );
    assert_eq!(store.carried_global_networks().await.unwrap(), vec![g.id]);

    // Other regions' endpoints: host-a (carrying g, with a tunnel address) gets them and is woken;
    // the same answer again changes nothing and wakes nobody.
    let other = Uuid::now_v7();
    let far = RemoteEndpoint { names: vec!["far-web".into()], ..endpoint("10.250.0.70", "198.51.100.21") };
    // In a host's assignments an endpoint carries no names: they come with the network's names.
    let unnamed = |e: &RemoteEndpoint| RemoteEndpoint { names: Vec::new(), ..e.clone() };
    let answer = |endpoints: Vec<RemoteEndpoint>| {
        vec![NetworkEndpoints {
            network_id: g.id,
            vni: VNI,
            endpoints: endpoints.into_iter().map(|e| GlobalEndpoint { region_id: other, endpoint: e }).collect(),
        }]
    };
    let (before_a, before_c) = (store.host_revision(a).await.unwrap(), store.host_revision(c).await.unwrap());
    assert_eq!(store.apply_remote_endpoints(&answer(vec![far.clone()])).await.unwrap(), vec![a]);
    assert!(store.host_revision(a).await.unwrap() > before_a);
    assert_eq!(store.host_revision(c).await.unwrap(), before_c, "host-c carries nothing of g");
    assert_eq!(remotes(&store, a, g.id).await, vec![unnamed(&far)]);
    let far_ip: std::net::Ipv4Addr = far.ip.parse().unwrap();
    let asked = store.name_on(a, g.id, "Far-Web").await.unwrap();
    assert_eq!(asked, [far_ip], "the far container's name resolves here, in any case");
    assert!(store.name_on(a, g.id, "far").await.unwrap().is_empty(), "a name is matched whole");
    let listed = store.host_names(a).await.unwrap().remove(&g.id).unwrap_or_default();
    assert!(listed.iter().any(|n| n.name == "far-web" && n.addresses == [far_ip]), "and is listed for older agents: {listed:?}");
    assert_eq!(store.apply_remote_endpoints(&answer(vec![far.clone()])).await.unwrap(), Vec::<HostId>::new(), "nothing changed");

    // A copy made with another VNI (before the central owned them) takes the central's.
    let mut renumbered = answer(vec![far.clone()]);
    renumbered[0].vni = VNI + 1;
    assert_eq!(store.apply_remote_endpoints(&renumbered).await.unwrap(), vec![a]);
    assert_eq!(store.assignments(a).await.unwrap().containers[0].networks[0].vni, VNI + 1);

    // The far container moves to another host of its region: host-a follows it.
    let moved = RemoteEndpoint { tunnel_address: "198.51.100.22".into(), ..far.clone() };
    assert_eq!(store.apply_remote_endpoints(&answer(vec![moved.clone()])).await.unwrap(), vec![a]);
    assert_eq!(remotes(&store, a, g.id).await, vec![unnamed(&moved)]);
    // An answer leaving g out drops its endpoints.
    assert_eq!(store.apply_remote_endpoints(&[]).await.unwrap(), vec![a]);
    assert_eq!(remotes(&store, a, g.id).await, vec![]);

    // On a federated region's store, a port change on g queues one endpoint_sync job for it.
    let federated = region.store().await.with_route_sync();
    let x_id = region.admin.container("x").await.unwrap().id;
    federated.delete_container(flotilla_core::ContainerId(x_id)).await.unwrap();
    let filters = JobFilters { job_type: Some(ENDPOINT_SYNC), resource_id: Some(g.id.0), ..Default::default() };
    let jobs = store.list_jobs(filters, &ListParams::default()).await.unwrap().items;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(store.own_global_endpoints(&[g.id]).await.unwrap()[&g.id], vec![]);

    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

async fn the_central_keeps_each_regions_endpoints(backend: Backend) {
    let Some(central) = TestRegion::start(backend).await else { return };
    let store = central.store().await;
    let subnet = SubnetCreate { name: None, cidr: "10.77.0.0/24".into(), gateway: None, allocation_pools: vec![], reserved: vec![] };
    let local = NetworkCreate { name: "local".into(), shared: false, global: false, subnet: Some(subnet), metadata: Default::default() };
    let local = NetworkId(central.admin.create_network(&local).await.unwrap().id);
    let (g, g_subnet) = global_copy(ProjectId(central.admin.network("local").await.unwrap().project_id), "g", GLOBAL_SUBNET);
    // Made where it is made (the central): the next VNI of the central's range.
    let vni = store.create_network(&g, Some(&g_subnet)).await.unwrap().vni;
    assert_eq!(vni, GLOBAL_VNI_FIRST);

    // r2 is a registered region (deleting it drops its endpoints); r1 and r3 are only ids.
    store.create_region_join_token(JoinTokenId::new(), "token-digest", flotilla_core::now() + chrono::Duration::hours(1)).await.unwrap();
    let registration = RegionRegistration { name: "r2".into(), api_url: "http://r2.invalid".into(), network_pool: "10.90.0.0/16".into() };
    let proof = RegionProof { token_digest: Some("token-digest".into()), credential_digest: None };
    let r2 = store.join_region(registration, proof, "credential-digest").await.unwrap().region.id;
    let (r1, r2, r3) = (Uuid::now_v7(), r2.0, Uuid::now_v7());
    let e1 = endpoint("10.250.0.5", "198.51.100.11");
    let e2 = endpoint("10.250.0.70", "198.51.100.21");
    let report = |n: NetworkId, e: Vec<RemoteEndpoint>| BTreeMap::from([(n, e)]);
    assert_eq!(store.record_region_endpoints(r1, &report(g.id, vec![e1.clone()])).await.unwrap(), vec![g.id]);
    assert_eq!(
        store.record_region_endpoints(r1, &report(g.id, vec![e1.clone()])).await.unwrap(),
        vec![],
        "the same report changes nothing"
    );
    assert_eq!(store.record_region_endpoints(r2, &report(g.id, vec![e2.clone()])).await.unwrap(), vec![g.id]);
    assert_eq!(
        store.record_region_endpoints(r3, &report(local, vec![e2.clone()])).await.unwrap(),
        vec![],
        "not a global network: nothing kept"
    );

    let answered = |endpoints: Vec<(Uuid, RemoteEndpoint)>| {
        vec![NetworkEndpoints {
            network_id: g.id,
            vni,
            endpoints: endpoints.into_iter().map(|(region_id, endpoint)| GlobalEndpoint { region_id, endpoint }).collect(),
        }]
    };
    assert_eq!(store.endpoints_for_region(r1, &[g.id, local]).await.unwrap(), answered(vec![(r2, e2.clone())]), "r1 is answered r2's");
    let mut both = vec![(r1, e1.clone()), (r2, e2.clone())];
    both.sort();
    assert_eq!(store.endpoints_for_region(r3, &[g.id]).await.unwrap(), answered(both), "r3 is answered both");

    // A report replaces the region's last: r1's container went.
    assert_eq!(store.record_region_endpoints(r1, &report(g.id, vec![])).await.unwrap(), vec![g.id]);
    assert_eq!(store.endpoints_for_region(r3, &[g.id]).await.unwrap(), answered(vec![(r2, e2)]));
    // A deleted region's endpoints go with it.
    store.delete_region(RegionId(r2)).await.unwrap();
    assert_eq!(store.endpoints_for_region(r3, &[g.id]).await.unwrap(), answered(vec![]));
    // Bad input names the field.
    for (bad, field, value) in [
        (endpoint("10.250.0.999", "198.51.100.11"), "endpoints.ip_address", "10.250.0.999"),
        (endpoint("10.250.0.9", "127.0.0.1"), "endpoints.tunnel_address", "127.0.0.1"),
    ] {
        match store.record_region_endpoints(r1, &report(g.id, vec![e1.clone(), bad])).await {
            Err(StoreError::Invalid(e)) => assert_eq!((e.field.as_str(), e.value.as_str()), (field, value)),
            other => panic!("a bad {field}: {other:?}"),
        }
    }
    assert_eq!(store.endpoints_for_region(r3, &[g.id]).await.unwrap(), answered(vec![]), "a refused report writes nothing, e1 neither");
    central.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_keeps_and_serves_endpoints_on_sqlite() {
    a_region_keeps_and_serves_endpoints(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_keeps_and_serves_endpoints_on_postgres() {
    a_region_keeps_and_serves_endpoints(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_keeps_each_regions_endpoints_on_sqlite() {
    the_central_keeps_each_regions_endpoints(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_keeps_each_regions_endpoints_on_postgres() {
    the_central_keeps_each_regions_endpoints(Backend::Postgres).await;
}
