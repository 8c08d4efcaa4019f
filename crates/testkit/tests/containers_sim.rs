//! Scenario tests of hosts and containers through the real HTTP API of an in-process region with
//! simulated agents: scheduling rules, status guards (409), quotas, drains (and their events), host
//! deletion, DOWN hosts.

use flotilla_api::ProfileCreate;
use flotilla_api::{
    ContainerCreate, ContainerFilter, ContainerUpdate, DeleteQuery, EventFilter, ExecRequest, HostDrain, KillQuery, ListQuery, QuotaLimits,
    StopQuery,
};
use flotilla_client::{Client, ClientError};
use flotilla_core::Role;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, PortSpec, ProfileSpec, RestartPolicy};
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_for_container, wait_until};
use std::time::Duration;

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("the call must fail");
    (error.status().expect("an HTTP answer"), error.to_string())
}

fn spec() -> ContainerProperties {
    ContainerProperties { image: "flotilla/workload:latest".into(), cpu: Some(0.5), memory: Some(128), ..Default::default() }
}

fn profile(name: &str, properties: ContainerProperties) -> ProfileCreate {
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    ProfileCreate { name: name.into(), spec, metadata: Default::default() }
}

fn create(name: &str, spec: ContainerProperties) -> ContainerCreate {
    ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() }
}

async fn three_hosts(region: &TestRegion) -> Vec<flotilla_agent::Agent> {
    vec![
        region.sim_agent(SimHost::new("host-a").zone("az1").pool("web")).await,
        region.sim_agent(SimHost::new("host-b").zone("az2").pool("web")).await,
        region.sim_agent(SimHost::new("host-c").zone("az1").pool("db").label("disk", "ssd")).await,
    ]
}

