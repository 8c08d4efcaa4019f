//! What the region hands its hosts about networks, on both backends with simulated hosts: the
//! names each network answers (`HostNetwork.names`: every container of the network on any host by
//! its name, a cluster's name for its running members only, nothing of another network), and the
//! routers joining a network a host carries (`Assignments.routers`); a host learns (its revision
//! moves) when a container of its networks comes, stops or goes, and when an interface does.
//! An agent asking for `shared_names` gets each network's names once, the same names.

use flotilla_api::agent::{Assignment, Assignments, DnsName};
use flotilla_api::{
    ClusterCreate, ContainerCreate, ContainerFilter, DeleteQuery, ListQuery, NetworkCreate, ProfileCreate, RouterCreate, StopQuery,
    SubnetCreate,
};
use flotilla_client::Client;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, NetworkRef, ProfileSpec};
use flotilla_core::{HostId, NetworkId};
use flotilla_store::Store;
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_for_container, wait_until};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

fn on(network: &str, host: Option<&str>) -> ContainerProperties {
    ContainerProperties {
        image: "flotilla/workload:latest".into(),
        cpu: Some(0.1),
        memory: Some(16),
        networks: vec![NetworkRef { network: network.into() }],
        host_node: host.map(str::to_owned),
        ..Default::default()
    }
}

fn network(name: &str, cidr: &str) -> NetworkCreate {
    NetworkCreate {
        name: name.into(),
        shared: false,
        global: false,
        subnet: Some(SubnetCreate { cidr: cidr.into(), ..SubnetCreate::default() }),
        metadata: Default::default(),
    }
}

/// The names of `network` in `host`'s assignments: name → addresses.
async fn names(store: &Store, host: HostId, network: NetworkId) -> BTreeMap<String, Vec<String>> {
    let assigned = store.assignments(host).await.unwrap();
    let records = assigned.names.get(&network).cloned().unwrap_or_default();
    records.into_iter().map(|r| (r.name, r.addresses.iter().map(ToString::to_string).collect())).collect()
}

/// Each container's address on `network`, by container name.
async fn addresses(client: &Client, network: &str) -> BTreeMap<String, String> {
    let all = client.list_containers(&ListQuery { limit: Some(100), ..ListQuery::default() }, &ContainerFilter::default()).await.unwrap();
    all.containers
        .into_iter()
        .filter_map(|c| Some((c.name.clone(), c.addresses.iter().find(|a| a.network == network)?.ip_address.clone())))
        .collect()
}

async fn names_span_hosts_and_follow_containers(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    // Names of other hosts' containers follow them where an overlay joins the hosts.
    let agents = [
        region.sim_agent(SimHost::new("h1").tunnel_address(Ipv4Addr::new(198, 51, 100, 21))).await,
        region.sim_agent(SimHost::new("h2").tunnel_address(Ipv4Addr::new(198, 51, 100, 22))).await,
    ];
    let (h1, h2) = (HostId(agents[0].host_id()), HostId(agents[1].host_id()));
    let admin = &region.admin;
    let app = admin.create_network(&network("app", "192.168.71.0/24")).await.unwrap();
    let other = admin.create_network(&network("other", "192.168.72.0/24")).await.unwrap();
    let (app, other) = (NetworkId(app.id), NetworkId(other.id));
    let store = region.store().await;

    for (name, net, host) in [("solo", "app", "h1"), ("far", "app", "h2"), ("stranger", "other", "h2")] {
        admin
            .create_container(&ContainerCreate { name: name.into(), spec: on(net, Some(host)), run: true, metadata: Default::default() })
            .await
            .unwrap();
        wait_for_container(admin, name, "RUNNING").await;
    }
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties: on("app", None) };
    admin.create_profile(&ProfileCreate { name: "web".into(), spec, metadata: Default::default() }).await.unwrap();
    let cluster = ClusterCreate {
        name: "web".into(),
        profile: "web".into(),
        desired_capacity: 2,
        min_size: 0,
        max_size: 2,
        timeout: Some(60),
        config: Default::default(),
        metadata: Default::default(),
    };
    admin.create_cluster(&cluster).await.unwrap();
    wait_until("the cluster's members run", || async {
        admin.cluster("web").await.is_ok_and(|c| c.status == "ACTIVE" && c.nodes.len() == 2)
    })
    .await;
    let ips = addresses(admin, "app").await;
    let members: Vec<String> = ips.keys().filter(|n| n.starts_with("web")).cloned().collect();
    assert_eq!(members.len(), 2, "{ips:?}");
    let member_ips = |ms: &[&String]| {
        let mut v: Vec<String> = ms.iter().map(|m| ips[*m].clone()).collect();
        v.sort_by_key(|ip| ip.parse::<std::net::Ipv4Addr>().unwrap());
        v
    };

    let mut want: BTreeMap<String, Vec<String>> = ips.iter().map(|(n, ip)| (n.clone(), vec![ip.clone()])).collect();
    want.insert("web".into(), member_ips(&[&members[0], &members[1]]));
    wait_until("both hosts know every name of the network", || async {
        names(&store, h1, app).await == want && names(&store, h2, app).await == want
    })
    .await;
    assert!(!names(&store, h1, app).await.contains_key("stranger"), "another network's container is not a name here");
    assert_eq!(names(&store, h1, other).await, BTreeMap::new(), "h1 carries no container of the other network");
    assert_eq!(names(&store, h2, other).await.keys().collect::<Vec<_>>(), ["stranger"]);

    // A new container on h1 wakes h2, which carries the same network.
    let before = store.host_revision(h2).await.unwrap();
    admin
        .create_container(&ContainerCreate { name: "late".into(), spec: on("app", Some("h1")), run: true, metadata: Default::default() })
        .await
        .unwrap();
    wait_for_container(admin, "late", "RUNNING").await;
    assert!(store.host_revision(h2).await.unwrap() > before, "h2 learns of h1's new container");
    assert!(names(&store, h2, app).await.contains_key("late"));

    // A stopped member leaves the cluster's name (it keeps its own).
    let before = store.host_revision(h2).await.unwrap();
    admin.stop_container(&members[0], &StopQuery::default()).await.unwrap();
    wait_for_container(admin, &members[0], "STOPPED").await;
    wait_until("the cluster's name answers its running member only", || async {
        names(&store, h2, app).await.get("web") == Some(&member_ips(&[&members[1]]))
    })
    .await;
    assert!(store.host_revision(h2).await.unwrap() > before);
    assert!(names(&store, h2, app).await.contains_key(&members[0]), "a stopped container keeps its name");

    // A router joining app and other: every host carrying either learns it, with both networks.
    let before = store.host_revision(h1).await.unwrap();
    admin.create_router(&RouterCreate { name: "edge".into(), global: false }).await.unwrap();
    admin.add_router_interface("edge", "other").await.unwrap();
    admin.add_router_interface("edge", "app").await.unwrap();
    assert!(store.host_revision(h1).await.unwrap() > before, "h1 learns of the router");
    for host in [h1, h2] {
        let routers = store.assignments(host).await.unwrap().routers;
        let joined: Vec<Vec<&str>> = routers.iter().map(|r| r.interfaces.iter().map(|i| i.network.as_str()).collect()).collect();
        assert_eq!(joined, [["app", "other"]]);
    }
    let before = store.host_revision(h2).await.unwrap();
    admin.remove_router_interface("edge", "app").await.unwrap();
    assert!(store.host_revision(h2).await.unwrap() > before, "h2 learns that app left");
    assert!(store.assignments(h1).await.unwrap().routers.is_empty(), "h1 carries no network of the router any more");
    assert_eq!(store.assignments(h2).await.unwrap().routers[0].interfaces.len(), 1);

    // A container deleted goes from every host's names.
    admin.delete_container("solo", &DeleteQuery { stop: Some(true), force: None }).await.unwrap();
    wait_until("the deleted container's name goes", || async { !names(&store, h2, app).await.contains_key("solo") }).await;
    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

