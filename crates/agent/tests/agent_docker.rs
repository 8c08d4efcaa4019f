//! Whole agents on the real Docker Engine against a fake region: adoption after a restart, the
//! fence of unassigned containers, images fetched from the region, desired-state changes, health
//! probes and CPU use of the workload image, Flotilla networks and volumes bound on the host.

mod support;

use bollard::query_parameters::{ListNetworksOptions, ListVolumesOptions};
use flotilla_agent::runtime::docker::DockerRuntime;
use flotilla_agent::runtime::{ContainerRuntime, network_name, volume_name};
use flotilla_agent::{Agent, AgentConfig, CapacityOverride, Timings};
use flotilla_api::agent::{
    Assignment, DnsName, HealthStatus, HostNetwork, HostRouter, HostVolume, ImageSource, NetworkAttachment, Observed, ObservedState,
    VolumeMount,
};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::{ContainerProperties, Healthcheck, HttpProbe};
use futures::FutureExt;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use support::docker::{BUSYBOX, HostCleanup, busybox_image, free_subnets, saved_archive_of_fresh_tag, untag, workload_image};
use support::region::{FakeRegion, JOIN_TOKEN};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

fn config(region: &FakeRegion) -> AgentConfig {
    let mut config = AgentConfig::new(&region.url, JOIN_TOKEN, format!("docker-{}", Uuid::now_v7().simple()));
    config.capacity = CapacityOverride { cpus: Some(1.0), memory_mib: Some(512), disk_mib: None };
    config.timings = Timings { long_poll_wait_secs: 2, resync: Duration::from_millis(300), ..Timings::default() };
    config
}

fn assignment(image: &str, image_id: Option<Uuid>) -> Assignment {
    let id = Uuid::now_v7();
    Assignment {
        id,
        name: format!("t{}", &id.simple().to_string()[24..]),
        project_id: Uuid::now_v7(),
        generation: 1,
        desired: DesiredState::Running,
        spec: ContainerProperties {
            image: image.into(),
            command: vec!["sleep".into(), "3600".into()],
            memory: Some(32),
            stop_timeout: Some(1),
            ..Default::default()
        },
        image: ImageSource { reference: image.into(), image_id, digest: None },
        runtime_id: None,
        networks: Vec::new(),
        mounts: Vec::new(),
        unknown: false,
    }
}

