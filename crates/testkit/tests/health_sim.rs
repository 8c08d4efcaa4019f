//! Scenario tests of containers' health and CPU use through the real HTTP API of an in-process
//! region with a simulated host: the agent probes and samples, the server stores and shows them
//! (`GET /v1/containers/{id}`, the list) and records health events, on both backends.

use flotilla_api::{Container, ContainerCreate, EventFilter, ListQuery, StopQuery};
use flotilla_client::Client;
use flotilla_core::profile::{ContainerProperties, Healthcheck, HttpProbe};
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_for_container};
use std::time::Duration;

fn create(name: &str, environment: &[(&str, &str)], checked: bool) -> ContainerCreate {
    let healthcheck = checked.then(|| Healthcheck {
        http: Some(HttpProbe { port: 8080, path: "/healthz".into() }),
        tcp: None,
        command: vec![],
        interval: 1,
        timeout: 1,
        retries: 2,
    });
    let spec = ContainerProperties {
        image: "flotilla/workload:latest".into(),
        cpu: Some(0.5),
        memory: Some(128),
        environment: environment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        healthcheck,
        ..Default::default()
    };
    ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() }
}

/// Polls container `key` until `check` holds; panics with its last state otherwise.
async fn wait_for(client: &Client, key: &str, what: &str, check: impl Fn(&Container) -> bool) -> Container {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let c = client.container(key).await.expect("show container");
        if check(&c) {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "container {key} never became {what}: {c:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn health_is_probed_stored_and_shown(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let (agent, runtime) = region.sim_agent_with_runtime(SimHost::new("h")).await;
    let admin = &region.admin;

    let web = admin.create_container(&create("web", &[("FLOTILLA_SIM_CPU", "70")], true)).await.expect("run web");
    let sick = admin.create_container(&create("sick", &[("FLOTILLA_SIM_HEALTH", "fail")], true)).await.expect("run sick");
    let plain = admin.create_container(&create("plain", &[], false)).await.expect("run plain");
    let key = web.id.to_string();

    let healthy = wait_for(admin, &key, "healthy at 70 %", |c| c.health == "healthy" && c.cpu_percent == Some(70.0)).await;
    assert_eq!((healthy.status.as_str(), healthy.health_reason.as_str()), ("RUNNING", ""));
    assert!(healthy.observed_at.is_some());
    let unhealthy = wait_for(admin, "sick", "unhealthy", |c| c.health == "unhealthy").await;
    assert_eq!(unhealthy.health_reason, "simulated failure (FLOTILLA_SIM_HEALTH=fail)");
    let unchecked = wait_for(admin, "plain", "measured", |c| c.cpu_percent.is_some()).await;
    assert_eq!((unchecked.health.as_str(), unchecked.cpu_percent), ("", Some(0.0)), "no check, no health; idle");
    let listed = admin.list_containers(&ListQuery::default(), &Default::default()).await.expect("list").containers;
    let health: Vec<(&str, &str)> = listed.iter().map(|c| (c.name.as_str(), c.health.as_str())).collect();
    assert_eq!(health, [("web", "healthy"), ("sick", "unhealthy"), ("plain", "")]);

    // The test's hand on the simulated host: web's probes fail, then pass again.
    runtime.set_probe_failure(web.id, Some("told to fail"));
    runtime.set_cpu_percent(web.id, 95.0);
    let failing = wait_for(admin, &key, "unhealthy", |c| c.health == "unhealthy").await;
    assert_eq!(failing.health_reason, "told to fail");
    wait_for(admin, &key, "at 95 %", |c| c.cpu_percent == Some(95.0)).await;
    runtime.set_probe_failure(web.id, None);
    wait_for(admin, &key, "healthy again", |c| c.health == "healthy" && c.health_reason.is_empty()).await;

    let filter = EventFilter { object: Some("web".into()), action: Some("CONTAINER_HEALTH".into()), ..EventFilter::default() };
    let events = admin.list_events(&ListQuery::default(), &filter).await.expect("events").events;
    let seen: Vec<(&str, &str, &str)> = events.iter().map(|e| (e.level.as_str(), e.status.as_str(), e.reason.as_str())).collect();
    assert_eq!(seen, [("WARNING", "UNHEALTHY", "told to fail"), ("INFO", "HEALTHY", "")]);

    // Stopped: no health, no CPU use.
    admin.stop_container(&key, &StopQuery::default()).await.expect("stop");
    let stopped = wait_for_container(admin, &key, "STOPPED").await;
    assert_eq!((stopped.health.as_str(), stopped.cpu_percent), ("", None));
    for c in [sick, plain] {
        assert_eq!(admin.container(&c.id.to_string()).await.expect("show").status, "RUNNING");
    }
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_on_sqlite() {
    health_is_probed_stored_and_shown(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_on_postgres() {
    health_is_probed_stored_and_shown(Backend::Postgres).await;
}
