//! Chaos: two `flotilla server` processes on one PostgreSQL share the engine's work; one is killed
//! (SIGKILL) during a 50-node scale-out and the other takes over its actions and finishes. And a lone
//! server on SQLite killed during a 500-node scale-out converges once started again. Either way no
//! node is created twice and no container is leaked. PostgreSQL comes from scripts/test.sh.

mod support;

use flotilla_api::{
    ClusterActionRequest, ClusterCreate, ContainerFilter, JoinTokenCreate, ListQuery, NodeFilter, ProfileCreate, ScaleParams,
};
use flotilla_client::{Client, Waited};
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
use std::collections::BTreeSet;
use std::time::Duration;
use support::{ADMIN_PASSWORD, Sandbox};

#[test]
fn a_killed_servers_actions_are_finished_by_the_other_without_duplicates_or_leaks() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path())) else {
        return;
    };
    let mut doomed = support::start_named_server(&sandbox, "doomed", Some(&database), &[]);
    let survivor = support::start_named_server(&sandbox, "survivor", Some(&database), &[]);
    let (via_doomed, via_survivor) = runtime.block_on(async {
        let a = flotilla_testkit::login(&doomed.url, "admin", ADMIN_PASSWORD, Some("admin")).await.unwrap();
        let b = flotilla_testkit::login(&survivor.url, "admin", ADMIN_PASSWORD, Some("admin")).await.unwrap();
        (a, b)
    });
    let token = runtime.block_on(via_survivor.create_join_token(&JoinTokenCreate::default())).unwrap().token;
    // Ten simulated hosts, each create and start taking 300 ms, so the scale-out takes a while.
    let agent_args = [
        "agent",
        "--server",
        &survivor.url,
        "--join-token",
        &token,
        "--runtime",
        "sim",
        "--name",
        "sim",
        "--listen",
        "127.0.0.1:0",
        "--simulate-hosts",
        "10",
        "--sim-latency-ms",
        "300",
    ];
    let _agents = sandbox.spawn("agents", &agent_args, &[], "simulated hosts joined");

    let scale = runtime.block_on(async {
        create_cluster(&via_doomed).await;
        via_doomed.cluster_action("big", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(50) })).await.unwrap().action.to_string()
    });
    // Kill the server whose API took the scale-out once it waits for its node actions (woken by its
    // own API, it claims them first), long before they end: a fast machine finished all 50 before
    // 5 were seen ACTIVE, leaving nothing to take over.
    runtime.block_on(wait_for_status(&via_survivor, &scale, "WAITING"));
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();

    let finished = runtime.block_on(wait(&via_survivor, &scale));
    assert_eq!(finished.status, "SUCCEEDED", "{}", finished.status_reason);
    runtime.block_on(assert_converged(&via_survivor, 50));
    let log = survivor.stderr();
    assert!(log.contains("took over the actions of silent engines"), "the survivor took over; its log: {log}");
    let metrics = runtime.block_on(async { reqwest::get(format!("{}/metrics", survivor.url)).await.unwrap().text().await.unwrap() });
    assert!(metrics.lines().any(|l| l == "flotilla_engine_takeovers_total 1"), "one engine taken over: {metrics}");
}

#[test]
fn a_lone_server_killed_during_a_500_node_scale_out_converges_when_started_again() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The same address and data directory before and after the kill, as an operator's restart.
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let data = sandbox.path("solo-data");
    let server_args = ["server", "--listen", &listen, "--data-dir", data.to_str().unwrap(), "--bootstrap-password", ADMIN_PASSWORD];
    let mut first = sandbox.spawn("solo", &server_args, &[], "listening on ");
    let admin = runtime.block_on(flotilla_testkit::login(&first.url, "admin", ADMIN_PASSWORD, Some("admin"))).unwrap();
    let token = runtime.block_on(admin.create_join_token(&JoinTokenCreate::default())).unwrap().token;
    let _agents = support::sim_agent(
        &sandbox,
        &first,
        &token,
        "sim",
        &["--simulate-hosts", "20", "--sim-latency-ms", "20"],
        "simulated hosts joined",
    );
    let scale = runtime.block_on(async {
        create_cluster(&admin).await;
        admin.cluster_action("big", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(500) })).await.unwrap().action.to_string()
    });
    runtime.block_on(wait_for_active(&admin, 20));
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let _again = sandbox.spawn("solo-again", &server_args, &[], "listening on ");
    let finished = runtime.block_on(wait(&admin, &scale));
    assert_eq!(finished.status, "SUCCEEDED", "{}", finished.status_reason);
    runtime.block_on(assert_converged(&admin, 500));
}

/// Until cluster `big` has `count` ACTIVE nodes: the work is under way.
async fn wait_for_active(client: &Client, count: usize) {
    let filter = NodeFilter { cluster: Some("big".into()), status: Some("ACTIVE".into()) };
    while client.all_nodes(&filter).await.unwrap().len() < count {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A cluster `big` of profile `p` (a tiny container), made empty.
async fn create_cluster(client: &Client) {
    let properties = ContainerProperties { image: "any/image:1".into(), cpu: Some(0.01), memory: Some(8), ..Default::default() };
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    client.create_profile(&ProfileCreate { name: "p".into(), spec, metadata: Default::default() }).await.unwrap();
    let body = ClusterCreate {
        name: "big".into(),
        profile: "p".into(),
        desired_capacity: 0,
        min_size: 0,
        max_size: -1,
        timeout: Some(300),
        config: Default::default(),
        metadata: Default::default(),
    };
    let created = client.create_cluster(&body).await.unwrap();
    wait(client, &created.action.unwrap()).await;
}

/// Cluster `big` has exactly `count` ACTIVE nodes of distinct names, each with its container, and
/// no other container exists.
async fn assert_converged(client: &Client, count: usize) {
    let nodes = client.all_nodes(&NodeFilter { cluster: Some("big".into()), status: None }).await.unwrap();
    let query = ListQuery { limit: Some(1000), ..Default::default() };
    let containers = client.list_containers(&query, &ContainerFilter::default()).await.unwrap().containers;
    assert_eq!(nodes.len(), count, "exactly the nodes asked for");
    assert!(nodes.iter().all(|n| n.status == "ACTIVE"), "{:?}", nodes.iter().map(|n| (&n.name, &n.status)).collect::<Vec<_>>());
    let names: BTreeSet<_> = nodes.iter().map(|n| n.name.clone()).collect();
    assert_eq!(names.len(), count, "no node created twice");
    let managed: BTreeSet<_> = nodes.iter().map(|n| n.physical_id.expect("every node has its container")).collect();
    let existing: BTreeSet<_> = containers.iter().map(|c| c.id).collect();
    assert_eq!(managed, existing, "every container belongs to a node and every node's container exists: none leaked");
}

/// Polls action `id` until its status is `status`; an action that ended first fails the test.
async fn wait_for_status(client: &Client, id: &str, status: &str) {
    loop {
        let action = client.action(id).await.unwrap();
        if action.status == status {
            return;
        }
        assert!(!["SUCCEEDED", "FAILED", "CANCELLED"].contains(&action.status.as_str()), "action {id} ended {} first", action.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait(client: &Client, action: &str) -> flotilla_api::Action {
    match client.wait_action(action, Duration::from_millis(200), Duration::from_secs(240), |_| {}).await.unwrap() {
        Waited::Ended(action) => action,
        Waited::TimedOut(action) => panic!("action still {} after 240 s: {}", action.status, action.status_reason),
    }
}
