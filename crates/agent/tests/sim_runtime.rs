//! The simulated runtime through the `ContainerRuntime` trait: the same contract as Docker's.

mod support;

use bytes::Bytes;
use flotilla_agent::runtime::sim::{SIM_CPU_ENV, SIM_HEALTH_ENV, SimConfig, SimRuntime};
use flotilla_agent::runtime::{ContainerRuntime, CreateSpec, LogOptions, ProbeOutcome, RuntimeError, RuntimeState};
use flotilla_api::Capacity;
use flotilla_core::profile::{ContainerProperties, Healthcheck, TcpProbe};
use futures::{StreamExt, TryStreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::objects::networks_and_volumes_keep_the_contract;
use uuid::Uuid;

fn spec(host_id: Uuid, name: &str) -> CreateSpec {
    CreateSpec {
        container_id: Uuid::now_v7(),
        host_id,
        project_id: Uuid::now_v7(),
        generation: 3,
        name: name.into(),
        image: "demo:latest".into(),
        properties: ContainerProperties {
            image: "demo:latest".into(),
            command: vec!["serve".into(), "--port".into(), "80".into()],
            cpu: Some(1.0),
            memory: Some(512),
            ..Default::default()
        },
        networks: vec![],
        mounts: vec![],
    }
}

async fn logs(rt: &SimRuntime, id: &str, options: LogOptions) -> String {
    let chunks: Vec<Bytes> = rt.logs(id, options).await.unwrap().try_collect().await.unwrap();
    chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()
}

#[tokio::test]
async fn lifecycle_follows_docker() {
    let capacity = Capacity { cpus: 4.0, memory_mib: 4096, disk_mib: 10_000 };
    let rt = SimRuntime::new(SimConfig { capacity, ..SimConfig::default() });
    assert_eq!(rt.kind(), "sim");
    assert_eq!(rt.capacity().await.unwrap(), capacity);
    let host = Uuid::now_v7();
    let s = spec(host, "one");
    let id = rt.create(&s).await.unwrap();
    assert_eq!(id.len(), 64);
    assert!(matches!(rt.create(&s).await, Err(RuntimeError::Conflict(_))), "names are unique");
    let c = rt.inspect(&id).await.unwrap();
    assert_eq!((c.container_id, c.generation, c.state, c.name.as_str()), (s.container_id, 3, RuntimeState::Created, "one"));
    assert!(rt.list(Uuid::now_v7()).await.unwrap().is_empty(), "another host's list is empty");
    assert!(matches!(rt.exec(&id, &["true".into()]).await, Err(RuntimeError::Conflict(_))), "not running yet");

    rt.start(&id).await.unwrap();
    assert_eq!(rt.utilisation().await.unwrap().cpu_percent, 12.5, "half of one core of four");
    assert_eq!(rt.utilisation().await.unwrap().memory_used_mib, 256);
    let echo = rt.exec(&id, &["echo".into(), "hi".into(), "there".into()]).await.unwrap();
    assert_eq!((echo.exit_code, echo.output.as_str()), (0, "hi there\n"));
    assert_eq!(rt.exec(&id, &["false".into()]).await.unwrap().exit_code, 1);
    let stats = rt.stats(&id).await.unwrap();
    assert_eq!((stats.cpu_percent, stats.memory_used_mib, stats.memory_limit_mib, stats.pids), (50.0, 256.0, 512.0, 1));
    assert_eq!(rt.top(&id).await.unwrap().processes[0].last().unwrap(), "serve --port 80");
    let no_files = rt.download(&id, "/etc", 1 << 20).await.unwrap_err();
    assert!(matches!(&no_files, RuntimeError::Conflict(m) if m.contains("docker runtime")), "{no_files:?}");
    assert!(matches!(rt.upload(&id, "/tmp", Vec::new().into()).await, Err(RuntimeError::Conflict(_))), "no files to write either");
    assert!(matches!(rt.download("nope", "/etc", 1).await, Err(RuntimeError::NotFound(_))));

    rt.pause(&id).await.unwrap();
    assert!(matches!(rt.pause(&id).await, Err(RuntimeError::Conflict(_))));
    assert!(matches!(rt.start(&id).await, Err(RuntimeError::Conflict(_))), "a paused container is unpaused, not started");
    rt.unpause(&id).await.unwrap();
    assert!(matches!(rt.unpause(&id).await, Err(RuntimeError::Conflict(_))));
    rt.kill(&id, "9").await.unwrap();
    let killed = rt.inspect(&id).await.unwrap();
    assert_eq!((killed.state, killed.exit_code), (RuntimeState::Exited, Some(137)));
    assert!(matches!(rt.kill(&id, "SIGKILL").await, Err(RuntimeError::Conflict(_))));
    assert_eq!(rt.stats(&id).await.unwrap().cpu_percent, 0.0);
    rt.restart(&id, 1).await.unwrap();
    assert_eq!(rt.inspect(&id).await.unwrap().state, RuntimeState::Running);
    rt.stop(&id, 1).await.unwrap();
    assert_eq!(rt.inspect(&id).await.unwrap().exit_code, Some(0));

    rt.rename(&id, "two").await.unwrap();
    assert_eq!(rt.list(host).await.unwrap()[0].name, "two");
    rt.update_limits(&id, Some(2.0), None).await.unwrap();
    rt.start(&id).await.unwrap();
    assert_eq!(rt.stats(&id).await.unwrap().cpu_percent, 100.0);
    assert!(matches!(rt.remove(&id, false).await, Err(RuntimeError::Conflict(_))));
    rt.remove(&id, true).await.unwrap();
    assert!(matches!(rt.inspect(&id).await, Err(RuntimeError::NotFound(_))));
    assert!(rt.list(host).await.unwrap().is_empty());
}

#[tokio::test]
async fn health_and_cpu_use_are_what_tests_make_them() {
    let rt = SimRuntime::new(SimConfig::default());
    let check = Healthcheck { http: None, tcp: Some(TcpProbe { port: 80 }), command: vec![], interval: 1, timeout: 1, retries: 1 };
    let host = Uuid::now_v7();
    let plain = spec(host, "plain");
    let mut busy_and_sick = spec(host, "sick");
    busy_and_sick.properties.environment.insert(SIM_HEALTH_ENV.into(), "fail".into());
    busy_and_sick.properties.environment.insert(SIM_CPU_ENV.into(), "80".into());
    let (a, b) = (rt.create(&plain).await.unwrap(), rt.create(&busy_and_sick).await.unwrap());
    assert!(matches!(rt.probe(&a, &check).await, ProbeOutcome::Fail(_)), "not running yet");
    assert!(matches!(rt.cpu_percent(&a).await, Err(RuntimeError::Conflict(_))), "not running yet");
    rt.start(&a).await.unwrap();
    rt.start(&b).await.unwrap();

    assert_eq!(rt.probe(&a, &check).await, ProbeOutcome::Pass);
    assert_eq!(rt.cpu_percent(&a).await.unwrap(), Some(0.0), "idle unless told otherwise");
    assert_eq!(rt.probe(&b, &check).await, ProbeOutcome::Fail("simulated failure (FLOTILLA_SIM_HEALTH=fail)".into()));
    assert_eq!(rt.cpu_percent(&b).await.unwrap(), Some(80.0));
    assert_eq!(rt.stats(&b).await.unwrap().cpu_percent, 80.0, "stats agree");
    assert_eq!(rt.utilisation().await.unwrap().cpu_percent, 32.5, "half a core (a's own figure) and 0.8 of four");

    // The handle wins over the environment, by Flotilla container id.
    rt.set_probe_failure(plain.container_id, Some("told to fail"));
    rt.set_probe_failure(busy_and_sick.container_id, None);
    rt.set_cpu_percent(plain.container_id, 150.0);
    assert_eq!(rt.probe(&a, &check).await, ProbeOutcome::Fail("told to fail".into()));
    assert_eq!(rt.probe(&b, &check).await, ProbeOutcome::Pass);
    assert_eq!(rt.cpu_percent(&a).await.unwrap(), Some(150.0));
    assert_eq!(rt.stats(&a).await.unwrap().cpu_percent, 150.0);

    // It holds for a new generation of the same container.
    rt.remove(&a, true).await.unwrap();
    let again = rt.create(&CreateSpec { generation: 4, name: "plain-4".into(), ..plain.clone() }).await.unwrap();
    rt.start(&again).await.unwrap();
    assert_eq!(rt.probe(&again, &check).await, ProbeOutcome::Fail("told to fail".into()));
    assert_eq!(rt.cpu_percent(&again).await.unwrap(), Some(150.0));
}

#[tokio::test]
async fn logs_tail_since_timestamps_and_follow() {
    let rt = SimRuntime::new(SimConfig::default());
    let id = rt.create(&spec(Uuid::now_v7(), "logs")).await.unwrap();
    rt.start(&id).await.unwrap();
    rt.stop(&id, 1).await.unwrap();
    let all = logs(&rt, &id, LogOptions::default()).await;
    assert_eq!(all, "sim: created logs from demo:latest\nsim: started serve --port 80\nsim: stopped\n");
    assert_eq!(logs(&rt, &id, LogOptions { tail: Some(1), ..LogOptions::default() }).await, "sim: stopped\n");
    assert_eq!(logs(&rt, &id, LogOptions { since: Some(i64::MAX), ..LogOptions::default() }).await, "");
    let stamped = logs(&rt, &id, LogOptions { tail: Some(1), timestamps: true, ..LogOptions::default() }).await;
    let (stamp, line) = stamped.split_once(' ').unwrap();
    assert!(stamp.parse::<i64>().unwrap() > 1_600_000_000);
    assert_eq!(line, "sim: stopped\n");

    let mut followed = rt.logs(&id, LogOptions { follow: true, ..LogOptions::default() }).await.unwrap();
    for _ in 0..3 {
        followed.next().await.unwrap().unwrap();
    }
    assert!(tokio::time::timeout(Duration::from_millis(100), followed.next()).await.is_err(), "a followed log stays open");
    assert!(matches!(rt.logs("nope", LogOptions::default()).await, Err(RuntimeError::NotFound(_))));
}

#[tokio::test]
async fn failures_are_injected_at_the_configured_rate() {
    let rt = SimRuntime::new(SimConfig { failure_rate: 0.3, seed: 42, ..SimConfig::default() });
    let host = Uuid::now_v7();
    let mut failed = 0;
    for i in 0..200 {
        match rt.create(&spec(host, &format!("c{i}"))).await {
            Ok(_) => {}
            Err(RuntimeError::Injected { operation: "create" }) => failed += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!((35..=85).contains(&failed), "{failed} of 200 failed at rate 0.3");
    assert_eq!(rt.list(host).await.unwrap().len(), 200 - failed);

    let never = SimRuntime::new(SimConfig { failure_rate: 0.0, ..SimConfig::default() });
    for i in 0..50 {
        let id = never.create(&spec(host, &format!("c{i}"))).await.unwrap();
        never.start(&id).await.unwrap();
    }
}

#[tokio::test]
async fn latency_is_added_to_changes() {
    let rt = SimRuntime::new(SimConfig { latency: Duration::from_millis(50), ..SimConfig::default() });
    let started = Instant::now();
    let id = rt.create(&spec(Uuid::now_v7(), "slow")).await.unwrap();
    rt.start(&id).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100), "{:?}", started.elapsed());
}

#[tokio::test]
async fn images_are_present_or_loaded() {
    let permissive = SimRuntime::new(SimConfig::default());
    assert!(permissive.has_image("anything:latest").await.unwrap());
    permissive.create(&spec(Uuid::now_v7(), "x")).await.unwrap();
    assert_eq!(permissive.images().await.unwrap(), vec!["demo:latest".to_owned()], "used images are listed");

    let strict = SimRuntime::new(SimConfig { all_images_present: false, ..SimConfig::default() });
    assert!(!strict.has_image("demo:latest").await.unwrap());
    assert_eq!(strict.create(&spec(Uuid::now_v7(), "x")).await, Err(RuntimeError::ImageMissing("demo:latest".into())));

    let manifest = br#"[{"Config":"c.json","RepoTags":["demo:latest"],"Layers":[]}]"#;
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, "manifest.json", &manifest[..]).unwrap();
    let archive = builder.into_inner().unwrap();
    let chunks: Vec<Result<Bytes, std::io::Error>> = archive.chunks(100).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    assert_eq!(strict.load_image(futures::stream::iter(chunks).boxed()).await.unwrap(), vec!["demo:latest".to_owned()]);
    assert!(strict.has_image("demo:latest").await.unwrap());
    strict.create(&spec(Uuid::now_v7(), "x")).await.unwrap();

    let broken: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from(vec![0u8; 1024]))];
    assert!(matches!(strict.load_image(futures::stream::iter(broken).boxed()).await, Err(RuntimeError::InvalidArgument(_))));
    let failing: Vec<Result<Bytes, std::io::Error>> = vec![Err(std::io::Error::other("connection reset"))];
    assert!(matches!(strict.load_image(futures::stream::iter(failing).boxed()).await, Err(RuntimeError::Engine { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_hosts_are_cheap() {
    let started = Instant::now();
    let hosts: Vec<(Uuid, Arc<SimRuntime>)> =
        (0..1000).map(|i| (Uuid::now_v7(), Arc::new(SimRuntime::new(SimConfig { seed: i, ..SimConfig::default() })))).collect();
    for (host, rt) in &hosts {
        for n in 0..5 {
            let id = rt.create(&spec(*host, &format!("c{n}"))).await.unwrap();
            rt.start(&id).await.unwrap();
        }
    }
    for (host, rt) in &hosts {
        assert_eq!(rt.list(*host).await.unwrap().len(), 5);
    }
    assert!(started.elapsed() < Duration::from_secs(10), "5,000 simulated containers took {:?}", started.elapsed());
}

#[tokio::test]
async fn networks_and_volumes_follow_docker() {
    let rt = SimRuntime::new(SimConfig::default());
    let host = Uuid::now_v7();
    networks_and_volumes_keep_the_contract(&rt, spec(host, "contract"), [1, 2]).await;
}
