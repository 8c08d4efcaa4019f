//! Whole agents on the real Docker Engine against a fake region: adoption after a restart, the
//! fence of unassigned containers, images fetched from the region, desired-state changes, health
//! probes and CPU use of the workload image.

mod support;

use flotilla_agent::runtime::ContainerRuntime;
use flotilla_agent::runtime::docker::DockerRuntime;
use flotilla_agent::{Agent, AgentConfig, CapacityOverride, Timings};
use flotilla_api::agent::{Assignment, HealthStatus, ImageSource, Observed, ObservedState};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::{ContainerProperties, Healthcheck, HttpProbe};
use std::sync::Arc;
use std::time::Duration;
use support::docker::{BUSYBOX, HostCleanup, busybox_image, saved_archive_of_fresh_tag, untag, workload_image};
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
        image: ImageSource { reference: image.into(), image_id },
        runtime_id: None,
        networks: Vec::new(),
        mounts: Vec::new(),
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
