//! Whole agents (join, heartbeat, long-poll, reconcile, reports, interactive calls) on the simulated
//! runtime, against a fake region that speaks the agent protocol.

mod support;

use flotilla_agent::runtime::sim::{SIM_CPU_ENV, SIM_HEALTH_ENV, SimConfig, SimRuntime};
use flotilla_agent::runtime::{ContainerRuntime, runtime_name};
use flotilla_agent::{Agent, AgentConfig, AgentError, CapacityOverride, Timings, start_simulated};
use flotilla_api::agent::{Assignment, HealthStatus, ImageSource, Observed, ObservedState};
use flotilla_api::{ContainerStats, ContainerTop, ErrorBody, ExecResult};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::{ContainerProperties, Healthcheck, HttpProbe};
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::region::{FakeRegion, JOIN_TOKEN, server_identity};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

fn config(region: &FakeRegion, name: &str) -> AgentConfig {
    let mut config = AgentConfig::new(&region.url, JOIN_TOKEN, name);
    config.timings = Timings {
        join_retry_for: Duration::from_secs(5),
        long_poll_wait_secs: 2,
        resync: Duration::from_millis(200),
        full_report: Duration::from_secs(30),
        failure_retry: Duration::from_secs(1),
        probe_tick: Duration::from_millis(100),
        cpu_sample: Duration::from_millis(300),
    };
    config
}

fn assignment(name: &str, desired: DesiredState) -> Assignment {
    Assignment {
        id: Uuid::now_v7(),
        name: name.into(),
        project_id: Uuid::now_v7(),
        generation: 1,
        desired,
        spec: ContainerProperties { image: "demo:latest".into(), command: vec!["serve".into()], ..Default::default() },
        image: ImageSource { reference: "demo:latest".into(), image_id: None, digest: None },
        runtime_id: None,
        networks: Vec::new(),
        mounts: Vec::new(),
        unknown: false,
    }
}

