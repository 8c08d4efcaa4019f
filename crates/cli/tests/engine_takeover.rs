//! Two `flotilla server` processes on one PostgreSQL share the engine's work; one is killed
//! (SIGKILL) during a 50-node scale-out and the other takes over its actions and finishes:
//! no node is created twice, no container is leaked. Needs PostgreSQL (scripts/test.sh starts one).

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
    // Ten simulated hosts, each create and start taking 100 ms, so the scale-out takes a while.
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
        "100",
    ];
    let _agents = sandbox.spawn("agents", &agent_args, &[], "simulated hosts joined");

    let properties = ContainerProperties { image: "any/image:1".into(), cpu: Some(0.01), memory: Some(8), ..Default::default() };
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    let scale = runtime.block_on(async {
        via_doomed.create_profile(&ProfileCreate { name: "p".into(), spec, metadata: Default::default() }).await.unwrap();
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
        let created = via_doomed.create_cluster(&body).await.unwrap();
        wait(&via_doomed, &created.action.unwrap()).await;
        via_doomed.cluster_action("big", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(50) })).await.unwrap().action.to_string()
    });
    // Kill the server whose API took the scale-out once the work is under way.
    runtime.block_on(async {
        let filter = NodeFilter { cluster: Some("big".into()), status: Some("ACTIVE".into()) };
        while via_survivor.all_nodes(&filter).await.unwrap().len() < 5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();

    let finished = runtime.block_on(wait(&via_survivor, &scale));
    assert_eq!(finished.status, "SUCCEEDED", "{}", finished.status_reason);
    let (nodes, containers) = runtime.block_on(async {
        let nodes = via_survivor.all_nodes(&NodeFilter { cluster: Some("big".into()), status: None }).await.unwrap();
        let query = ListQuery { limit: Some(1000), ..Default::default() };
        let containers = via_survivor.list_containers(&query, &ContainerFilter::default()).await.unwrap().containers;
        (nodes, containers)
    });
    assert_eq!(nodes.len(), 50, "exactly the nodes asked for");
    assert!(nodes.iter().all(|n| n.status == "ACTIVE"), "{:?}", nodes.iter().map(|n| (&n.name, &n.status)).collect::<Vec<_>>());
    let names: BTreeSet<_> = nodes.iter().map(|n| n.name.clone()).collect();
    assert_eq!(names.len(), 50, "no node created twice");
    let managed: BTreeSet<_> = nodes.iter().map(|n| n.physical_id.expect("every node has its container")).collect();
    let existing: BTreeSet<_> = containers.iter().map(|c| c.id).collect();
    assert_eq!(managed, existing, "every container belongs to a node and every node's container exists: none leaked");
    let log = survivor.stderr();
    assert!(log.contains("took over the actions of silent engines"), "the survivor took over; its log: {log}");
}

async fn wait(client: &Client, action: &str) -> flotilla_api::Action {
    match client.wait_action(action, Duration::from_millis(200), Duration::from_secs(240), |_| {}).await.unwrap() {
        Waited::Ended(action) => action,
        Waited::TimedOut(action) => panic!("action still {} after 240 s: {}", action.status, action.status_reason),
    }
}
