//! Scenario tests of clusters through the real HTTP API of an in-process region with simulated
//! agents: create, scale, resize (Senlin's errors), locks (409), the action DAG, deletion and
//! zone placement policies, webhooks, health recovery of a host that goes DOWN, rolling updates,
//! cancellation, deletes that leave nothing behind, and a cluster that outgrows one default
//! subnet. On SQLite, and PostgreSQL when present.

use flotilla_api::{
    ClusterActionRequest, ClusterCreate, ClusterUpdate, ContainerFilter, ListQuery, NodeFilter, PolicyCreate, PolicyParams, PortFilters,
    ReceiverCreate, ResizeParams, ScaleParams,
};
use flotilla_client::{Client, ClientError, Waited};
use flotilla_core::policy::PolicySpec;
use flotilla_core::profile::ContainerProperties;
use flotilla_core::resize::AdjustmentType;
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_until, workload_profile as profile};
use std::time::Duration;

fn cluster(name: &str, profile: &str, desired: i64, min: i64, max: i64) -> ClusterCreate {
    ClusterCreate {
        name: name.into(),
        profile: profile.into(),
        desired_capacity: desired,
        min_size: min,
        max_size: max,
        timeout: Some(60),
        config: Default::default(),
        metadata: Default::default(),
    }
}

fn policy(name: &str, yaml: &str) -> PolicyCreate {
    let spec: PolicySpec = serde_saphyr::from_str(yaml).expect("policy YAML");
    PolicyCreate { name: name.into(), spec, metadata: Default::default() }
}

/// Waits for action `id`; answers its final status and reason.
async fn finished(client: &Client, id: impl ToString) -> (String, String) {
    match client.wait_action(&id.to_string(), Duration::from_millis(100), Duration::from_secs(60), |_| {}).await.expect("action") {
        Waited::Ended(a) => (a.status, a.status_reason),
        Waited::TimedOut(a) => panic!("action {} still {} after 60 s: {}", a.name, a.status, a.status_reason),
    }
}

async fn act(client: &Client, cluster: &str, request: ClusterActionRequest) -> (String, String) {
    let accepted = client.cluster_action(cluster, &request).await.expect("action accepted");
    finished(client, accepted.action).await
}

/// The cluster's members' names and statuses, by index.
async fn members(client: &Client, cluster: &str) -> Vec<(String, String)> {
    let filter = NodeFilter { cluster: Some(cluster.into()), status: None };
    let mut nodes = client.all_nodes(&filter).await.expect("nodes");
    nodes.sort_by_key(|n| n.index);
    nodes.into_iter().map(|n| (n.name, n.status)).collect()
}

async fn containers(client: &Client) -> Vec<(String, String)> {
    let list = client.list_containers(&ListQuery::default(), &ContainerFilter::default()).await.expect("containers");
    list.containers.into_iter().map(|c| (c.name, c.status)).collect()
}

fn error(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let e = result.expect_err("must fail");
    (e.status().expect("an HTTP answer"), e.to_string())
}