fn running(id: Uuid) -> impl Fn(&Observed) -> bool {
    move |o| o.id == id && o.state == ObservedState::Running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_heartbeats_runs_and_removes_its_assignments() {
    let region = FakeRegion::start().await;
    let runtime = Arc::new(SimRuntime::new(SimConfig::default()));
    let mut config = config(&region, "host-a");
    config.zone = "az1".into();
    config.labels.insert("disk".into(), "ssd".into());
    config.capacity = CapacityOverride { cpus: Some(2.0), memory_mib: None, disk_mib: Some(1000) };
    let agent = Agent::start(config, runtime.clone()).await.unwrap();
    assert_eq!(agent.name(), "host-a");
    let join = &region.joins()[0];
    assert_eq!((join.runtime.as_str(), join.zone.as_str(), join.labels["disk"].as_str()), ("sim", "az1", "ssd"));
    assert_eq!((join.capacity.cpus, join.capacity.memory_mib, join.capacity.disk_mib), (2.0, 8192, 1000));
    assert_eq!(join.advertise, agent.advertise());
    assert!(agent.advertise().starts_with("https://127.0.0.1:"));
    assert!(join.certificate.starts_with("-----BEGIN CERTIFICATE-----"), "{}", join.certificate);

    let host = agent.host_id();
    region.wait(WAIT, "two heartbeats", |r| r.heartbeats(host).len() >= 2).await;
    assert_eq!(region.heartbeats(host)[0].capacity.cpus, 2.0);

    let (a, b) = (assignment("web", DesiredState::Running), assignment("db", DesiredState::Running));
    region.assign(host, vec![a.clone(), b.clone()]);
    let seen_a = region.wait_report(host, WAIT, running(a.id)).await;
    region.wait_report(host, WAIT, running(b.id)).await;
    let list = runtime.list(host).await.unwrap();
    assert_eq!(list.len(), 2);
    let on_runtime = list.iter().find(|c| c.container_id == a.id).unwrap();
    assert_eq!(Some(&on_runtime.runtime_id), seen_a.runtime_id.as_ref());
    assert_eq!(on_runtime.name, runtime_name("web", a.id, a.generation));
    region.wait(WAIT, "a heartbeat listing the image", |r| r.heartbeats(host).iter().any(|h| h.images == vec!["demo:latest"])).await;

    region.assign(host, vec![b.clone()]);
    let removed = region.wait_report(host, WAIT, |o| o.id == a.id && o.state == ObservedState::Removed).await;
    assert_eq!(removed.reason, "not assigned to this host");
    assert_eq!(runtime.list(host).await.unwrap().len(), 1);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_adopts_its_containers() {
    let region = FakeRegion::start().await;
    let runtime = Arc::new(SimRuntime::new(SimConfig::default()));
    let agent = Agent::start(config(&region, "host-b"), runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let a = assignment("keep", DesiredState::Running);
    region.assign(host, vec![a.clone()]);
    region.wait_report(host, WAIT, running(a.id)).await;
    let before = runtime.list(host).await.unwrap();
    agent.shutdown().await;
    assert_eq!(runtime.list(host).await.unwrap(), before, "shutdown leaves the containers alone");

    let reports_before = region.reports(host).len();
    let again = Agent::start(config(&region, "host-b"), runtime.clone()).await.unwrap();
    assert_eq!(again.host_id(), host, "joining under the same name keeps the host");
    region.wait(WAIT, "a report from the new agent", |r| r.reports(host).len() > reports_before).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(runtime.list(host).await.unwrap(), before, "adopted, not recreated");
    let latest = region.reports(host).into_iter().last().unwrap();
    assert_eq!((latest.state, latest.runtime_id), (ObservedState::Running, Some(before[0].runtime_id.clone())));
    again.shutdown().await;
}

/// A new assignment set is no reason to report unchanged containers again (a region's every
/// write would have its hosts report everything), but those the region holds UNKNOWN (their host
/// was DOWN) are reported at once, not at the next full report (30 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_containers_the_region_holds_unknown_are_reported_again() {
    let region = FakeRegion::start().await;
    let runtime = Arc::new(SimRuntime::new(SimConfig::default()));
    let agent = Agent::start(config(&region, "host-u"), runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let (a, b) = (assignment("kept", DesiredState::Running), assignment("lost", DesiredState::Running));
    region.assign(host, vec![a.clone(), b.clone()]);
    region.wait_report(host, WAIT, running(a.id)).await;
    region.wait_report(host, WAIT, running(b.id)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = |id: Uuid| region.reports(host).iter().filter(|o| o.id == id).count();
    let before = (count(a.id), count(b.id));

    let c = assignment("new", DesiredState::Running);
    region.assign(host, vec![a.clone(), b.clone(), c.clone()]);
    region.wait_report(host, WAIT, running(c.id)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((count(a.id), count(b.id)), before, "a new set alone reports nothing unchanged");

    region.assign(host, vec![a.clone(), Assignment { unknown: true, ..b.clone() }, c.clone()]);
    region.wait(WAIT, "the UNKNOWN container reported again", |_| count(b.id) > before.1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(a.id), before.0, "the others are not");
    assert_eq!(count(b.id), before.1 + 1, "once per set that says so");
    assert_eq!(region.reports(host).into_iter().rfind(|o| o.id == b.id).unwrap().state, ObservedState::Running);
    agent.shutdown().await;
}

fn health(id: Uuid, status: HealthStatus) -> impl Fn(&Observed) -> bool {
    move |o| o.id == id && o.health.as_ref().map(|h| h.status) == Some(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_cpu_use_reach_the_reports() {
    let region = FakeRegion::start().await;
    let runtime = Arc::new(SimRuntime::new(SimConfig::default()));
    // Full reports every 30 s: whatever comes sooner was sent because it changed.
    let agent = Agent::start(config(&region, "host-probed"), runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let check = Healthcheck {
        http: Some(HttpProbe { port: 8080, path: "/healthz".into() }),
        tcp: None,
        command: vec![],
        interval: 1,
        timeout: 1,
        retries: 2,
    };
    let mut web = assignment("web", DesiredState::Running);
    web.spec.healthcheck = Some(check.clone());
    let mut sick = assignment("sick", DesiredState::Running);
    sick.spec.healthcheck = Some(check);
    sick.spec.environment.insert(SIM_HEALTH_ENV.into(), "fail".into());
    sick.spec.environment.insert(SIM_CPU_ENV.into(), "80".into());
    let plain = assignment("plain", DesiredState::Running);
    region.assign(host, vec![web.clone(), sick.clone(), plain.clone()]);

    let first = region.wait_report(host, WAIT, running(web.id)).await;
    assert!(matches!(first.health.as_ref().map(|h| h.status), Some(HealthStatus::Starting | HealthStatus::Healthy)), "{first:?}");
    region.wait_report(host, WAIT, health(web.id, HealthStatus::Healthy)).await;
    let unhealthy = region.wait_report(host, WAIT, health(sick.id, HealthStatus::Unhealthy)).await;
    assert_eq!(unhealthy.health.unwrap().reason, "simulated failure (FLOTILLA_SIM_HEALTH=fail)");
    assert_eq!(unhealthy.cpu_percent, Some(80.0), "CPU use rides along");
    assert!(region.reports(host).iter().filter(|o| o.id == plain.id).all(|o| o.health.is_none()), "no check, no health");

    let flipped = Instant::now();
    runtime.set_cpu_percent(web.id, 55.0);
    runtime.set_probe_failure(web.id, Some("told to fail"));
    let failing = region.wait_report(host, WAIT, health(web.id, HealthStatus::Unhealthy)).await;
    assert!(flipped.elapsed() < Duration::from_secs(8), "reported as it changed, not with the full report");
    assert_eq!((failing.health.unwrap().reason.as_str(), failing.cpu_percent), ("told to fail", Some(55.0)));
    runtime.set_probe_failure(web.id, None);
    region.wait_report(host, WAIT, health(web.id, HealthStatus::Healthy)).await;

    // Stopped: no health, no CPU use.
    web.desired = DesiredState::Stopped;
    region.assign(host, vec![web.clone(), sick, plain]);
    let stopped = region.wait_report(host, WAIT, |o| o.id == web.id && o.state == ObservedState::Exited).await;
    assert_eq!((stopped.health, stopped.cpu_percent), (None, None));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_credential_means_joining_again() {
    let region = FakeRegion::start().await;
    let agent = Agent::start(config(&region, "host-c"), Arc::new(SimRuntime::new(SimConfig::default()))).await.unwrap();
    let host = agent.host_id();
    region.wait(WAIT, "a heartbeat", |r| !r.heartbeats(host).is_empty()).await;
    region.revoke_credentials();
    region.wait(WAIT, "a second join", |r| r.joins().len() >= 2).await;
    let beats = region.heartbeats(host).len();
    region.wait(WAIT, "heartbeats with the new credential", |r| r.heartbeats(host).len() > beats + 1).await;
    let a = assignment("after", DesiredState::Running);
    region.assign(host, vec![a.clone()]);
    region.wait_report(host, WAIT, running(a.id)).await;
    agent.shutdown().await;
}

#[tokio::test]
async fn joining_fails_clearly() {
    let region = FakeRegion::start().await;
    let runtime: Arc<SimRuntime> = Arc::new(SimRuntime::new(SimConfig::default()));
    let mut bad_token = config(&region, "host-d");
    bad_token.join_token = Some("wrong".into());
    match Agent::start(bad_token, runtime.clone()).await {
        Err(AgentError::Refused { status: 401, message, .. }) => assert_eq!(message, "join token is not valid"),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }

    region.refuse_joins_with_503(2);
    let agent = Agent::start(config(&region, "host-d"), runtime.clone()).await.expect("503s are retried");
    agent.shutdown().await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut unreachable = AgentConfig::new(url, JOIN_TOKEN, "host-d");
    unreachable.timings.join_retry_for = Duration::from_secs(1);
    let started = Instant::now();
    let error = Agent::start(unreachable, runtime).await.unwrap_err();
    assert!(matches!(error, AgentError::Unreachable { .. }), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(700), "retried for a while: {:?}", started.elapsed());
}

/// A client of `agent_cert`'s agent presenting `identity` (mutual TLS, the agent's certificate pinned).
fn caller(agent_cert: &str, identity: &flotilla_tls::Identity) -> reqwest::Client {
    let pinned = flotilla_tls::certificates("agent", agent_cert.as_bytes()).unwrap().swap_remove(0);
    let tls = flotilla_tls::pinned_client_config(pinned, identity).unwrap();
    reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap()
}

/// The interactive calls, as the server makes them: only the server the agent pinned gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_calls_need_the_server_certificate_and_act_on_the_container() {
    let region = FakeRegion::start().await;
    let runtime = Arc::new(SimRuntime::new(SimConfig::default()));
    let agent = Agent::start(config(&region, "host-e"), runtime.clone()).await.unwrap();
    let host = agent.host_id();
    let agent_cert = region.joins()[0].certificate.clone();
    let a = assignment("api", DesiredState::Running);
    region.assign(host, vec![a.clone()]);
    region.wait_report(host, WAIT, running(a.id)).await;

    let http = caller(&agent_cert, server_identity());
    let base = format!("{}/agent/v1", agent.advertise());
    let url = |path: &str| format!("{base}/containers/{}/{path}", a.id);
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);

    // No client certificate, or another one: the handshake fails, no request is answered.
    let stranger = flotilla_tls::Identity::self_signed(&["stranger".into()]).unwrap();
    let anonymous = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    for refused in [anonymous, caller(&agent_cert, &stranger)] {
        let error = refused.get(url("stats")).send().await.expect_err("refused without the server's certificate");
        assert!(error.is_connect() || error.is_request(), "{error:?}");
    }

    let exec: ExecResult =
        http.post(url("exec")).json(&serde_json::json!({"command": ["echo", "hi"]})).send().await.unwrap().json().await.unwrap();
    assert_eq!((exec.exit_code, exec.output.as_str()), (0, "hi\n"));
    let empty = http.post(url("exec")).json(&serde_json::json!({"command": []})).send().await.unwrap();
    assert_eq!(empty.status(), 400);
    let unknown_field = http.post(url("exec")).json(&serde_json::json!({"cmd": ["x"]})).send().await.unwrap();
    assert_eq!(unknown_field.status(), 400);

    let logs = http.get(url("logs?tail=1")).send().await.unwrap();
    assert_eq!(logs.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(logs.text().await.unwrap(), "sim: started serve\n");

    let stats: ContainerStats = http.get(url("stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats.pids, 1);
    let top: ContainerTop = http.get(url("top")).send().await.unwrap().json().await.unwrap();
    assert_eq!(top.processes[0].last().map(String::as_str), Some("serve"));

    let killed: Observed = http.post(url("kill?signal=SIGTERM")).send().await.unwrap().json().await.unwrap();
    assert_eq!((killed.state, killed.exit_code), (ObservedState::Exited, Some(143)));
    let bad_signal = http.post(url("kill?signal=SIGNOPE")).send().await.unwrap();
    assert_eq!(bad_signal.status(), 400);
    let restarted: Observed = http.post(url("restart?timeout=1")).send().await.unwrap().json().await.unwrap();
    assert_eq!((restarted.id, restarted.state), (a.id, ObservedState::Running));

    let renamed = http.post(url("rename")).json(&serde_json::json!({"name": "api2"})).send().await.unwrap();
    assert_eq!(renamed.status(), 204);
    assert_eq!(runtime.list(host).await.unwrap()[0].name, runtime_name("api2", a.id, a.generation));
    let updated = http.post(url("update")).json(&serde_json::json!({"cpu": 1.5, "memory": 256})).send().await.unwrap();
    assert_eq!(updated.status(), 204);
    let stats: ContainerStats = http.get(url("stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!((stats.cpu_percent, stats.memory_limit_mib), (75.0, 256.0));

    let missing = http.get(format!("{base}/containers/{}/stats", Uuid::now_v7())).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: ErrorBody = missing.json().await.unwrap();
    assert!(body.error.message.starts_with("no container"), "{}", body.error.message);

    // A followed log stays open, and ends when the agent shuts down.
    let follow = http.get(url("logs?follow=true")).send().await.unwrap();
    assert_eq!(follow.status(), 200);
    let mut body = follow.bytes_stream();
    let mut text = String::new();
    while !text.contains("sim: restarted\n") {
        text.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    let created = format!("sim: created {} from demo:latest\n", runtime_name("api", a.id, a.generation));
    assert_eq!(text, format!("{created}sim: started serve\nsim: killed by signal 15\nsim: restarted\n"));
    assert!(tokio::time::timeout(Duration::from_millis(300), body.next()).await.is_err(), "still open");
    let shutdown = tokio::spawn(agent.shutdown());
    let rest = tokio::time::timeout(Duration::from_secs(5), async { while body.next().await.is_some() {} }).await;
    assert!(rest.is_ok(), "the followed stream ended at shutdown");
    shutdown.await.unwrap();
    assert!(http.get(format!("{base}/healthz")).send().await.is_err(), "the listener is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_simulated_hosts_join_at_once() {
    let region = FakeRegion::start().await;
    let agents = start_simulated(config(&region, "sim"), 12, SimConfig::default()).await.unwrap();
    let mut names: Vec<&str> = agents.iter().map(Agent::name).collect();
    names.sort();
    assert_eq!(names.len(), 12);
    assert!(names.contains(&"sim-1") && names.contains(&"sim-12"));
    let hosts: std::collections::HashSet<Uuid> = agents.iter().map(Agent::host_id).collect();
    let addresses: std::collections::HashSet<&str> = agents.iter().map(Agent::advertise).collect();
    assert_eq!((hosts.len(), addresses.len()), (12, 12));
    let last = agents.iter().find(|a| a.name() == "sim-12").unwrap().host_id();
    let a = assignment("on-12", DesiredState::Running);
    region.assign(last, vec![a.clone()]);
    region.wait_report(last, WAIT, running(a.id)).await;
    futures::future::join_all(agents.into_iter().map(Agent::shutdown)).await;

    let mut bad = config(&region, "bad");
    bad.join_token = Some("wrong".into());
    assert!(matches!(start_simulated(bad, 3, SimConfig::default()).await, Err(AgentError::Refused { status: 401, .. })));
}
