//! The Docker runtime against the real local Docker Engine, with an image built offline.
//! A missing engine fails these tests; it does not skip them.

mod support;

use bytes::Bytes;
use flotilla_agent::runtime::docker::DockerRuntime;
use flotilla_agent::runtime::{ContainerRuntime, CreateSpec, LogOptions, ProbeOutcome, RuntimeError, RuntimeState, runtime_name};
use flotilla_core::profile::{ContainerProperties, Healthcheck, HttpProbe, TcpProbe};
use futures::{StreamExt, TryStreamExt};
use std::time::Duration;
use support::docker::{BUSYBOX, HostCleanup, busybox_image, free_subnets, saved_archive_of_fresh_tag, untag};
use support::objects;
use uuid::Uuid;

fn spec(host_id: Uuid, name: &str, command: &str, properties: ContainerProperties) -> CreateSpec {
    let container_id = Uuid::now_v7();
    CreateSpec {
        container_id,
        host_id,
        project_id: Uuid::now_v7(),
        generation: 1,
        name: runtime_name(&format!("{name}-{}", &host_id.simple().to_string()[24..]), container_id, 1),
        image: BUSYBOX.to_owned(),
        properties: ContainerProperties {
            image: BUSYBOX.to_owned(),
            command: vec!["sh".into(), "-c".into(), command.into()],
            ..properties
        },
        networks: vec![],
        mounts: vec![],
    }
}

async fn read_logs(rt: &DockerRuntime, id: &str, options: LogOptions) -> String {
    let chunks: Vec<Bytes> = rt.logs(id, options).await.unwrap().try_collect().await.unwrap();
    chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()
}

async fn state(rt: &DockerRuntime, id: &str) -> (RuntimeState, Option<i64>) {
    let c = rt.inspect(id).await.unwrap();
    (c.state, c.exit_code)
}

#[tokio::test]
async fn a_container_goes_through_its_whole_life() {
    let rt = DockerRuntime::connect().await.expect("the Docker Engine must be reachable");
    assert_eq!(rt.kind(), "docker");
    busybox_image(&rt).await;
    let host = Uuid::now_v7();
    let _cleanup = HostCleanup(host);
    let mut properties = ContainerProperties { cpu: Some(0.5), memory: Some(64), stop_timeout: Some(1), ..Default::default() };
    properties.labels.insert("tier".into(), "test".into());
    properties.environment.insert("GREETING".into(), "hello".into());
    let spec = spec(host, "life", "echo $GREETING; exec sleep 3600", properties);
    let id = rt.create(&spec).await.unwrap();

    let listed = rt.list(host).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].runtime_id.as_str(), listed[0].container_id, listed[0].generation), (id.as_str(), spec.container_id, 1));
    assert_eq!((listed[0].state, listed[0].name.as_str()), (RuntimeState::Created, spec.name.as_str()));
    assert!(rt.list(Uuid::now_v7()).await.unwrap().is_empty(), "another host sees nothing");

    rt.start(&id).await.unwrap();
    assert_eq!(state(&rt, &id).await, (RuntimeState::Running, None));
    let mut logs = String::new();
    for _ in 0..50 {
        logs = read_logs(&rt, &id, LogOptions::default()).await;
        if logs.contains("hello") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(logs, "hello\n");
    let stamped = read_logs(&rt, &id, LogOptions { timestamps: true, tail: Some(1), ..LogOptions::default() }).await;
    assert!(stamped.ends_with(" hello\n") && stamped.len() > "hello\n".len() + 20, "{stamped:?}");

    let hi = rt.exec(&id, &["echo".into(), "hi".into()]).await.unwrap();
    assert_eq!((hi.exit_code, hi.output.as_str()), (0, "hi\n"));
    let three = rt.exec(&id, &["sh".into(), "-c".into(), "echo oops >&2; exit 3".into()]).await.unwrap();
    assert_eq!((three.exit_code, three.output.as_str()), (3, "oops\n"));

    let stats = rt.stats(&id).await.unwrap();
    assert_eq!(stats.memory_limit_mib, 64.0);
    assert!(stats.memory_used_mib > 0.0 && stats.pids >= 1, "{stats:?}");
    assert!(stats.cpu_percent >= 0.0);
    let top = rt.top(&id).await.unwrap();
    assert!(top.titles.iter().any(|t| t == "CMD"), "{:?}", top.titles);
    assert!(top.processes.iter().any(|p| p.last().is_some_and(|cmd| cmd.contains("sleep 3600"))), "{:?}", top.processes);

    let mut packed = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    packed.append_data(&mut header, "copied.txt", &b"hello"[..]).unwrap();
    rt.upload(&id, "/", packed.into_inner().unwrap().into()).await.unwrap();
    let back = rt.download(&id, "/copied.txt", 1 << 20).await.unwrap();
    let mut archive = tar::Archive::new(&back[..]);
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    assert_eq!((entry.path().unwrap().to_str().unwrap(), text.as_str()), ("copied.txt", "hello"));
    assert!(matches!(rt.download(&id, "/no/such", 1 << 20).await, Err(RuntimeError::NotFound(_))), "a missing path is a 404");
    assert!(matches!(rt.upload(&id, "/no/such", back.clone()).await, Err(RuntimeError::NotFound(_))), "so is a missing directory");
    assert!(matches!(rt.download(&id, "/copied.txt", 10).await, Err(RuntimeError::InvalidArgument(_))), "the limit holds");

    rt.pause(&id).await.unwrap();
    assert_eq!(state(&rt, &id).await.0, RuntimeState::Paused);
    assert!(matches!(rt.exec(&id, &["true".into()]).await, Err(RuntimeError::Conflict(_))), "no exec in a paused container");
    rt.unpause(&id).await.unwrap();
    assert_eq!(state(&rt, &id).await.0, RuntimeState::Running);

    // sleep as PID 1 ignores SIGTERM: stop waits its timeout, then kills.
    rt.stop(&id, 1).await.unwrap();
    assert_eq!(state(&rt, &id).await, (RuntimeState::Exited, Some(137)));
    assert_eq!(rt.list(host).await.unwrap()[0].exit_code, Some(137), "the list shows the exit code too");
    assert!(matches!(rt.exec(&id, &["true".into()]).await, Err(RuntimeError::Conflict(_))), "no exec in a stopped container");
    rt.start(&id).await.unwrap();
    rt.restart(&id, 1).await.unwrap();
    assert_eq!(state(&rt, &id).await.0, RuntimeState::Running);
    rt.kill(&id, "SIGKILL").await.unwrap();
    assert_eq!(state(&rt, &id).await, (RuntimeState::Exited, Some(137)));
    rt.start(&id).await.unwrap();

    let renamed = runtime_name(&format!("renamed-{}", &host.simple().to_string()[24..]), spec.container_id, spec.generation);
    rt.rename(&id, &renamed).await.unwrap();
    assert_eq!(rt.inspect(&id).await.unwrap().name, renamed);
    rt.update_limits(&id, Some(1.0), Some(256)).await.unwrap();
    assert_eq!(rt.stats(&id).await.unwrap().memory_limit_mib, 256.0);

    rt.remove(&id, true).await.unwrap();
    assert!(rt.list(host).await.unwrap().is_empty());
    assert!(matches!(rt.inspect(&id).await, Err(RuntimeError::NotFound(_))));
}