async fn lifecycle(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let _agents = [
        region.sim_agent(SimHost::new("h1").zone("az1")).await,
        region.sim_agent(SimHost::new("h2").zone("az2")).await,
        region.sim_agent(SimHost::new("h3").zone("az1")).await,
    ];
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");

    // Create: 202 with the action to follow; 3 ACTIVE members, each with a RUNNING container.
    let created = admin.create_cluster(&cluster("web", "web", 3, 1, 6)).await.expect("create");
    let action = created.action.expect("Location names the action");
    assert_eq!(finished(admin, &action).await.0, "SUCCEEDED");
    let shown = admin.cluster("web").await.expect("show");
    assert_eq!((shown.status.as_str(), shown.nodes.len(), shown.desired_capacity), ("ACTIVE", 3, 3), "{}", shown.status_reason);
    assert_eq!(
        members(admin, "web").await.iter().map(|(n, s)| format!("{n}:{s}")).collect::<Vec<_>>(),
        ["web-1:ACTIVE", "web-2:ACTIVE", "web-3:ACTIVE"]
    );
    assert!(containers(admin).await.iter().all(|(_, s)| s == "RUNNING"));

    // A profile in use cannot go.
    let (status, message) = error(admin.delete_profile("web").await);
    assert_eq!(status, 409);
    assert!(message.contains("used by cluster web"), "{message}");

    // The DAG: the cluster action depends on its three NODE_CREATEs, each depended on by it.
    let parent = admin.action(&action).await.expect("action");
    assert_eq!(parent.depends_on.len(), 3);
    let child = admin.action(&parent.depends_on[0].to_string()).await.expect("child");
    assert_eq!((child.action.as_str(), child.depended_by.clone()), ("NODE_CREATE", vec![parent.id]));

    // Senlin's resize checks, with its messages; nothing is started.
    let too_big = ResizeParams {
        adjustment_type: Some(AdjustmentType::ExactCapacity.to_string()),
        number: Some(10.0),
        strict: true,
        ..Default::default()
    };
    let (status, message) = error(admin.cluster_action("web", &ClusterActionRequest::Resize(too_big)).await);
    assert_eq!(status, 400);
    assert!(message.contains("The target capacity (10) is greater than the cluster's max_size (6)."), "{message}");
    let (status, message) = error(admin.cluster_action("web", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(0) })).await);
    assert_eq!(status, 400);
    assert!(message.contains("scale_out.count"), "{message}");

    // A second action while the first holds the cluster's lock: 409 naming the holder.
    let first = admin.cluster_action("web", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(2) })).await.expect("scale out");
    let (status, message) = error(admin.cluster_action("web", &ClusterActionRequest::ScaleIn(ScaleParams { count: Some(1) })).await);
    assert_eq!(status, 409);
    assert!(message.contains("locked by action") && message.contains("CLUSTER_SCALE_OUT"), "{message}");
    assert_eq!(finished(admin, first.action).await.0, "SUCCEEDED");
    assert_eq!(members(admin, "web").await.len(), 5);

    // Deletion policy OLDEST_FIRST: scaling in by 3 removes web-1..3.
    admin
        .create_policy(&policy("oldest", "type: deletion\nversion: '1.0'\nproperties:\n  criteria: OLDEST_FIRST\n"))
        .await
        .expect("policy");
    let attach = PolicyParams { policy: "oldest".into(), enabled: None };
    assert_eq!(act(admin, "web", ClusterActionRequest::PolicyAttach(attach)).await.0, "SUCCEEDED");
    assert_eq!(admin.cluster("web").await.expect("show").policies[0].type_name, "deletion");
    assert_eq!(act(admin, "web", ClusterActionRequest::ScaleIn(ScaleParams { count: Some(3) })).await.0, "SUCCEEDED");
    let left: Vec<String> = members(admin, "web").await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(left, ["web-4", "web-5"]);
    assert_eq!(admin.cluster("web").await.expect("show").desired_capacity, 2);
    assert_eq!(containers(admin).await.len(), 2, "the victims' containers are gone");

    // Resize to an exact capacity.
    let exact = ResizeParams {
        adjustment_type: Some(AdjustmentType::ExactCapacity.to_string()),
        number: Some(4.0),
        strict: true,
        ..Default::default()
    };
    assert_eq!(act(admin, "web", ClusterActionRequest::Resize(exact)).await.0, "SUCCEEDED");
    assert_eq!(members(admin, "web").await.len(), 4);

    // A webhook scales out without a token; the body overrides the stored count; deleted → 404.
    let receiver = ReceiverCreate {
        name: "grow".into(),
        type_name: "webhook".into(),
        cluster: "web".into(),
        action: "scale_out".into(),
        params: serde_json::Map::from_iter([("count".to_owned(), serde_json::json!(1))]),
        overridable: vec!["count".into()],
        metadata: Default::default(),
    };
    let url = admin.create_receiver(&receiver).await.expect("receiver").url.expect("the trigger URL is shown once");
    assert!(admin.receiver("grow").await.expect("show").url.is_none(), "the secret is never shown again");
    let anonymous = region.anonymous();
    let fired =
        anonymous.trigger_receiver(&url, &serde_json::Map::from_iter([("count".to_owned(), serde_json::json!(2))])).await.expect("trigger");
    assert_eq!(finished(admin, fired.action).await.0, "SUCCEEDED");
    assert_eq!(members(admin, "web").await.len(), 6);
    // The body sets only what the receiver lists as overridable: none by default.
    let fixed = ReceiverCreate { name: "fixed".into(), overridable: vec![], ..receiver.clone() };
    let fixed_url = admin.create_receiver(&fixed).await.expect("receiver").url.expect("URL");
    let count = serde_json::Map::from_iter([("count".to_owned(), serde_json::json!(50))]);
    let (code, message) = error(anonymous.trigger_receiver(&fixed_url, &count).await);
    assert!(code == 400 && message.contains("body.count") && message.contains("none"), "{code} {message}");
    let min_size = serde_json::Map::from_iter([("min_size".to_owned(), serde_json::json!(0))]);
    let (code, message) = error(anonymous.trigger_receiver(&url, &min_size).await);
    assert!(code == 400 && message.contains("body.min_size") && message.contains("count"), "{code} {message}");
    assert_eq!(members(admin, "web").await.len(), 6, "a refused trigger runs nothing");
    let unknown = ReceiverCreate { name: "odd".into(), overridable: vec!["count".into(), "colour".into()], ..receiver.clone() };
    let (code, message) = error(admin.create_receiver(&unknown).await);
    assert!(code == 400 && message.contains("overridable[1]") && message.contains("colour"), "{code} {message}");
    let twice = ReceiverCreate { name: "odd".into(), overridable: vec!["count".into(), "count".into()], ..receiver.clone() };
    let (code, message) = error(admin.create_receiver(&twice).await);
    assert!(code == 400 && message.contains("overridable[1]") && message.contains("twice"), "{code} {message}");
    admin.delete_receiver("fixed").await.expect("revoke");
    admin.delete_receiver("grow").await.expect("revoke");
    assert_eq!(error(anonymous.trigger_receiver(&url, &Default::default()).await).0, 404);

    // A rolling update to a new profile: every member ends on it.
    admin.create_profile(&profile("web-v2", "v2")).await.expect("profile v2");
    let update = ClusterUpdate { profile: Some("web-v2".into()), ..Default::default() };
    let updated = admin.update_cluster("web", &update).await.expect("update");
    let action = match updated {
        flotilla_client::Updated::Started(a) => a.action,
        other => panic!("a profile change is an action: {other:?}"),
    };
    assert_eq!(finished(admin, action).await.0, "SUCCEEDED");
    let v2 = admin.profile("web-v2").await.expect("v2").id;
    let filter = NodeFilter { cluster: Some("web".into()), status: None };
    assert!(admin.all_nodes(&filter).await.expect("nodes").iter().all(|n| n.profile_id == v2));
    let list = admin.list_containers(&ListQuery::default(), &ContainerFilter::default()).await.expect("containers");
    assert!(list.containers.iter().all(|c| c.spec.environment["MODE"] == "v2" && c.status == "RUNNING"));

    // Delete: no node, no container, no cluster left.
    let deleted = admin.delete_cluster("web", false).await.expect("delete");
    let (status, reason) = finished(admin, deleted.action).await;
    assert_eq!(status, "SUCCEEDED", "{reason}");
    assert_eq!(error(admin.cluster("web").await).0, 404);
    assert!(containers(admin).await.is_empty());
    let all = admin.all_nodes(&NodeFilter::default()).await.expect("nodes");
    assert!(all.is_empty(), "{all:?}");
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_lifecycle_on_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_lifecycle_on_postgres() {
    lifecycle(Backend::Postgres).await;
}

