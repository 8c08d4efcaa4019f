//! Races through the API, on PostgreSQL (where they show) and SQLite: concurrent deletes and
//! creates of one cluster's nodes change its desired capacity once each and never share an index;
//! a node named twice in one request is refused; a host drain with `migrate` is a HOST_DRAIN
//! action that moves the containers and the node records with them, one drain at a time.

use flotilla_api::{ClusterActionRequest, ClusterCreate, HostDrain, NodeCreate, NodeFilter, NodesParams, ProfileCreate};
use flotilla_client::{Client, ClientError, Waited};
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
use flotilla_testkit::{Backend, SimHost, TestRegion};
use std::time::Duration;

fn profile() -> ProfileCreate {
    let properties =
        ContainerProperties { image: "flotilla/workload:latest".into(), cpu: Some(0.1), memory: Some(64), ..Default::default() };
    ProfileCreate {
        name: "web".into(),
        spec: ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties },
        metadata: Default::default(),
    }
}

/// Creates cluster `name` of `desired` nodes and waits until they run.
async fn cluster(client: &Client, name: &str, desired: i64, min: i64) {
    let body = ClusterCreate {
        name: name.into(),
        profile: "web".into(),
        desired_capacity: desired,
        min_size: min,
        max_size: 20,
        timeout: Some(60),
        config: Default::default(),
        metadata: Default::default(),
    };
    let created = client.create_cluster(&body).await.expect("create");
    assert_eq!(finished(client, &created.action.expect("action")).await, "SUCCEEDED");
}

/// Waits for action `id`; answers its final status.
async fn finished(client: &Client, id: &str) -> String {
    match client.wait_action(id, Duration::from_millis(100), Duration::from_secs(60), |_| {}).await.expect("action") {
        Waited::Ended(a) => a.status,
        Waited::TimedOut(a) => panic!("action {} still {} after 60 s", a.name, a.status),
    }
}

async fn members(client: &Client, cluster: &str) -> Vec<flotilla_api::Node> {
    let mut nodes = client.all_nodes(&NodeFilter { cluster: Some(cluster.into()), status: None }).await.expect("nodes");
    nodes.sort_by_key(|n| n.index);
    nodes
}

/// Runs `call` on each of `inputs` at once (every request sent before any answer is awaited);
/// answers in order.
async fn at_once<I, T, F>(inputs: impl IntoIterator<Item = I>, call: impl Fn(I) -> F) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = inputs.into_iter().map(|i| tokio::spawn(call(i))).collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// Deletes every member of `cluster` at once.
async fn delete_all(client: &Client, cluster: &str) -> Vec<Result<flotilla_api::ActionAccepted, ClientError>> {
    at_once(members(client, cluster).await, |n| {
        let client = client.clone();
        async move { client.delete_node(&n.name).await }
    })
    .await
}

fn status<T: std::fmt::Debug>(answer: &Result<T, ClientError>) -> u16 {
    answer.as_ref().map_or_else(|e| e.status().expect("an HTTP answer"), |_| 202)
}

