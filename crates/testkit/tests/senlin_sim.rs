//! Senlin's semantics through the real HTTP API of an in-process region with simulated hosts:
//! resize refusals with Senlin's messages and targets from the node count; the deletion policy's
//! destroy_after_deletion, grace_period and reduce_desired_capacity; tainted nodes chosen first;
//! unhealthy-first rolling-update batches; events and finished actions purged by age.

use flotilla_api::{
    ActionFilter, ClusterActionRequest, ClusterCreate, ClusterUpdate, ContainerFilter, EventFilter, ListQuery, NodeFilter, NodeUpdate,
    NodesParams, PolicyCreate, PolicyParams, ResizeParams, ScaleParams,
};
use flotilla_client::{Client, ClientError, Updated, Waited};
use flotilla_core::policy::PolicySpec;
use flotilla_server::Retention;
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_until, workload_profile as profile};
use std::time::{Duration, Instant};

/// A region with two simulated hosts, profile `web` and cluster `web` of `desired` ACTIVE nodes.
async fn region_with_cluster(
    adjust: impl FnOnce(&mut flotilla_server::ServerConfig),
    desired: i64,
    min: i64,
) -> (TestRegion, Vec<flotilla_agent::Agent>) {
    let region = TestRegion::start_with(Backend::Sqlite, adjust).await.expect("sqlite");
    let agents = vec![region.sim_agent(SimHost::new("h1")).await, region.sim_agent(SimHost::new("h2")).await];
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");
    let create = ClusterCreate {
        name: "web".into(),
        profile: "web".into(),
        desired_capacity: desired,
        min_size: min,
        max_size: 10,
        timeout: Some(60),
        config: Default::default(),
        metadata: Default::default(),
    };
    let created = admin.create_cluster(&create).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("an action")).await.0, "SUCCEEDED");
    (region, agents)
}

/// Waits for action `id`; answers its final status and reason.
async fn finished(client: &Client, id: impl ToString) -> (String, String) {
    match client.wait_action(&id.to_string(), Duration::from_millis(100), Duration::from_secs(60), |_| {}).await.expect("action") {
        Waited::Ended(a) => (a.status, a.status_reason),
        Waited::TimedOut(a) => panic!("action {} still {} after 60 s: {}", a.name, a.status, a.status_reason),
    }
}

async fn act(client: &Client, request: ClusterActionRequest) -> (String, String) {
    let accepted = client.cluster_action("web", &request).await.expect("action accepted");
    finished(client, accepted.action).await
}

async fn attach(client: &Client, name: &str, yaml: &str) {
    let spec: PolicySpec = serde_saphyr::from_str(yaml).expect("policy YAML");
    client.create_policy(&PolicyCreate { name: name.into(), spec, metadata: Default::default() }).await.expect("policy");
    let attach = PolicyParams { policy: name.into(), enabled: None };
    assert_eq!(act(client, ClusterActionRequest::PolicyAttach(attach)).await.0, "SUCCEEDED");
}

/// The cluster's members' names, by index.
async fn members(client: &Client) -> Vec<String> {
    let mut nodes = client.all_nodes(&NodeFilter { cluster: Some("web".into()), status: None }).await.expect("nodes");
    nodes.sort_by_key(|n| n.index);
    nodes.into_iter().map(|n| n.name).collect()
}

async fn desired(client: &Client) -> i64 {
    client.cluster("web").await.expect("cluster").desired_capacity
}

async fn container_names(client: &Client) -> Vec<String> {
    let list = client.list_containers(&ListQuery::default(), &ContainerFilter::default()).await.expect("containers");
    let mut names: Vec<String> = list.containers.into_iter().map(|c| c.name).collect();
    names.sort();
    names
}

/// The 400's message, exactly as the error body carries it.
fn refusal(result: Result<impl std::fmt::Debug, ClientError>) -> String {
    match result.expect_err("must be refused") {
        ClientError::Api { status: 400, message, .. } => message,
        other => panic!("expected a 400, got {other}"),
    }
}