async fn placed_on(client: &Client, name: &str, spec: ContainerProperties) -> String {
    let created = client.create_container(&create(name, spec)).await.expect("create");
    let c = wait_for_container(client, &created.id.to_string(), "RUNNING").await;
    c.host.expect("a running container has a host")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_follows_host_node_pool_constraints_and_ports() {
    let region = TestRegion::sqlite().await;
    let agents = three_hosts(&region).await;
    let admin = &region.admin;

    assert_eq!(placed_on(admin, "pinned", ContainerProperties { host_node: Some("host-c".into()), ..spec() }).await, "host-c");
    assert_eq!(placed_on(admin, "pooled", ContainerProperties { host_cluster: Some("db".into()), ..spec() }).await, "host-c");
    assert_eq!(placed_on(admin, "ssd", ContainerProperties { constraints: vec!["label.disk == ssd".into()], ..spec() }).await, "host-c");
    assert_eq!(placed_on(admin, "az2", ContainerProperties { constraints: vec!["zone == az2".into()], ..spec() }).await, "host-b");

    // host_node outside host_cluster, and an unknown host_node, are input errors naming the field.
    let wrong = ContainerProperties { host_node: Some("host-a".into()), host_cluster: Some("db".into()), ..spec() };
    let (code, message) = status(admin.create_container(&create("wrong", wrong)).await);
    assert_eq!(code, 400);
    assert!(message.contains("spec.host_node") && message.contains("db"), "{message}");
    let (code, message) =
        status(admin.create_container(&create("nowhere", ContainerProperties { host_node: Some("host-z".into()), ..spec() })).await);
    assert_eq!((code, message.contains("spec.host_node")), (400, true), "{message}");

    // Spread: with no rules, the next containers go to the emptiest hosts, not all to one.
    let mut hosts = std::collections::BTreeSet::new();
    for i in 0..3 {
        hosts.insert(placed_on(admin, &format!("spread-{i}"), spec()).await);
    }
    assert!(hosts.len() >= 2, "three unconstrained containers landed on {hosts:?}");

    // A host port is taken once per host: the second asker on the only eligible host gets no fit.
    let ported = ContainerProperties {
        ports: vec![PortSpec { container: 8080, protocol: "tcp".into(), host: Some(18080) }],
        host_cluster: Some("web".into()),
        constraints: vec!["zone == az1".into()],
        ..spec()
    };
    assert_eq!(placed_on(admin, "port-1", ported.clone()).await, "host-a");
    let second = admin.create_container(&create("port-2", ported)).await.expect("accepted, then ERROR");
    assert_eq!(second.status, "ERROR");
    assert!(
        second.status_reason.contains("no host fits: 3 hosts") && second.status_reason.contains("host port taken"),
        "{}",
        second.status_reason
    );
    let shown = admin.container("port-1").await.expect("show");
    assert_eq!(shown.ports.len(), 1);
    assert!(shown.ports[0].ends_with(":18080->8080/tcp"), "{:?}", shown.ports);

    // Too big for any host: ERROR with the per-filter explanation.
    let huge = admin.create_container(&create("huge", ContainerProperties { memory: Some(1 << 24), ..spec() })).await.expect("accepted");
    assert_eq!(huge.status, "ERROR");
    assert!(huge.status_reason.contains("3 insufficient memory"), "{}", huge.status_reason);
    // A container that was never placed is deleted at once.
    assert!(admin.delete_container("huge", &DeleteQuery::default()).await.expect("delete").is_none());

    for agent in agents {
        agent.shutdown().await;
    }
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_not_valid_in_the_status_are_409_naming_it() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("solo")).await;
    let client = region.add_user("mia", "team", Role::Member).await;

    let c = client.create_container(&create("web", spec())).await.expect("run");
    assert_eq!(c.status, "CREATING");
    wait_for_container(&client, "web", "RUNNING").await;
    let (code, message) = status(client.start_container("web").await);
    assert_eq!(code, 409);
    assert!(message.contains("cannot start a container in status RUNNING"), "{message}");

    client.pause_container("web").await.expect("pause");
    wait_for_container(&client, "web", "PAUSED").await;
    let (code, message) = status(client.pause_container("web").await);
    assert_eq!((code, message.contains("status PAUSED")), (409, true), "{message}");
    let (code, _) = status(client.exec_container("web", &ExecRequest { command: vec!["true".into()] }).await);
    assert_eq!(code, 409);
    client.unpause_container("web").await.expect("unpause");
    wait_for_container(&client, "web", "RUNNING").await;

    let out = client.exec_container("web", &ExecRequest { command: vec!["echo".into(), "hi".into()] }).await.expect("exec");
    assert_eq!(out.exit_code, 0);

    // Update: name, CPU and memory (the host's allocation follows); bad values name the field.
    let update = ContainerUpdate { cpu: Some(1.5), memory: Some(256), ..Default::default() };
    let updated = client.update_container("web", &update).await.expect("update");
    assert_eq!((updated.spec.cpu, updated.spec.memory), (Some(1.5), Some(256)));
    let host = region.admin.host("solo").await.expect("host");
    assert_eq!((host.allocated.cpus, host.allocated.memory_mib), (1.5, 256));
    let (code, message) = status(client.update_container("web", &ContainerUpdate { memory: Some(1), ..Default::default() }).await);
    assert_eq!((code, message.contains("memory")), (400, true), "{message}");

    client.stop_container("web", &StopQuery { timeout: Some(1) }).await.expect("stop");
    wait_for_container(&client, "web", "STOPPED").await;
    let (code, message) = status(client.stop_container("web", &StopQuery::default()).await);
    assert_eq!((code, message.contains("status STOPPED")), (409, true), "{message}");
    let (code, _) = status(client.kill_container("web", &KillQuery::default()).await);
    assert_eq!(code, 409);
    client.start_container("web").await.expect("start");
    wait_for_container(&client, "web", "RUNNING").await;

    // Deleting a running container needs stop or force.
    let (code, message) = status(client.delete_container("web", &DeleteQuery::default()).await);
    assert_eq!(code, 409);
    assert!(message.contains("status RUNNING") && message.contains("stop=true"), "{message}");
    client.delete_container("web", &DeleteQuery { stop: Some(true), force: None }).await.expect("delete with stop");
    wait_until("the container is gone", || async { client.container("web").await.is_err_and(|e| e.status() == Some(404)) }).await;

    // A created-only container waits in CREATED until started.
    let created = client.create_container(&ContainerCreate { run: false, ..create("later", spec()) }).await.expect("create");
    assert_eq!(created.desired_state, "stopped");
    wait_for_container(&client, "later", "CREATED").await;
    client.start_container("later").await.expect("start");
    wait_for_container(&client, "later", "RUNNING").await;

    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileged_host_binds_and_host_network_are_for_admins() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("solo")).await;
    let member = region.add_user("max", "team", Role::Member).await;
    let cases = [
        (ContainerProperties { privileged: true, ..spec() }, "spec.privileged"),
        (ContainerProperties { binds: vec!["/etc:/host-etc:ro".into()], ..spec() }, "spec.binds"),
        (ContainerProperties { host_network: true, ..spec() }, "spec.host_network"),
    ];
    for (i, (spec, field)) in cases.into_iter().enumerate() {
        let (code, message) = status(member.create_container(&create(&format!("p{i}"), spec.clone())).await);
        assert_eq!(code, 403);
        assert!(message.contains(field), "{message}");
        region.admin.create_container(&create(&format!("p{i}"), spec)).await.expect("admins may");
    }
    let (code, message) = status(member.create_profile(&profile("p", ContainerProperties { privileged: true, ..spec() })).await);
    assert_eq!((code, message.contains("spec.properties.privileged")), (403, true), "{message}");
    let listed = member.list_containers(&ListQuery::default(), &ContainerFilter::default()).await.expect("list");
    assert!(listed.containers.is_empty(), "a refused create leaves nothing behind");
    let (code, message) = status(member.create_container(&create("bad", ContainerProperties { cpu: Some(0.0), ..spec() })).await);
    assert_eq!((code, message.contains("spec.cpu")), (400, true), "{message}");
    agent.shutdown().await;
    region.stop().await;
}