#[tokio::test]
async fn probes_run_from_the_host_and_cpu_use_is_measured_between_samples() {
    let rt = DockerRuntime::connect().await.unwrap();
    busybox_image(&rt).await;
    let host = Uuid::now_v7();
    let _cleanup = HostCleanup(host);
    let busy = spec(host, "busy", "while :; do :; done", ContainerProperties { stop_timeout: Some(1), ..Default::default() });
    let id = rt.create(&busy).await.unwrap();
    rt.start(&id).await.unwrap();

    let check = |http: Option<HttpProbe>, tcp: Option<TcpProbe>, command: &[&str]| Healthcheck {
        http,
        tcp,
        command: command.iter().map(|s| s.to_string()).collect(),
        interval: 1,
        timeout: 1,
        retries: 1,
    };
    assert_eq!(rt.probe(&id, &check(None, None, &["true"])).await, ProbeOutcome::Pass);
    assert_eq!(
        rt.probe(&id, &check(None, None, &["sh", "-c", "echo not ready; exit 3"])).await,
        ProbeOutcome::Fail("exit code 3: not ready".into())
    );
    // Nothing listens in the container: the host reaches its address and is refused.
    let ProbeOutcome::Fail(tcp) = rt.probe(&id, &check(None, Some(TcpProbe { port: 8080 }), &[])).await else { panic!("nothing listens") };
    assert!(tcp.starts_with("TCP connect to 172.") && tcp.to_lowercase().contains("refused"), "{tcp}");
    let http = check(Some(HttpProbe { port: 8080, path: "healthz".into() }), None, &[]);
    let ProbeOutcome::Fail(get) = rt.probe(&id, &http).await else { panic!("nothing listens") };
    assert!(get.starts_with("GET http://172.") && get.contains(":8080/healthz: "), "{get}");

    assert_eq!(rt.cpu_percent(&id).await.unwrap(), None, "nothing to compare the first sample with");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy_percent = rt.cpu_percent(&id).await.unwrap().unwrap();
    assert!(busy_percent > 50.0, "a shell spinning keeps about one core busy: {busy_percent}");

    rt.stop(&id, 1).await.unwrap();
    assert!(matches!(rt.probe(&id, &check(None, None, &["true"])).await, ProbeOutcome::Fail(_)), "a stopped container fails its probes");
    rt.remove(&id, true).await.unwrap();
}

