//! What the region hands its hosts about networks, on both backends with simulated hosts: the
//! names each network answers (asked name by name: every container of the network on any host by
//! its name, a cluster's name for its running members only, nothing of another network), and the
//! routers joining a network a host carries (`Assignments.routers`); a host learns (its revision
//! moves) when a container of its networks comes, stops or goes, and when an interface does.
//! An agent asking with `name_lookup` gets networks without names and asks `/v1/agent/names`; an
//! older agent gets every name on each network.

use flotilla_api::agent::{Assignments, NameAnswer};
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

/// What `name` answers on `network` to `host`'s name server: its addresses, empty for no name.
async fn resolve(store: &Store, host: HostId, network: NetworkId, name: &str) -> Vec<String> {
    store.name_on(host, network, name).await.unwrap().iter().map(ToString::to_string).collect()
}

/// Whether every name of `want` answers its addresses on `network` to `host`.
async fn answers(store: &Store, host: HostId, network: NetworkId, want: &BTreeMap<String, Vec<String>>) -> bool {
    for (name, addresses) in want {
        if resolve(store, host, network, name).await != *addresses {
            return false;
        }
    }
    true
}

/// Each container's address on `network`, by container name.
async fn ips_on(client: &Client, network: &str) -> BTreeMap<String, String> {
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
    let ips = ips_on(admin, "app").await;
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
        answers(&store, h1, app, &want).await && answers(&store, h2, app, &want).await
    })
    .await;
    assert_eq!(resolve(&store, h1, app, "WEB").await, want["web"], "in any case");
    assert!(resolve(&store, h1, app, "stranger").await.is_empty(), "another network's container is not a name here");
    assert!(resolve(&store, h1, app, "no such name!").await.is_empty());
    let refused = store.name_on(h1, other, "stranger").await;
    assert!(
        matches!(refused, Err(flotilla_store::StoreError::NotFound { .. })),
        "h1 carries no container of the other network: {refused:?}"
    );
    assert_eq!(resolve(&store, h2, other, "stranger").await, [ips_on(admin, "other").await["stranger"].clone()]);

    // A new container on h1 wakes h2, which carries the same network.
    let before = store.host_revision(h2).await.unwrap();
    admin
        .create_container(&ContainerCreate { name: "late".into(), spec: on("app", Some("h1")), run: true, metadata: Default::default() })
        .await
        .unwrap();
    wait_for_container(admin, "late", "RUNNING").await;
    assert!(store.host_revision(h2).await.unwrap() > before, "h2 learns of h1's new container");
    assert_eq!(resolve(&store, h2, app, "late").await.len(), 1);

    // A stopped member leaves the cluster's name (it keeps its own).
    let before = store.host_revision(h2).await.unwrap();
    admin.stop_container(&members[0], &StopQuery::default()).await.unwrap();
    wait_for_container(admin, &members[0], "STOPPED").await;
    wait_until("the cluster's name answers its running member only", || async {
        resolve(&store, h2, app, "web").await == member_ips(&[&members[1]])
    })
    .await;
    assert!(store.host_revision(h2).await.unwrap() > before);
    assert_eq!(resolve(&store, h2, app, &members[0]).await, [ips[&members[0]].clone()], "a stopped container keeps its name");

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
    wait_until("the deleted container's name goes", || async { resolve(&store, h2, app, "solo").await.is_empty() }).await;
    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

/// `path` as the agent holding `credential` gets it over HTTP: the status and the JSON body.
async fn agent_get(region: &TestRegion, credential: &str, path: &str) -> (u16, serde_json::Value) {
    let answer = reqwest::Client::new().get(format!("{}{path}", region.url)).bearer_auth(credential).send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn names_are_asked_one_by_one(backend: Backend) {
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
    let app = admin.create_network(&network("app", "192.168.73.0/24")).await.unwrap();
    let other = admin.create_network(&network("other", "192.168.74.0/24")).await.unwrap();
    for (name, net, host) in [("a", "app", "raw"), ("b", "app", "raw"), ("far", "app", "h1"), ("stranger", "other", "h1")] {
        let body = ContainerCreate { name: name.into(), spec: on(net, Some(host)), run: true, metadata: Default::default() };
        admin.create_container(&body).await.unwrap();
    }

    let assignments = |query: &'static str| {
        let credential = credential.clone();
        let region = &region;
        async move {
            let (status, body) = agent_get(region, &credential, &format!("/v1/agent/assignments{query}")).await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_value::<Assignments>(body).unwrap()
        }
    };
    let (listed, asked) = (assignments("").await, assignments("?name_lookup=true").await);
    assert_eq!(listed.revision, asked.revision);
    let networks = |a: &Assignments| a.containers.iter().flat_map(|c| c.networks.clone()).collect::<Vec<_>>();
    let listed_names: Vec<Vec<String>> =
        networks(&listed).iter().map(|n| n.network.names.iter().map(|d| d.name.clone()).collect()).collect();
    assert_eq!(listed_names, [["a", "b", "far"], ["a", "b", "far"]], "an older agent: every name of the network, on each container");
    assert_eq!(networks(&asked).len(), 2);
    assert!(networks(&asked).iter().all(|n| n.network.names.is_empty()), "name_lookup: no names sent");

    let ips = ips_on(admin, "app").await;
    let ask = |network: uuid::Uuid, name: &str| {
        let path = format!("/v1/agent/names?network={network}&name={name}");
        let credential = credential.clone();
        let region = &region;
        async move { agent_get(region, &credential, &path).await }
    };
    let (status, body) = ask(app.id, "FAR").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_value::<NameAnswer>(body).unwrap().addresses, [ips["far"].clone()], "a name on another host, in any case");
    let (_, body) = ask(app.id, "stranger").await;
    assert_eq!(serde_json::from_value::<NameAnswer>(body).unwrap(), NameAnswer::default(), "another network's container: no name here");
    let (status, body) = ask(other.id, "stranger").await;
    assert_eq!(status, 404, "raw carries no container of network other: {body}");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_names_on_sqlite() {
    names_are_asked_one_by_one(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_names_on_postgres() {
    names_are_asked_one_by_one(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_on_sqlite() {
    names_span_hosts_and_follow_containers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_on_postgres() {
    names_span_hosts_and_follow_containers(Backend::Postgres).await;
}