async fn concurrent_creates_respect_the_quota(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let agent = region.sim_agent(SimHost::new("big").cpus(64.0).memory_mib(1 << 20)).await;
    let client = region.add_user("quinn", "quota", Role::Member).await;
    let limits = QuotaLimits { containers: 10, cpu_millis: -1, memory_mib: -1, image_bytes: -1, networks: -1, ports: -1 };
    region.admin.set_quota("quota", &limits).await.expect("set quota");
    let (code, _) = status(client.set_quota("quota", &limits).await);
    assert_eq!(code, 403, "members cannot set quotas");

    let attempts = (0..20).map(|i| {
        let client = client.clone();
        async move { client.create_container(&create(&format!("c{i}"), spec())).await }
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 10, "exactly the quota succeeds");
    for refused in results.into_iter().filter_map(Result::err) {
        assert_eq!(refused.status(), Some(403));
        assert!(refused.to_string().contains("quota exceeded for containers: limit 10"), "{refused}");
    }
    let quota = client.quota("quota").await.expect("members read their quota");
    assert_eq!(quota.usage.containers, 10);
    assert_eq!(quota.usage.cpu_millis, 5000);
    let (code, message) = status(region.admin.delete_project("quota").await);
    assert_eq!(code, 409);
    assert!(message.contains("10 container(s)"), "a project is not deleted under its containers: {message}");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_is_atomic_on_sqlite() {
    concurrent_creates_respect_the_quota(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_is_atomic_on_postgres() {
    concurrent_creates_respect_the_quota(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_moves_containers_and_empty_hosts_can_be_deleted() {
    let region = TestRegion::sqlite().await;
    let a = region.sim_agent(SimHost::new("host-a")).await;
    let b = region.sim_agent(SimHost::new("host-b")).await;
    let admin = &region.admin;
    let first = placed_on(admin, "one", spec()).await;
    let other = if first == "host-a" { "host-b" } else { "host-a" };

    let (code, message) = status(admin.delete_host(&first).await);
    assert_eq!(code, 409);
    assert!(message.contains("holds 1 containers"), "{message}");

    let member = region.add_user("dan", "team", Role::Member).await;
    assert_eq!(status(member.drain_host(&first, &HostDrain { migrate: true }).await).0, 403);

    let drained = admin.drain_host(&first, &HostDrain { migrate: true }).await.expect("drain");
    assert_eq!(drained.body.state, "DRAINING");
    let action = drained.action.expect("Location names the HOST_DRAIN action");
    match admin.wait_action(&action, Duration::from_millis(100), Duration::from_secs(60), |_| {}).await.expect("action") {
        flotilla_client::Waited::Ended(a) => {
            assert_eq!((a.action.as_str(), a.status.as_str()), ("HOST_DRAIN", "SUCCEEDED"), "{}", a.status_reason)
        }
        flotilla_client::Waited::TimedOut(a) => panic!("HOST_DRAIN still {}", a.status),
    }
    wait_until("the container runs on the other host", || async {
        admin.container("one").await.is_ok_and(|c| c.status == "RUNNING" && c.host.as_deref() == Some(other))
    })
    .await;
    assert_eq!(admin.container("one").await.expect("show").generation, 2);
    assert_eq!(placed_on(admin, "two", spec()).await, other, "nothing new lands on a draining host");
    wait_until("the drained host is empty", || async { admin.host(&first).await.is_ok_and(|h| h.container_count == 0) }).await;
    admin.delete_host(&first).await.expect("an empty host can be deleted");
    assert_eq!(status(admin.host(&first).await).0, 404);

    admin.disable_host(other).await.expect("disable");
    let refused = admin.create_container(&create("three", spec())).await.expect("accepted");
    assert_eq!(refused.status, "ERROR");
    assert!(refused.status_reason.contains("1 DISABLED"), "{}", refused.status_reason);
    assert_eq!(admin.enable_host(other).await.expect("enable").state, "UP");

    // The event log tells it: the moved container (its project's), the hosts' switches (the region's).
    let about = |object: &str| EventFilter { object: Some(object.into()), ..EventFilter::default() };
    let moved = admin.list_events(&ListQuery::default(), &about("one")).await.expect("events").events;
    assert!(moved.iter().any(|e| e.action == "CONTAINER_MIGRATE" && e.reason.contains(&first)), "{moved:?}");
    let all = ListQuery { all_projects: Some(true), ..ListQuery::default() };
    let actions = |events: Vec<flotilla_api::Event>| events.into_iter().map(|e| e.action).collect::<Vec<_>>();
    assert_eq!(actions(admin.list_events(&all, &about(other)).await.expect("events").events), ["HOST_JOIN", "HOST_DISABLE", "HOST_ENABLE"]);
    // The drain is its action's START and END.
    assert_eq!(
        actions(admin.list_events(&all, &about(&first)).await.expect("events").events),
        ["HOST_JOIN", "HOST_DRAIN", "HOST_DRAIN", "HOST_DELETE"]
    );

    a.shutdown().await;
    b.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_host_goes_down_on_sqlite() {
    a_silent_host_goes_down_and_its_containers_unknown(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_host_goes_down_on_postgres() {
    a_silent_host_goes_down_and_its_containers_unknown(Backend::Postgres).await;
}

/// Stop a host's agent: DOWN within the grace period, containers UNKNOWN; it re-joins under its
/// name (the same host) and its containers converge again.
async fn a_silent_host_goes_down_and_its_containers_unknown(backend: Backend) {
    let grace = Duration::from_secs(2);
    let Some(region) = TestRegion::start_with(backend, |c| c.grace_period = grace).await else { return };
    let agent = region.sim_agent(SimHost::new("flaky")).await;
    let admin = &region.admin;
    placed_on(admin, "web", ContainerProperties { restart_policy: Some(RestartPolicy::Always), ..spec() }).await;
    placed_on(admin, "doomed", spec()).await;
    assert_eq!(admin.host("flaky").await.expect("host").state, "UP");

    agent.shutdown().await;
    let stopped = std::time::Instant::now();
    wait_until("the host is DOWN", || async { admin.host("flaky").await.is_ok_and(|h| h.state == "DOWN") }).await;
    assert!(stopped.elapsed() < grace * 2 + Duration::from_secs(1), "DOWN took {:?}", stopped.elapsed());
    let c = admin.container("web").await.expect("show");
    assert_eq!(c.status, "UNKNOWN");
    assert!(c.status_reason.contains("flaky is DOWN"), "{}", c.status_reason);
    // Forcing the delete of a container on a DOWN host forgets it at once.
    assert!(admin.delete_container("doomed", &DeleteQuery { stop: None, force: Some(true) }).await.expect("force delete").is_none());
    assert_eq!(status(admin.container("doomed").await).0, 404);

    // The host returns (a fresh simulated runtime: the container is gone, its restart policy recreates it).
    let host_id = admin.host("flaky").await.expect("host").id;
    let back = region.sim_agent(SimHost::new("flaky")).await;
    assert_eq!(admin.host("flaky").await.expect("host").id, host_id, "re-joining keeps the host's id");
    wait_until("the host is UP again", || async { admin.host("flaky").await.is_ok_and(|h| h.state == "UP") }).await;
    wait_for_container(admin, "web", "RUNNING").await;
    back.shutdown().await;
    region.stop().await;
}

/// Two servers on one database: a container placed through one reaches an agent long-polling the
/// other at once, not when its long-poll times out (60 s, longer than the test's wait).
async fn an_agent_hears_of_a_container_placed_by_another_server(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let other = TestRegion::start_with(backend, |c| c.database_url = region.database_url.clone()).await.expect("a second server");
    let _agent = other.sim_agent(SimHost::new("polls-other").long_poll_wait_secs(60)).await;
    for name in ["first", "second"] {
        let created = region.admin.create_container(&create(name, spec())).await.expect("placed by the first server");
        let running = wait_for_container(&region.admin, &created.id.to_string(), "RUNNING").await;
        assert_eq!(running.host.as_deref(), Some("polls-other"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_servers_placements_reach_agents_on_sqlite() {
    an_agent_hears_of_a_container_placed_by_another_server(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_servers_placements_reach_agents_on_postgres() {
    an_agent_hears_of_a_container_placed_by_another_server(Backend::Postgres).await;
}