#[tokio::test]
async fn refusals_keep_their_meaning() {
    let rt = DockerRuntime::connect().await.unwrap();
    busybox_image(&rt).await;
    let host = Uuid::now_v7();
    let _cleanup = HostCleanup(host);
    assert!(matches!(rt.start("flotilla-no-such-container").await, Err(RuntimeError::NotFound(_))));

    let mut missing = spec(host, "missing", "true", ContainerProperties::default());
    missing.image = "flotilla-test/never-built:latest".into();
    assert_eq!(rt.create(&missing).await, Err(RuntimeError::ImageMissing("flotilla-test/never-built:latest".into())));

    let first = spec(host, "dup", "sleep 3600", ContainerProperties::default());
    let id = rt.create(&first).await.unwrap();
    let mut same_name = spec(host, "dup", "true", ContainerProperties::default());
    same_name.name = first.name.clone();
    assert!(matches!(rt.create(&same_name).await, Err(RuntimeError::Conflict(_))));

    rt.start(&id).await.unwrap();
    assert!(matches!(rt.kill(&id, "SIGNOTHING").await, Err(RuntimeError::InvalidArgument(_))));
    assert!(matches!(rt.remove(&id, false).await, Err(RuntimeError::Conflict(_))), "a running container needs force");
    rt.remove(&id, true).await.unwrap();
    assert!(rt.list(host).await.unwrap().is_empty());
}

#[tokio::test]
async fn followed_logs_stream_new_lines() {
    let rt = DockerRuntime::connect().await.unwrap();
    busybox_image(&rt).await;
    let host = Uuid::now_v7();
    let _cleanup = HostCleanup(host);
    let spec = spec(host, "follow", "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done", ContainerProperties::default());
    let id = rt.create(&spec).await.unwrap();
    rt.start(&id).await.unwrap();
    let mut stream = rt.logs(&id, LogOptions { follow: true, ..LogOptions::default() }).await.unwrap();
    let mut seen = String::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains("line5\n") {
                return;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "followed logs stalled: {seen:?}");
    assert!(seen.starts_with("line0\nline1\n"), "{seen:?}");
    drop(stream);
    rt.remove(&id, true).await.unwrap();
    assert!(rt.list(host).await.unwrap().is_empty());
}

#[tokio::test]
async fn saved_images_load_from_a_stream() {
    let rt = DockerRuntime::connect().await.unwrap();
    let (reference, archive) = saved_archive_of_fresh_tag(&rt).await;
    assert!(!rt.images().await.unwrap().contains(&reference));
    let chunks: Vec<Result<Bytes, std::io::Error>> = archive.chunks(32 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let loaded = rt.load_image(futures::stream::iter(chunks).boxed()).await.unwrap();
    assert_eq!(loaded, vec![reference.clone()]);
    assert!(rt.has_image(&reference).await.unwrap());
    assert!(rt.images().await.unwrap().contains(&reference));
    untag(&rt, &reference).await;
    assert!(!rt.has_image(&reference).await.unwrap());

    let garbage = futures::stream::iter(vec![Ok(Bytes::from_static(b"not a tar archive at all"))]).boxed();
    assert!(rt.load_image(garbage).await.is_err(), "a broken archive is refused");
}

#[tokio::test]
async fn the_host_can_be_measured() {
    let rt = DockerRuntime::connect().await.unwrap();
    let capacity = rt.capacity().await.unwrap();
    assert!(capacity.cpus >= 1.0 && capacity.memory_mib > 256 && capacity.disk_mib > 100, "{capacity:?}");
    let used = rt.utilisation().await.unwrap();
    assert!((0.0..=100.0).contains(&used.cpu_percent), "{used:?}");
    assert!(used.memory_used_mib > 0 && used.memory_used_mib <= capacity.memory_mib, "{used:?}");
}

#[tokio::test]
async fn networks_and_volumes_keep_the_contract() {
    let rt = DockerRuntime::connect().await.unwrap();
    busybox_image(&rt).await;
    let host = Uuid::now_v7();
    let _cleanup = HostCleanup(host);
    let base = spec(host, "contract", "exec sleep 3600", ContainerProperties { stop_timeout: Some(1), ..Default::default() });
    let [front, back] = free_subnets(&rt, 2).await[..] else { unreachable!() };
    objects::networks_and_volumes_keep_the_contract(&rt, base, [front, back]).await;
}