fn state_of(id: Uuid, state: ObservedState) -> impl Fn(&Observed) -> bool {
    move |o| o.id == id && o.state == state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_adopts_and_unassigned_containers_are_removed() {
    let runtime = Arc::new(DockerRuntime::connect().await.expect("the Docker Engine must be reachable"));
    busybox_image(&runtime).await;
    let region = FakeRegion::start().await;
    let config = config(&region);
    let agent = Agent::start(config.clone(), runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let _cleanup = HostCleanup(host);
    assert_eq!(region.joins()[0].runtime, "docker");
    assert_eq!(region.joins()[0].capacity.cpus, 1.0);

    let a = assignment(BUSYBOX, None);
    region.assign(host, vec![a.clone()]);
    let first = region.wait_report(host, WAIT, state_of(a.id, ObservedState::Running)).await;
    let runtime_id = first.runtime_id.clone().unwrap();
    agent.shutdown().await;
    let after_shutdown = runtime.list(host).await.unwrap();
    assert_eq!(after_shutdown.len(), 1);
    assert_eq!(
        (after_shutdown[0].runtime_id.as_str(), after_shutdown[0].state),
        (runtime_id.as_str(), flotilla_agent::runtime::RuntimeState::Running)
    );

    let reports_before = region.reports(host).len();
    let again = Agent::start(config, runtime.clone()).await.unwrap();
    assert_eq!(again.host_id(), host);
    region.wait(WAIT, "a report of the new agent", |r| r.reports(host).len() > reports_before).await;
    let adopted = region.reports(host).into_iter().last().unwrap();
    assert_eq!((adopted.state, adopted.runtime_id.as_deref()), (ObservedState::Running, Some(runtime_id.as_str())));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let listed = runtime.list(host).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].runtime_id, runtime_id, "adopted, not recreated");

    // Moved away while this host was down: the agent removes it (the fence).
    region.assign(host, vec![]);
    region.wait_report(host, WAIT, state_of(a.id, ObservedState::Removed)).await;
    assert!(runtime.list(host).await.unwrap().is_empty());
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_come_from_the_region_and_desired_states_apply() {
    let runtime = Arc::new(DockerRuntime::connect().await.unwrap());
    let (reference, archive) = saved_archive_of_fresh_tag(&runtime).await;
    let region = FakeRegion::start().await;
    let image_id = Uuid::now_v7();
    region.add_image(image_id, archive);
    let agent = Agent::start(config(&region), runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let _cleanup = HostCleanup(host);

    let mut a = assignment(&reference, Some(image_id));
    region.assign(host, vec![a.clone()]);
    region.wait_report(host, WAIT, state_of(a.id, ObservedState::Running)).await;
    assert!(runtime.has_image(&reference).await.unwrap(), "loaded from the region");

    a.desired = DesiredState::Stopped;
    region.assign(host, vec![a.clone()]);
    let stopped = region.wait_report(host, WAIT, state_of(a.id, ObservedState::Exited)).await;
    assert_eq!(stopped.exit_code, Some(137), "sleep ignores SIGTERM; killed after stop_timeout");
    a.desired = DesiredState::Paused;
    region.assign(host, vec![a.clone()]);
    region.wait_report(host, WAIT, state_of(a.id, ObservedState::Paused)).await;
    a.desired = DesiredState::Deleted;
    region.assign(host, vec![a.clone()]);
    region.wait_report(host, WAIT, state_of(a.id, ObservedState::Removed)).await;
    assert!(runtime.list(host).await.unwrap().is_empty());

    let missing = assignment("flotilla-test/never-built:latest", None);
    region.assign(host, vec![missing.clone()]);
    let failed = region.wait_report(host, WAIT, state_of(missing.id, ObservedState::Failed)).await;
    assert_eq!(failed.reason, "image flotilla-test/never-built:latest not found on host");
    agent.shutdown().await;
    untag(&runtime, &reference).await;
    assert!(runtime.list(host).await.unwrap().is_empty());
}

fn health(id: Uuid, status: HealthStatus) -> impl Fn(&Observed) -> bool {
    move |o| o.id == id && o.health.as_ref().map(|h| h.status) == Some(status)
}

/// The container's address on the default bridge, where the host reaches it.
async fn address(runtime: &DockerRuntime, runtime_id: &str) -> String {
    let inspected = runtime.client().inspect_container(runtime_id, None).await.unwrap();
    let networks = inspected.network_settings.unwrap().networks.unwrap();
    networks.values().find_map(|n| n.ip_address.clone().filter(|ip| !ip.is_empty())).expect("an address on the bridge")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_is_probed_over_http_and_its_cpu_use_measured() {
    let runtime = Arc::new(DockerRuntime::connect().await.unwrap());
    let image = workload_image(&runtime).await;
    let region = FakeRegion::start().await;
    let mut config = config(&region);
    config.timings.probe_tick = Duration::from_millis(200);
    config.timings.cpu_sample = Duration::from_secs(1);
    config.timings.full_report = Duration::from_secs(2);
    let agent = Agent::start(config, runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let _cleanup = HostCleanup(host);

    let mut a = assignment(&image, None);
    a.spec.command = vec![];
    a.spec.memory = Some(128);
    a.spec.healthcheck = Some(Healthcheck {
        http: Some(HttpProbe { port: 8080, path: "/healthz".into() }),
        tcp: None,
        command: vec![],
        interval: 1,
        timeout: 2,
        retries: 2,
    });
    region.assign(host, vec![a.clone()]);
    let healthy = region.wait_report(host, WAIT, health(a.id, HealthStatus::Healthy)).await;
    let ip = address(&runtime, healthy.runtime_id.as_deref().unwrap()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |path: &str| {
        let request = http.post(format!("http://{ip}:8080{path}"));
        async move { assert!(request.send().await.unwrap().status().is_success()) }
    };

    post("/fail").await;
    let sick = region.wait_report(host, WAIT, health(a.id, HealthStatus::Unhealthy)).await;
    assert_eq!(sick.health.unwrap().reason, format!("HTTP 500 from http://{ip}:8080/healthz"));
    post("/recover").await;
    region.wait_report(host, WAIT, health(a.id, HealthStatus::Healthy)).await;

    post("/burn?seconds=60&cores=1").await;
    let busy = region.wait_report(host, WAIT, |o| o.id == a.id && o.cpu_percent.is_some_and(|p| p > 30.0)).await;
    assert_eq!(busy.state, ObservedState::Running);
    agent.shutdown().await;
}

/// `10.213.X.last`.
fn ip(x: u8, last: u8) -> String {
    format!("10.213.{x}.{last}")
}

fn host_network(name: &str, x: u8) -> HostNetwork {
    HostNetwork { id: Uuid::now_v7(), name: name.into(), cidr: format!("10.213.{x}.0/24"), gateway: ip(x, 1), overlay: None, names: vec![] }
}

/// The attachment Flotilla's allocation would give: the MAC is `02:42:` and the address's bytes.
fn attachment(network: &HostNetwork, x: u8, last: u8, aliases: &[&str]) -> NetworkAttachment {
    NetworkAttachment {
        network: network.clone(),
        ip_address: ip(x, last),
        mac_address: format!("02:42:0a:d5:{x:02x}:{last:02x}"),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
    }
}

/// A busybox container serving `hello from NAME` on port 8080, mounting `pool` at `/pool`, on the default network.
fn web(pool: &HostVolume) -> Assignment {
    let mut a = assignment(BUSYBOX, None);
    let page = format!("hello from {}", a.name);
    a.spec.command = vec![
        "sh".into(),
        "-c".into(),
        format!("busybox mkdir -p /www && echo '{page}' > /www/index.html && exec busybox httpd -f -p 8080 -h /www"),
    ];
    a.mounts = vec![VolumeMount { volume: pool.clone(), target: "/pool".into(), read_only: false }];
    a
}

/// Runs `script` in the container and answers its exit code and output.
async fn sh(runtime: &DockerRuntime, runtime_id: &str, script: &str) -> (i64, String) {
    let done = runtime.exec(runtime_id, &["sh".into(), "-c".into(), script.into()]).await.unwrap();
    (done.exit_code, done.output)
}

/// An HTTP GET of `/` on port 8080 of `target` (an address or a name) from container `from`.
async fn get(runtime: &DockerRuntime, from: &str, target: &str) -> String {
    sh(runtime, from, &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {target} 8080")).await.1
}

/// Polls `check` every 200 ms until it answers `Some`, for at most `WAIT`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, check: impl Fn() -> F) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Network name → (address, MAC) of a container, as Docker inspects it.
async fn endpoints(runtime: &DockerRuntime, runtime_id: &str) -> BTreeMap<String, (String, String)> {
    let inspected = runtime.client().inspect_container(runtime_id, None).await.unwrap();
    let networks = inspected.network_settings.and_then(|s| s.networks).unwrap_or_default();
    networks.into_iter().map(|(name, e)| (name, (e.ip_address.unwrap_or_default(), e.mac_address.unwrap_or_default()))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_and_volumes_are_bound_on_the_host() {
    let runtime = Arc::new(DockerRuntime::connect().await.unwrap());
    busybox_image(&runtime).await;
    let region = FakeRegion::start().await;
    // This host answers its networks' names (on each gateway, port 53) and applies routers.
    let mut config = config(&region);
    (config.dns_port, config.routing) = (Some(53), true);
    let agent = Agent::start(config, runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let _cleanup = HostCleanup(host);
    // The agent stops before the cleanup, even after a failed assertion: it would make the
    // assigned networks again.
    let outcome = AssertUnwindSafe(bind_networks_and_volumes(&runtime, &region, host)).catch_unwind().await;
    agent.shutdown().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn bind_networks_and_volumes(runtime: &DockerRuntime, region: &FakeRegion, host: Uuid) {
    let [x, y] = free_subnets(runtime, 2).await[..] else { unreachable!() };
    let (mut front, back) = (host_network("front", x), host_network("back", y));
    // A name of front that only the region knows (another host's container, say).
    front.names = vec![DnsName { name: "elsewhere".into(), addresses: vec![ip(x, 99)] }];
    let pool = HostVolume { id: Uuid::now_v7(), name: "pool".into(), driver: "local".into(), driver_opts: BTreeMap::new() };

    // A pool volume exists on the host without any container.
    region.assign_pool(host, vec![pool.clone()]);
    let made = eventually("the pool volume", || async {
        runtime.volumes().await.unwrap().into_iter().find(|v| v.id == pool.id && v.host_id == host)
    })
    .await;
    assert_eq!(made.name, volume_name(&pool));
    assert!(runtime.networks().await.unwrap().iter().all(|n| n.host_id != host), "no network before a container needs one");

    // Two members of cluster `web` on `front`, a third container alone on `back`.
    let mut s = web(&pool);
    s.networks = vec![attachment(&front, x, 10, &[&s.name, "web"])];
    let mut c = web(&pool);
    c.networks = vec![attachment(&front, x, 11, &[&c.name, "web"])];
    let mut i = web(&pool);
    i.networks = vec![attachment(&back, y, 10, &[&i.name])];
    region.assign(host, vec![s.clone(), c.clone(), i.clone()]);
    let mut rid = HashMap::new();
    for a in [&s, &c, &i] {
        let running = region.wait_report(host, WAIT, state_of(a.id, ObservedState::Running)).await;
        rid.insert(a.id, running.runtime_id.unwrap());
    }
    let (s_rid, c_rid, i_rid) = (rid[&s.id].clone(), rid[&c.id].clone(), rid[&i.id].clone());
    let (front_name, back_name) = (network_name(&front), network_name(&back));
    let at = |network: &str, x, last| BTreeMap::from([(network.to_owned(), (ip(x, last), format!("02:42:0a:d5:{x:02x}:{last:02x}")))]);
    assert_eq!(endpoints(runtime, &s_rid).await, at(&front_name, x, 10), "the assigned address (and the MAC it implies)");
    assert_eq!(endpoints(runtime, &c_rid).await, at(&front_name, x, 11));
    assert_eq!(endpoints(runtime, &i_rid).await, at(&back_name, y, 10));

    // Members reach each other by address and by name; the cluster's alias names both.
    let hello_s = format!("hello from {}", s.name);
    let hello_c = format!("hello from {}", c.name);
    eventually("the member's page by address", || async { get(runtime, &c_rid, &ip(x, 10)).await.contains(&hello_s).then_some(()) }).await;
    assert!(get(runtime, &c_rid, &s.name).await.contains(&hello_s), "by its name");
    assert!(get(runtime, &s_rid, &ip(x, 11)).await.contains(&hello_c), "and back");
    let (_, lookup) = sh(runtime, &c_rid, "busybox nslookup web 127.0.0.11").await;
    assert!(lookup.contains(&ip(x, 10)) && lookup.contains(&ip(x, 11)), "the alias names both members: {lookup}");
    let by_alias = get(runtime, &s_rid, "web").await;
    assert!(by_alias.contains(&hello_s) || by_alias.contains(&hello_c), "{by_alias}");

    // Another network is isolated.
    assert!(!get(runtime, &i_rid, &ip(x, 10)).await.contains("hello"), "no route from back to front");
    let (code, output) = sh(runtime, &i_rid, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 8080").await;
    assert!(code != 0 && !output.contains("hello"), "no name from front is known on back: {code} {output}");

    // Names Docker does not know are answered by the agent on the network's gateway.
    let lookup = eventually("the agent's name server answers through Docker's", || async {
        let (_, lookup) = sh(runtime, &c_rid, "busybox nslookup elsewhere 127.0.0.11").await;
        lookup.contains(&ip(x, 99)).then_some(lookup)
    })
    .await;
    assert!(lookup.contains(&ip(x, 99)), "{lookup}");
    let (_, lookup) = sh(runtime, &i_rid, "busybox nslookup elsewhere 127.0.0.11").await;
    assert!(!lookup.contains(&ip(x, 99)), "back does not know front's names: {lookup}");

    // A router joining front and back: back reaches front by address, until it is removed.
    let router = HostRouter { id: Uuid::now_v7(), name: "edge".into(), networks: vec![front.clone(), back.clone()] };
    region.route(host, vec![router]);
    eventually("back reaches front through the router", || async {
        get(runtime, &i_rid, &ip(x, 10)).await.contains(&hello_s).then_some(())
    })
    .await;
    region.route(host, vec![]);
    eventually("back is isolated again", || async { (!get(runtime, &i_rid, &ip(x, 10)).await.contains("hello")).then_some(()) }).await;

    // The pool volume is shared by the containers of the host.
    assert_eq!(sh(runtime, &s_rid, "echo written-by-s > /pool/note").await.0, 0);
    assert_eq!(sh(runtime, &i_rid, "cat /pool/note").await, (0, "written-by-s\n".to_owned()));

    // Attached to `back` and detached from `front` while it runs: connected live, not recreated.
    c.networks = vec![attachment(&back, y, 11, &[&c.name])];
    region.assign(host, vec![s.clone(), c.clone(), i.clone()]);
    let wanted = at(&back_name, y, 11);
    eventually("c on back only", || async { (endpoints(runtime, &c_rid).await == wanted).then_some(()) }).await;
    assert_eq!(runtime.list(host).await.unwrap().iter().filter(|l| l.runtime_id == c_rid).count(), 1, "the same container");
    eventually("c reached from back", || async { get(runtime, &i_rid, &ip(y, 11)).await.contains(&hello_c).then_some(()) }).await;
    assert!(!get(runtime, &s_rid, &ip(x, 11)).await.contains("hello"), "no longer on front");

    // Nothing assigned: no network nor volume of this host is left.
    region.assign(host, vec![]);
    region.assign_pool(host, vec![]);
    for a in [&s, &c, &i] {
        region.wait_report(host, WAIT, state_of(a.id, ObservedState::Removed)).await;
    }
    eventually("the networks and volumes removed", || async {
        let networks = runtime.networks().await.unwrap();
        let volumes = runtime.volumes().await.unwrap();
        (!networks.iter().any(|n| n.host_id == host) && !volumes.iter().any(|v| v.host_id == host)).then_some(())
    })
    .await;
    let names: Vec<String> =
        runtime.client().list_networks(None::<ListNetworksOptions>).await.unwrap().into_iter().filter_map(|n| n.name).collect();
    assert!(!names.contains(&front_name) && !names.contains(&back_name), "{names:?}");
    let volumes = runtime.client().list_volumes(None::<ListVolumesOptions>).await.unwrap().volumes.unwrap_or_default();
    assert!(!volumes.iter().any(|v| v.name == volume_name(&pool)));
}