/// `host`'s assignments as its agent gets them over HTTP with `credential`, with or without
/// `shared_names`.
async fn fetched(region: &TestRegion, credential: &str, shared: bool) -> Assignments {
    let query = if shared { "?shared_names=true" } else { "" };
    let url = format!("{}/v1/agent/assignments{query}", region.url);
    let answer = reqwest::Client::new().get(url).bearer_auth(credential).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}

/// Each container's networks with the names each answers (read through `network_names`).
fn names_by_container(assigned: &Assignments) -> BTreeMap<String, Vec<(String, Vec<DnsName>)>> {
    let networks =
        |a: &Assignment| a.networks.iter().map(|n| (n.network.name.clone(), assigned.network_names(&n.network).to_vec())).collect();
    assigned.containers.iter().map(|a| (a.name.clone(), networks(a))).collect()
}

async fn shared_names_are_sent_once(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let agent = region.sim_agent(SimHost::new("h1")).await;
    // A host joined over HTTP, whose assignments the test fetches as its agent would.
    let certificate = flotilla_tls::Identity::self_signed(&["127.0.0.1".into()]).unwrap().cert_pem;
    let joined: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/agent/join", region.url))
        .json(&serde_json::json!({"join_token": region.join_token().await, "name": "raw", "advertise": "https://127.0.0.1:9",
            "runtime": "sim", "capacity": {"cpus": 4.0, "memory_mib": 8192, "disk_mib": 1024}, "certificate": certificate}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = joined["credential"].as_str().expect("a credential").to_owned();
    let admin = &region.admin;
    admin.create_network(&network("app", "192.168.73.0/24")).await.unwrap();
    for (name, host) in [("a", "raw"), ("b", "raw"), ("far", "h1")] {
        let body = ContainerCreate { name: name.into(), spec: on("app", Some(host)), run: true, metadata: Default::default() };
        admin.create_container(&body).await.unwrap();
    }

    let (each, shared) = (fetched(&region, &credential, false).await, fetched(&region, &credential, true).await);
    assert_eq!(each.revision, shared.revision);
    assert!(each.names.is_empty(), "a server asked without shared_names sends them on each network");
    let with_names = |a: &Assignments| a.containers.iter().flat_map(|c| &c.networks).filter(|n| !n.network.names.is_empty()).count();
    assert_eq!(with_names(&each), 2, "each of the host's two containers carries the network's names");
    assert_eq!(with_names(&shared), 0, "shared: no network carries them");
    assert_eq!(shared.names.len(), 1, "once for the one network: {:?}", shared.names);
    let names = names_by_container(&shared);
    assert_eq!(names, names_by_container(&each), "the same names either way");
    let answered: Vec<&str> = names["a"][0].1.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(answered, ["a", "b", "far"], "every container of the network, on any host");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_names_on_sqlite() {
    shared_names_are_sent_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_names_on_postgres() {
    shared_names_are_sent_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_on_sqlite() {
    names_span_hosts_and_follow_containers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_on_postgres() {
    names_span_hosts_and_follow_containers(Backend::Postgres).await;
}