fn resize(adjustment_type: Option<&str>, number: Option<f64>, min_size: Option<i64>, max_size: Option<i64>) -> ClusterActionRequest {
    ClusterActionRequest::Resize(ResizeParams {
        adjustment_type: adjustment_type.map(str::to_owned),
        number,
        min_size,
        max_size,
        min_step: None,
        strict: true,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_answers_as_senlin() {
    let (region, _agents) = region_with_cluster(|_| {}, 3, 1).await;
    let admin = &region.admin;

    // Senlin's messages, in the 400 body, and nothing started.
    let cases = [
        (
            resize(Some("EXACT_CAPACITY"), Some(-1.0), None, None),
            "The 'number' must be non-negative integer for adjustment type 'EXACT_CAPACITY'.",
        ),
        (
            resize(Some("EXACT_CAPACITY"), Some(2.0), Some(4), Some(3)),
            "The specified min_size (4) is greater than the specified max_size (3).",
        ),
        (resize(Some("NOT_QUITE_SURE"), Some(2.0), None, None), "Value 'NOT_QUITE_SURE' is not acceptable for field 'adjustment_type'."),
        (resize(Some("exact_capacity"), Some(2.0), None, None), "Value 'exact_capacity' is not acceptable for field 'adjustment_type'."),
        (resize(None, None, None, None), "Not enough parameters to do resize action."),
        (resize(Some("EXACT_CAPACITY"), Some(0.0), None, None), "The target capacity (0) is less than the cluster's min_size (1)."),
    ];
    for (request, message) in cases {
        assert_eq!(refusal(admin.cluster_action("web", &request).await), message);
    }
    assert_eq!(members(admin).await.len(), 3);
    let doc: serde_json::Value = reqwest::get(format!("{}/v1/openapi.json", region.url)).await.unwrap().json().await.unwrap();
    let pattern = &doc["components"]["schemas"]["ResizeParams"]["properties"]["adjustment_type"]["pattern"];
    assert_eq!(pattern, "^(EXACT_CAPACITY|CHANGE_IN_CAPACITY|CHANGE_IN_PERCENTAGE)$", "the OpenAPI document states the values");

    // A relative adjustment starts from the node count: with desired 3 and 2 nodes (a member deleted while
    // the deletion policy keeps desired_capacity), +1 makes 3 nodes, not 4.
    attach(admin, "keep-desired", "type: deletion\nversion: '1.0'\nproperties:\n  reduce_desired_capacity: false\n").await;
    let deleted = admin.delete_node("web-1").await.expect("delete node");
    assert_eq!(finished(admin, deleted.action).await.0, "SUCCEEDED");
    assert_eq!((members(admin).await.len(), desired(admin).await), (2, 3));
    assert_eq!(act(admin, resize(Some("CHANGE_IN_CAPACITY"), Some(1.0), None, None)).await.0, "SUCCEEDED");
    assert_eq!((members(admin).await.len(), desired(admin).await), (3, 3));

    // EXACT_CAPACITY 0 empties a cluster whose min_size allows it.
    assert_eq!(act(admin, resize(Some("EXACT_CAPACITY"), Some(0.0), Some(0), None)).await.0, "SUCCEEDED");
    assert_eq!((members(admin).await.len(), desired(admin).await), (0, 0));
    assert!(container_names(admin).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deletion_policy_settings_are_applied() {
    let (region, _agents) = region_with_cluster(|_| {}, 4, 0).await;
    let admin = &region.admin;
    let yaml = "type: deletion\nversion: '1.0'\nproperties:\n  criteria: OLDEST_FIRST\n  destroy_after_deletion: false\n  \
                grace_period: 2\n  reduce_desired_capacity: false\n";
    let too_long: PolicySpec = serde_saphyr::from_str("type: deletion\nversion: '1.0'\nproperties:\n  grace_period: 86401\n").unwrap();
    let message = refusal(admin.create_policy(&PolicyCreate { name: "slow".into(), spec: too_long, metadata: Default::default() }).await);
    assert!(message.contains("grace_period") && message.contains("86401") && message.contains("86400"), "{message}");
    attach(admin, "gentle", yaml).await;

    // Scale-in: after the grace period the victim leaves as an orphan node that keeps its container.
    let started = Instant::now();
    assert_eq!(act(admin, ClusterActionRequest::ScaleIn(ScaleParams { count: Some(1) })).await.0, "SUCCEEDED");
    assert!(started.elapsed() >= Duration::from_secs(2), "the grace period was waited: {:?}", started.elapsed());
    assert_eq!(members(admin).await, ["web-2", "web-3", "web-4"]);
    assert_eq!(desired(admin).await, 3, "a scale-in sets the desired capacity it computed");
    let orphan = admin.node("web-1").await.expect("the victim is still a node");
    assert_eq!((orphan.cluster_id, orphan.index), (None, -1));
    assert!(container_names(admin).await.contains(&"web-1".to_owned()), "its container is kept");

    // del_nodes: the policy's destroy_after_deletion wins over the request's; desired_capacity stays.
    let request = NodesParams { nodes: vec!["web-2".into()], destroy: true };
    assert_eq!(act(admin, ClusterActionRequest::DelNodes(request)).await.0, "SUCCEEDED");
    assert_eq!(members(admin).await, ["web-3", "web-4"]);
    assert_eq!(desired(admin).await, 3, "reduce_desired_capacity: false");
    assert!(admin.node("web-2").await.expect("orphan").cluster_id.is_none());
    assert_eq!(container_names(admin).await.len(), 4);

    // A user's node delete: the node and its container go, after the grace period; desired stays.
    let started = Instant::now();
    let deleted = admin.delete_node("web-3").await.expect("delete");
    assert_eq!(finished(admin, deleted.action).await.0, "SUCCEEDED");
    assert!(started.elapsed() >= Duration::from_secs(2), "the grace period was waited: {:?}", started.elapsed());
    assert_eq!(members(admin).await, ["web-4"]);
    assert_eq!(desired(admin).await, 3);
    wait_until("web-3's container is gone", || async { !container_names(admin).await.contains(&"web-3".to_owned()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tainted_nodes_go_first() {
    let (region, _agents) = region_with_cluster(|_| {}, 4, 0).await;
    let admin = &region.admin;
    let taint = |tainted| NodeUpdate { tainted: Some(tainted), ..Default::default() };
    let Updated::Done(node) = admin.update_node("web-2", &taint(true)).await.expect("taint") else { panic!("no action for a taint") };
    assert!(node.tainted);
    assert!(admin.node("web-2").await.expect("show").tainted);

    // The default victims are the youngest; a tainted node goes before them.
    assert_eq!(act(admin, ClusterActionRequest::ScaleIn(ScaleParams { count: Some(1) })).await.0, "SUCCEEDED");
    assert_eq!(members(admin).await, ["web-1", "web-3", "web-4"]);

    // A rolling update one node at a time starts with the tainted node.
    admin.update_node("web-3", &taint(true)).await.expect("taint");
    attach(admin, "one-by-one", "type: batch\nversion: '1.0'\nproperties:\n  max_batch_size: 1\n  min_in_service: 1\n  pause_time: 0\n")
        .await;
    admin.create_profile(&profile("web-v2", "v2")).await.expect("profile v2");
    let update = ClusterUpdate { profile: Some("web-v2".into()), ..Default::default() };
    let Updated::Started(accepted) = admin.update_cluster("web", &update).await.expect("update") else { panic!("an action") };
    assert_eq!(finished(admin, accepted.action).await.0, "SUCCEEDED");
    let filter = ActionFilter { action: Some("NODE_UPDATE".into()), cluster: Some("web".into()), ..Default::default() };
    let mut updates = admin.list_actions(&ListQuery::default(), &filter).await.expect("actions").actions;
    updates.sort_by_key(|a| a.id);
    let order: Vec<&str> = updates.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(order.len(), 3);
    assert!(order[0].ends_with("web-3"), "the tainted node is in the first batch: {order:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_and_finished_actions_are_purged_running_ones_stay() {
    let second = Some(Duration::from_secs(1));
    let retention = Retention { events: second, actions: second, interval: Duration::from_millis(200) };
    let (region, _agents) = region_with_cluster(|c| c.retention = retention, 2, 0).await;
    let admin = &region.admin;
    let all = ListQuery { limit: Some(1000), ..Default::default() };
    let events = admin.list_events(&all, &EventFilter::default()).await.expect("events").events;
    assert!(!events.is_empty(), "the cluster's creation left events");
    let created = admin.list_actions(&all, &ActionFilter { action: Some("CLUSTER_CREATE".into()), ..Default::default() }).await;
    let created = created.expect("actions").actions[0].id;

    // A scale-in waiting out a 4 s grace period is RUNNING (and holds the cluster's lock) past the retention.
    attach(admin, "slow", "type: deletion\nversion: '1.0'\nproperties:\n  grace_period: 4\n").await;
    let running = admin.cluster_action("web", &ClusterActionRequest::ScaleIn(ScaleParams::default())).await.expect("scale in").action;
    wait_until("the finished create action is purged", || async { admin.action(&created.to_string()).await.is_err() }).await;
    let shown = admin.action(&running.to_string()).await.expect("a running action stays");
    assert_eq!(shown.status, "RUNNING");
    assert_eq!(finished(admin, running).await.0, "SUCCEEDED");
    wait_until("the scale-in is purged once it ended", || async { admin.action(&running.to_string()).await.is_err() }).await;
    wait_until("events older than the retention are gone", || async {
        let oldest_allowed = chrono::Utc::now() - chrono::Duration::seconds(2);
        admin.list_events(&all, &EventFilter::default()).await.expect("events").events.iter().all(|e| e.timestamp > oldest_allowed)
    })
    .await;
    let error = admin.action(&created.to_string()).await.unwrap_err();
    assert_eq!(error.status(), Some(404));
}