async fn concurrent_node_deletes_and_creates(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let _agents = [region.sim_agent(SimHost::new("h1")).await, region.sim_agent(SimHost::new("h2")).await];
    let admin = &region.admin;
    admin.create_profile(&profile()).await.expect("profile");

    // Six members deleted at once: each delete lowers the desired capacity once.
    cluster(admin, "web", 6, 0).await;
    let accepted: Vec<String> =
        delete_all(admin, "web").await.into_iter().map(|answer| answer.expect("each delete accepted").action.to_string()).collect();
    assert_eq!(admin.cluster("web").await.expect("show").desired_capacity, 0, "six deletes, six fewer");
    for id in &accepted {
        assert_eq!(finished(admin, id).await, "SUCCEEDED");
    }
    assert!(members(admin, "web").await.is_empty());

    // Six members created at once: six more, at six different indexes.
    let creates = at_once(0..6, |i| {
        let client = admin.clone();
        let body = NodeCreate {
            name: format!("extra-{i}"),
            profile: "web".into(),
            cluster: Some("web".into()),
            role: String::new(),
            metadata: Default::default(),
        };
        async move { client.create_node(&body).await }
    })
    .await;
    for made in creates {
        let made = made.expect("each create accepted");
        assert_eq!(finished(admin, &made.action.expect("action")).await, "SUCCEEDED");
    }
    let indexes: Vec<i64> = members(admin, "web").await.iter().map(|n| n.index).collect();
    assert_eq!(indexes, [7, 8, 9, 10, 11, 12], "indexes are never reused nor shared");
    assert_eq!(admin.cluster("web").await.expect("show").desired_capacity, 6);

    // min_size 2 of 3: of three deletes at once, one goes through.
    cluster(admin, "db", 3, 2).await;
    let answers = delete_all(admin, "db").await;
    let mut codes: Vec<u16> = answers.iter().map(status).collect();
    codes.sort();
    assert_eq!(codes, [202, 409, 409], "{answers:?}");
    assert!(answers.iter().filter_map(|a| a.as_ref().err()).all(|e| e.to_string().contains("below its min_size 2")), "{answers:?}");
    assert_eq!(admin.cluster("db").await.expect("show").desired_capacity, 2);
    let deleted = answers.into_iter().find_map(Result::ok).expect("one accepted");
    assert_eq!(finished(admin, &deleted.action.to_string()).await, "SUCCEEDED");
    assert_eq!(members(admin, "db").await.len(), 2);

    // A node named twice (by name, then by id) is refused, naming the field and the value.
    let spare =
        NodeCreate { name: "spare".into(), profile: "web".into(), cluster: None, role: String::new(), metadata: Default::default() };
    let made = admin.create_node(&spare).await.expect("orphan");
    assert_eq!(finished(admin, &made.action.expect("action")).await, "SUCCEEDED");
    let id = made.body.id.to_string();
    let twice = NodesParams { nodes: vec!["spare".into(), id.clone()], destroy: false };
    let refused = admin.cluster_action("web", &ClusterActionRequest::AddNodes(twice)).await.expect_err("refused");
    let message = refused.to_string();
    assert_eq!(refused.status(), Some(400), "{message}");
    assert!(message.contains("add_nodes.nodes[1]") && message.contains(&id) && message.contains("spare"), "{message}");
    assert_eq!(admin.cluster("web").await.expect("show").desired_capacity, 6, "nothing changed");
    assert!(admin.node("spare").await.expect("node").cluster_id.is_none());
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_node_deletes_and_creates_on_postgres() {
    concurrent_node_deletes_and_creates(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_node_deletes_and_creates_on_sqlite() {
    concurrent_node_deletes_and_creates(Backend::Sqlite).await;
}

async fn drain_moves_nodes(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let _first = region.sim_agent(SimHost::new("old")).await;
    let admin = &region.admin;
    admin.create_profile(&profile()).await.expect("profile");
    cluster(admin, "web", 3, 0).await;
    assert!(members(admin, "web").await.iter().all(|n| n.host_name.as_deref() == Some("old")));
    // Slow to start containers: the first drain still runs when the second comes.
    let _second = region.sim_agent(SimHost::new("new").latency(Duration::from_millis(500))).await;

    // Two drains at once: one action moves the containers, the other is refused while it runs.
    let answers = at_once(0..2, |_| {
        let client = admin.clone();
        async move { client.drain_host("old", &HostDrain { migrate: true }).await }
    })
    .await;
    let mut codes: Vec<u16> = answers.iter().map(status).collect();
    codes.sort();
    assert_eq!(codes, [202, 409], "{answers:?}");
    let drained = answers.into_iter().find_map(Result::ok).expect("one accepted");
    assert_eq!(drained.body.state, "DRAINING");
    let action = drained.action.expect("Location names the action");
    assert_eq!(admin.action(&action).await.expect("action").action, "HOST_DRAIN");
    assert_eq!(finished(admin, &action).await, "SUCCEEDED");

    // The node records follow their containers.
    for n in members(admin, "web").await {
        let container = admin.container(&n.physical_id.expect("container").to_string()).await.expect("container");
        assert_eq!((container.host.as_deref(), container.status.as_str()), (Some("new"), "RUNNING"));
        assert_eq!((n.host_name.as_deref(), n.host_id), (Some("new"), container.host_id), "node {} still on its old host", n.name);
    }
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_moves_nodes_on_postgres() {
    drain_moves_nodes(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_moves_nodes_on_sqlite() {
    drain_moves_nodes(Backend::Sqlite).await;
}