/// A cluster larger than one default subnet (the region pool 10.90.0.0/26 carved in /28s: 13
/// addresses each) grows the project's default network: every node ACTIVE, each on its own
/// address inside one of the network's subnets, which the network lists; nothing is left after
/// the delete.
async fn a_cluster_outgrows_one_default_subnet(backend: Backend) {
    let pool = flotilla_core::network::RegionPool::parse("10.90.0.0/26", 28).expect("a pool");
    let Some(region) = TestRegion::start_with(backend, |c| c.network_pool = pool).await else { return };
    let _agents = [region.sim_agent(SimHost::new("h1")).await, region.sim_agent(SimHost::new("h2")).await];
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");
    let created = admin.create_cluster(&cluster("big", "web", 30, 0, 40)).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("an action")).await.0, "SUCCEEDED");
    let statuses = members(admin, "big").await;
    assert_eq!(statuses.len(), 30);
    assert!(statuses.iter().all(|(_, s)| s == "ACTIVE"), "{statuses:?}");

    let network = admin.network("default").await.expect("the default network");
    let cidrs: Vec<&str> = network.subnets.iter().map(|s| s.cidr.as_str()).collect();
    assert_eq!(cidrs, ["10.90.0.0/28", "10.90.0.16/28", "10.90.0.32/28"]);
    let on_default = PortFilters { network: Some("default".into()), container: None };
    let ports = admin.all_ports(&on_default).await.expect("ports");
    let addresses: std::collections::BTreeSet<&str> = ports.iter().map(|p| p.ip_address.as_str()).collect();
    assert_eq!((ports.len(), addresses.len()), (30, 30), "one port per node, no address twice");
    for p in &ports {
        let subnet = network.subnets.iter().find(|s| s.id == p.subnet_id).expect("the port's subnet is the network's");
        let cidr = flotilla_core::ipam::Cidr::parse("cidr", &subnet.cidr).expect("a CIDR");
        assert!(cidr.contains(p.ip_address.parse().expect("an address")), "{} outside {}", p.ip_address, subnet.cidr);
    }

    let deleted = admin.delete_cluster("big", false).await.expect("delete");
    assert_eq!(finished(admin, deleted.action).await.0, "SUCCEEDED");
    assert!(containers(admin).await.is_empty());
    assert!(admin.all_nodes(&NodeFilter::default()).await.expect("nodes").is_empty());
    assert!(admin.all_ports(&on_default).await.expect("ports").is_empty());
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_outgrows_one_default_subnet_on_sqlite() {
    a_cluster_outgrows_one_default_subnet(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_outgrows_one_default_subnet_on_postgres() {
    a_cluster_outgrows_one_default_subnet(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_policy_recreates_the_members_of_a_host_that_went_down() {
    let region = TestRegion::start_with(Backend::Sqlite, |c| c.grace_period = Duration::from_secs(2)).await.expect("sqlite");
    let doomed = region.sim_agent(SimHost::new("doomed")).await;
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");
    let created = admin.create_cluster(&cluster("web", "web", 2, 1, 4)).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("action")).await.0, "SUCCEEDED");
    let spec = "type: health\nversion: '1.0'\nproperties:\n  detection:\n    type: container_status\n    interval: 1\n  recovery:\n    action: RECREATE\n";
    admin.create_policy(&policy("health", spec)).await.expect("policy");
    let attach = PolicyParams { policy: "health".into(), enabled: None };
    assert_eq!(act(admin, "web", ClusterActionRequest::PolicyAttach(attach)).await.0, "SUCCEEDED");

    // A second host joins; the first stops heartbeating: its members come back on the second.
    let _spare = region.sim_agent(SimHost::new("spare")).await;
    doomed.shutdown().await;
    let filter = NodeFilter { cluster: Some("web".into()), status: None };
    wait_until("the doomed host's members run on the spare host", || async {
        let nodes = admin.all_nodes(&filter).await.expect("nodes");
        nodes.len() == 2 && nodes.iter().all(|n| n.status == "ACTIVE" && n.host_name.as_deref() == Some("spare"))
    })
    .await;
    let recoveries = admin
        .list_actions(&ListQuery::default(), &flotilla_api::ActionFilter { action: Some("NODE_RECOVER".into()), ..Default::default() })
        .await
        .expect("actions");
    assert_eq!(
        recoveries.actions.len(),
        2,
        "one recovery per node, never two: {:?}",
        recoveries.actions.iter().map(|a| &a.name).collect::<Vec<_>>()
    );
    assert!(recoveries.actions.iter().all(|a| a.cause == "Health Policy" && a.status == "SUCCEEDED"));
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_operations_placement_and_adoption() {
    use flotilla_api::{NodeActionRequest, NodeAdopt, NodeCreate, NodesParams, OperationParams, RecoverParams};
    use flotilla_core::action::{NodeOperation, RecoverAction};
    let region = TestRegion::sqlite().await;
    let _agents = [
        region.sim_agent(SimHost::new("a1").zone("az1")).await,
        region.sim_agent(SimHost::new("a2").zone("az1")).await,
        region.sim_agent(SimHost::new("b1").zone("az2")).await,
    ];
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");

    // Zone placement weights 3:1 over az1 and az2: of 4 nodes, 3 land in az1.
    admin
        .create_policy(&policy(
            "zones",
            "type: placement.zone\nversion: '1.0'\nproperties:\n  zones:\n    - {name: az1, weight: 300}\n    - {name: az2, weight: 100}\n",
        ))
        .await
        .expect("policy");
    let created = admin.create_cluster(&cluster("web", "web", 0, 0, 10)).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("action")).await.0, "SUCCEEDED");
    assert_eq!(
        act(admin, "web", ClusterActionRequest::PolicyAttach(PolicyParams { policy: "zones".into(), enabled: None })).await.0,
        "SUCCEEDED"
    );
    assert_eq!(act(admin, "web", ClusterActionRequest::ScaleOut(ScaleParams { count: Some(4) })).await.0, "SUCCEEDED");
    let hosts = admin.cluster_attrs("web", "host_name").await.expect("attrs");
    let in_az2 = hosts.cluster_attributes.iter().filter(|a| a.value == serde_json::json!("b1")).count();
    assert_eq!((hosts.cluster_attributes.len(), in_az2), (4, 1), "{hosts:?}");
    assert_eq!(error(admin.cluster_attrs("web", "nonsense").await).0, 400);

    // An operation on filtered members: stop them all, their containers stop; start again.
    let stop = OperationParams { operation: NodeOperation::Stop, filters: Default::default() };
    assert_eq!(act(admin, "web", ClusterActionRequest::Operation(stop)).await.0, "SUCCEEDED");
    assert!(containers(admin).await.iter().all(|(_, s)| s == "STOPPED"), "{:?}", containers(admin).await);
    // A check finds the stopped members healthy (they are meant to be stopped).
    assert_eq!(act(admin, "web", ClusterActionRequest::Check(Default::default())).await.0, "SUCCEEDED");
    let start = OperationParams { operation: NodeOperation::Start, filters: Default::default() };
    assert_eq!(act(admin, "web", ClusterActionRequest::Operation(start)).await.0, "SUCCEEDED");
    assert!(containers(admin).await.iter().all(|(_, s)| s == "RUNNING"));

    // Nodes by themselves: an orphan is created, recovered (REBUILD), then joins the cluster.
    let body =
        NodeCreate { name: "loner".into(), profile: "web".into(), cluster: None, role: "spare".into(), metadata: Default::default() };
    let made = admin.create_node(&body).await.expect("node");
    assert_eq!(finished(admin, made.action.expect("action")).await.0, "SUCCEEDED");
    let loner = admin.node("loner").await.expect("node");
    assert_eq!((loner.status.as_str(), loner.cluster_id, loner.role.as_str()), ("ACTIVE", None, "spare"));
    let recover = NodeActionRequest::Recover(RecoverParams { operation: Some(RecoverAction::Rebuild) });
    let accepted = admin.node_action("loner", &recover).await.expect("recover");
    assert_eq!(finished(admin, accepted.action).await.0, "SUCCEEDED");
    let add = NodesParams { nodes: vec!["loner".into()], destroy: false };
    assert_eq!(act(admin, "web", ClusterActionRequest::AddNodes(add)).await.0, "SUCCEEDED");
    let shown = admin.cluster("web").await.expect("show");
    assert_eq!((shown.nodes.len(), shown.desired_capacity), (5, 5));
    // Removed without destroying: an orphan again, its container still running.
    let del = NodesParams { nodes: vec!["loner".into()], destroy: false };
    assert_eq!(act(admin, "web", ClusterActionRequest::DelNodes(del)).await.0, "SUCCEEDED");
    assert_eq!(admin.node("loner").await.expect("node").cluster_id, None);
    let deleted = admin.delete_node("loner").await.expect("delete node");
    assert_eq!(finished(admin, deleted.action).await.0, "SUCCEEDED");
    assert!(!containers(admin).await.iter().any(|(n, _)| n == "loner"));

    // Adopt a standalone container as a node.
    let c = flotilla_api::ContainerCreate {
        name: "stray".into(),
        spec: ContainerProperties { image: "x/y:1".into(), ..Default::default() },
        run: true,
        metadata: Default::default(),
    };
    admin.create_container(&c).await.expect("container");
    flotilla_testkit::wait_for_container(admin, "stray", "RUNNING").await;
    let adopted = admin
        .adopt_node(&NodeAdopt { container: "stray".into(), name: None, role: String::new(), metadata: Default::default() })
        .await
        .expect("adopt");
    assert_eq!((adopted.name.as_str(), adopted.status.as_str()), ("stray", "ACTIVE"));
    assert_eq!(
        error(
            admin
                .adopt_node(&NodeAdopt {
                    container: "stray".into(),
                    name: Some("again".into()),
                    role: String::new(),
                    metadata: Default::default()
                })
                .await
        )
        .0,
        409
    );

    // The lock is free again.
    assert_eq!(act(admin, "web", ClusterActionRequest::Check(Default::default())).await.0, "SUCCEEDED");
    let delete = admin.delete_cluster("web", false).await.expect("delete");
    assert_eq!(finished(admin, delete.action).await.0, "SUCCEEDED");
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_scale_out_ends_cancelled_and_frees_the_cluster() {
    let region = TestRegion::start_with(Backend::Sqlite, |c| c.grace_period = Duration::from_secs(120)).await.expect("sqlite");
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");
    let created = admin.create_cluster(&cluster("web", "web", 0, 0, 10)).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("action")).await.0, "SUCCEEDED");
    // A host that stopped without being declared DOWN yet: its containers never start.
    region.sim_agent(SimHost::new("silent")).await.shutdown().await;
    let accepted = admin.cluster_action("web", &ClusterActionRequest::ScaleOut(ScaleParams { count: Some(2) })).await.expect("scale out");
    let id = accepted.action.to_string();
    wait_until("the scale-out waits for its nodes", || async { admin.action(&id).await.is_ok_and(|a| a.status == "WAITING") }).await;
    let asked = admin.cancel_action(&id).await.expect("cancel");
    assert!(asked.cancel_requested);
    assert_eq!(finished(admin, &id).await.0, "CANCELLED");
    let parent = admin.action(&id).await.expect("action");
    for child in &parent.depends_on {
        assert_eq!(admin.action(&child.to_string()).await.expect("child").status, "CANCELLED", "its node actions are cancelled too");
    }
    assert_eq!(error(admin.cancel_action(&id).await).0, 409, "an ended action cannot be cancelled");
    // The cluster's lock is free again.
    assert_eq!(act(admin, "web", ClusterActionRequest::Check(Default::default())).await.0, "SUCCEEDED");
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_affinity_probe_health_region_plans_and_events() {
    use flotilla_api::EventFilter;
    let region = TestRegion::sqlite().await;
    let mut runtimes = Vec::new();
    let mut _agents = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let (agent, runtime) = region.sim_agent_with_runtime(SimHost::new(name)).await;
        _agents.push(agent);
        runtimes.push(runtime);
    }
    let admin = &region.admin;
    let mut probed = profile("web", "v1");
    probed.spec.properties.healthcheck =
        Some(serde_json::from_str(r#"{"http": {"port": 8080, "path": "/healthz"}, "interval": 1, "retries": 1}"#).unwrap());
    admin.create_profile(&probed).await.expect("profile");
    for (name, yaml) in [
        ("spread", "type: affinity\nversion: '1.0'\nproperties:\n  mode: anti-affinity\n  soft: false\n  scope: host\n"),
        (
            "step",
            "type: scaling\nversion: '1.0'\nproperties:\n  event: CLUSTER_SCALE_OUT\n  adjustment:\n    type: CHANGE_IN_CAPACITY\n    number: 2\n    cooldown: 60\n",
        ),
        (
            "probes",
            "type: health\nversion: '1.0'\nproperties:\n  detection:\n    type: probe\n    interval: 1\n  recovery:\n    action: REBUILD\n",
        ),
        (
            "regions",
            "type: placement.region\nversion: '1.0'\nproperties:\n  regions:\n    - {name: test, weight: 100}\n    - {name: far, weight: 100, cap: 1}\n",
        ),
    ] {
        admin.create_policy(&policy(name, yaml)).await.expect("policy");
    }
    let created = admin.create_cluster(&cluster("web", "web", 0, 0, 10)).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("action")).await.0, "SUCCEEDED");
    for name in ["spread", "step", "regions"] {
        assert_eq!(
            act(admin, "web", ClusterActionRequest::PolicyAttach(PolicyParams { policy: name.into(), enabled: None })).await.0,
            "SUCCEEDED"
        );
    }
    // The scaling policy's adjustment (2) when no count is given; then its cooldown refuses another.
    assert_eq!(act(admin, "web", ClusterActionRequest::ScaleOut(ScaleParams::default())).await.0, "SUCCEEDED");
    assert_eq!(members(admin, "web").await.len(), 2);
    let (status, message) = error(admin.cluster_action("web", &ClusterActionRequest::ScaleOut(ScaleParams::default())).await);
    assert_eq!(status, 409);
    assert!(message.contains("cooldown"), "{message}");
    // Hard anti-affinity: every member on its own host.
    let hosts = admin.cluster_attrs("web", "host_name").await.expect("attrs");
    let distinct: std::collections::BTreeSet<String> = hosts.cluster_attributes.iter().map(|a| a.value.to_string()).collect();
    assert_eq!(distinct.len(), 2, "{hosts:?}");
    // The region plan is recorded on the nodes, over the regions that are up: `far` is no region
    // this standalone region knows, so both are here.
    let regions = admin.cluster_attrs("web", "region").await.expect("attrs");
    let planned: Vec<String> = regions.cluster_attributes.iter().map(|a| a.value.as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(planned, ["test", "test"]);

    // A member whose probes fail is rebuilt by the health policy (detection: probe).
    assert_eq!(
        act(admin, "web", ClusterActionRequest::PolicyAttach(PolicyParams { policy: "probes".into(), enabled: None })).await.0,
        "SUCCEEDED"
    );
    let filter = NodeFilter { cluster: Some("web".into()), status: None };
    let sick = admin.all_nodes(&filter).await.expect("nodes").remove(0);
    let container = sick.physical_id.expect("a container");
    runtimes.iter().for_each(|r| r.set_probe_failure(container, Some("HTTP 500")));
    wait_until("the unhealthy member is rebuilt", || async {
        let list = admin
            .list_actions(&ListQuery::default(), &flotilla_api::ActionFilter { action: Some("NODE_RECOVER".into()), ..Default::default() })
            .await;
        list.is_ok_and(|l| l.actions.iter().any(|a| a.target == sick.id && a.status == "SUCCEEDED" && a.cause == "Health Policy"))
    })
    .await;
    runtimes.iter().for_each(|r| r.set_probe_failure(container, None));

    // Every action left its START and END events on its cluster or node.
    let events = admin
        .list_events(
            &ListQuery { limit: Some(500), ..Default::default() },
            &EventFilter { object_type: Some("cluster".into()), ..Default::default() },
        )
        .await
        .expect("events");
    let seen: Vec<String> = events.events.iter().map(|e| format!("{} {}", e.action, e.status)).collect();
    for wanted in
        ["CLUSTER_CREATE START", "CLUSTER_CREATE END", "CLUSTER_SCALE_OUT START", "CLUSTER_SCALE_OUT END", "CLUSTER_ATTACH_POLICY END"]
    {
        assert!(seen.iter().any(|s| s == wanted), "{wanted} in {seen:?}");
    }
    let node_events = admin
        .list_events(
            &ListQuery::default(),
            &EventFilter { object_type: Some("node".into()), object: Some(sick.id.to_string()), ..Default::default() },
        )
        .await
        .expect("events");
    assert!(node_events.events.iter().any(|e| e.action == "NODE_RECOVER" && e.status == "END"), "{:?}", node_events.events);
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_past_its_timeout_fails_and_leaves_no_container() {
    let region = TestRegion::start_with(Backend::Sqlite, |c| c.grace_period = Duration::from_secs(120)).await.expect("sqlite");
    let admin = &region.admin;
    admin.create_profile(&profile("web", "v1")).await.expect("profile");
    let body = ClusterCreate { timeout: Some(2), ..cluster("web", "web", 0, 0, 10) };
    let created = admin.create_cluster(&body).await.expect("create");
    assert_eq!(finished(admin, created.action.expect("action")).await.0, "SUCCEEDED");
    // Containers placed on a host that went silent never start: the scale-out runs out of time.
    region.sim_agent(SimHost::new("silent")).await.shutdown().await;
    let (status, reason) = act(admin, "web", ClusterActionRequest::ScaleOut(ScaleParams { count: Some(1) })).await;
    assert_eq!(status, "FAILED");
    assert!(reason.contains("timed out after 2 s"), "{reason}");
    let shown = admin.cluster("web").await.expect("show");
    assert_eq!(shown.status, "WARNING", "fewer active members than desired: {}", shown.status_reason);
    // The failed node's container is being removed, never left running for nobody.
    let list = admin.list_containers(&ListQuery::default(), &ContainerFilter::default()).await.expect("containers");
    assert!(
        list.containers.iter().all(|c| c.desired_state == "deleted"),
        "{:?}",
        list.containers.iter().map(|c| (&c.name, &c.desired_state)).collect::<Vec<_>>()
    );
    region.stop().await;
}
