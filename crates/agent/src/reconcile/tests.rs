//! Reconcile passes against the simulated runtime and a recording upstream.

use super::fixtures::{network, on, volume};
use super::*;
use crate::runtime::sim::{SimConfig, SimRuntime};
use crate::runtime::{CreateSpec, NetworkSpec, RuntimeObject, RuntimeState, VolumeSpec, network_name, runtime_name, volume_name};
use bytes::Bytes;
use flotilla_api::agent::{ImageSource, Observed, ObservedState};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::ContainerProperties;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    reports: Mutex<Vec<Observed>>,
    archive: Option<Vec<u8>>,
    fetches: AtomicUsize,
}

impl Recorder {
    fn take(&self) -> Vec<Observed> {
        std::mem::take(&mut *self.reports.lock().unwrap())
    }
}

#[async_trait]
impl Upstream for Recorder {
    async fn report(&self, reports: &Reports) -> Result<(), AgentError> {
        self.reports.lock().unwrap().extend(reports.containers.iter().cloned());
        Ok(())
    }

    async fn image(&self, _image_id: Uuid) -> Result<ArchiveStream, AgentError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let bytes = self.archive.clone().unwrap_or_default();
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes.chunks(700).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        Ok(futures::stream::iter(chunks).boxed())
    }
}

fn saved_image(tags: &[&str]) -> Vec<u8> {
    saved_image_with_config(tags, "c.json")
}

/// A `docker save` archive whose image id is `sha256:` + `config` without `.json`.
fn saved_image_with_config(tags: &[&str], config: &str) -> Vec<u8> {
    let manifest = serde_json::json!([{"Config": config, "RepoTags": tags, "Layers": ["l/layer.tar"]}]).to_string();
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [("l/layer.tar", vec![1u8; 2000]), (config, b"{}".to_vec()), ("manifest.json", manifest.into_bytes())] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn timings() -> Timings {
    Timings { failure_retry: Duration::from_secs(60), ..Timings::default() }
}

fn assignment(n: u128, desired: DesiredState) -> Assignment {
    Assignment {
        id: Uuid::from_u128(n),
        name: format!("app{n}"),
        project_id: Uuid::from_u128(77),
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

struct Setup {
    host: Uuid,
    runtime: Arc<SimRuntime>,
    upstream: Arc<Recorder>,
}

impl Setup {
    fn new(sim: SimConfig, upstream: Recorder) -> Self {
        Self { host: Uuid::now_v7(), runtime: Arc::new(SimRuntime::new(sim)), upstream: Arc::new(upstream) }
    }

    fn reconciler(&self, timings: Timings) -> Reconciler {
        Reconciler::new(self.host, self.runtime.clone(), self.upstream.clone(), timings, Arc::default(), Arc::default())
    }

    async fn state_of(&self, n: u128) -> Vec<(String, u64, RuntimeState)> {
        let list = self.runtime.list(self.host).await.unwrap();
        list.into_iter().filter(|c| c.container_id == Uuid::from_u128(n)).map(|c| (c.runtime_id, c.generation, c.state)).collect()
    }
}

fn states(reports: &[Observed]) -> Vec<(u128, ObservedState)> {
    let mut out: Vec<_> = reports.iter().map(|o| (o.id.as_u128(), o.state)).collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

#[tokio::test]
async fn creates_starts_reports_and_stays_quiet() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    let set = vec![assignment(1, DesiredState::Running), assignment(2, DesiredState::Stopped), assignment(3, DesiredState::Paused)];
    r.pass(&set, &[], &[]).await.unwrap();
    assert_eq!(states(&s.upstream.take()), vec![(1, ObservedState::Running), (2, ObservedState::Created), (3, ObservedState::Paused)]);
    let list = s.runtime.list(s.host).await.unwrap();
    assert_eq!(list.len(), 3);
    let first = list.iter().find(|c| c.container_id == Uuid::from_u128(1)).unwrap();
    assert_eq!(first.name, runtime_name("app1", Uuid::from_u128(1), first.generation));
    r.pass(&set, &[], &[]).await.unwrap();
    assert!(s.upstream.take().is_empty(), "nothing changed, nothing reported");
}

#[tokio::test]
async fn desired_state_changes_are_applied() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    let mut a = assignment(1, DesiredState::Running);
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    let rid = s.state_of(1).await[0].0.clone();
    for (desired, state, observed) in [
        (DesiredState::Stopped, RuntimeState::Exited, ObservedState::Exited),
        (DesiredState::Running, RuntimeState::Running, ObservedState::Running),
        (DesiredState::Paused, RuntimeState::Paused, ObservedState::Paused),
        (DesiredState::Running, RuntimeState::Running, ObservedState::Running),
    ] {
        a.desired = desired;
        r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
        assert_eq!(s.state_of(1).await, vec![(rid.clone(), 1, state)], "{desired:?}");
        assert_eq!(states(&s.upstream.take()).last(), Some(&(1, observed)));
    }
}

#[tokio::test]
async fn a_container_that_exited_on_its_own_is_reported_not_restarted() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    let a = assignment(1, DesiredState::Running);
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    let rid = s.state_of(1).await[0].0.clone();
    s.runtime.kill(&rid, "SIGKILL").await.unwrap();
    s.upstream.take();
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(reports.len(), 1);
    assert_eq!((reports[0].state, reports[0].exit_code), (ObservedState::Exited, Some(137)));
    assert_eq!(reports[0].reason, "exited with code 137");
    assert_eq!(s.state_of(1).await, vec![(rid, 1, RuntimeState::Exited)]);
}

#[tokio::test]
async fn unassigned_and_deleted_containers_are_removed_and_reported() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    r.pass(&[assignment(1, DesiredState::Running), assignment(2, DesiredState::Running)], &[], &[]).await.unwrap();
    s.upstream.take();
    // 1 moved away (fence), 2 deleted.
    r.pass(&[assignment(2, DesiredState::Deleted)], &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(states(&reports), vec![(1, ObservedState::Removed), (2, ObservedState::Removed)]);
    assert!(s.runtime.list(s.host).await.unwrap().is_empty());
    r.pass(&[assignment(2, DesiredState::Deleted)], &[], &[]).await.unwrap();
    assert!(s.upstream.take().is_empty());
}

#[tokio::test]
async fn a_new_generation_replaces_the_old_one() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    let mut a = assignment(1, DesiredState::Running);
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    let old = s.state_of(1).await[0].0.clone();
    a.generation = 2;
    a.runtime_id = Some(old.clone());
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    let now = s.state_of(1).await;
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].0, old);
    assert_eq!((now[0].1, now[0].2), (2, RuntimeState::Running));
    let reports = s.upstream.take();
    let last = reports.last().unwrap();
    assert_eq!((last.generation, last.state), (2, ObservedState::Running));
}

#[tokio::test]
async fn a_restarted_agent_adopts_instead_of_recreating() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let set = vec![assignment(1, DesiredState::Running), assignment(2, DesiredState::Running)];
    s.reconciler(timings()).pass(&set, &[], &[]).await.unwrap();
    let before = (s.state_of(1).await, s.state_of(2).await);
    // Container 2 exited on its own while no agent ran.
    s.runtime.kill(&before.1[0].0, "SIGTERM").await.unwrap();
    let mut fresh = s.reconciler(timings());
    fresh.pass(&set, &[], &[]).await.unwrap();
    assert_eq!(s.state_of(1).await, before.0);
    assert_eq!(s.state_of(2).await, vec![(before.1[0].0.clone(), 1, RuntimeState::Exited)]);
}

#[tokio::test]
async fn vanished_containers_are_missing_unless_their_policy_restarts_them() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    let mut gone = assignment(1, DesiredState::Running);
    gone.runtime_id = Some("deadbeef".into());
    let mut restartable = assignment(2, DesiredState::Running);
    restartable.runtime_id = Some("cafe".into());
    restartable.spec.restart_policy = Some(flotilla_core::profile::RestartPolicy::Always);
    r.pass(&[gone, restartable], &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(states(&reports), vec![(1, ObservedState::Missing), (2, ObservedState::Running)]);
    assert_eq!(reports[0].reason, "removed from the runtime outside Flotilla");
    assert!(s.state_of(1).await.is_empty());
}

#[tokio::test]
async fn images_are_fetched_loaded_and_then_used() {
    let sim = SimConfig { all_images_present: false, ..SimConfig::default() };
    let s = Setup::new(sim, Recorder { archive: Some(saved_image(&["demo:latest"])), ..Recorder::default() });
    let mut r = s.reconciler(timings());
    let mut a = assignment(1, DesiredState::Running);
    let mut b = assignment(2, DesiredState::Running);
    a.image.image_id = Some(Uuid::from_u128(5));
    b.image.image_id = Some(Uuid::from_u128(5));
    r.pass(&[a, b], &[], &[]).await.unwrap();
    assert_eq!(states(&s.upstream.take()), vec![(1, ObservedState::Running), (2, ObservedState::Running)]);
    assert_eq!(s.upstream.fetches.load(Ordering::SeqCst), 1, "one download for two containers");
    assert_eq!(s.runtime.images().await.unwrap(), vec!["demo:latest".to_owned()]);
}

#[tokio::test]
async fn a_flotilla_image_runs_by_its_id_never_by_a_tag_in_the_cache() {
    let sim = SimConfig { all_images_present: false, ..SimConfig::default() };
    let s = Setup::new(sim, Recorder { archive: Some(saved_image(&["demo:latest"])), ..Recorder::default() });
    // The host already holds another image under the same tag (another project's, say).
    let theirs = saved_image_with_config(&["demo:latest"], "theirs.json");
    s.runtime.load_image(futures::stream::iter([Ok(Bytes::from(theirs))]).boxed()).await.unwrap();
    let mut a = assignment(1, DesiredState::Running);
    a.image.image_id = Some(Uuid::from_u128(5));
    a.image.digest = Some("sha256:c".into());
    s.reconciler(timings()).pass(&[a], &[], &[]).await.unwrap();
    assert_eq!(states(&s.upstream.take()), vec![(1, ObservedState::Running)]);
    assert_eq!(s.upstream.fetches.load(Ordering::SeqCst), 1, "the cached tag is not the assigned image: it is fetched");
    assert!(s.runtime.has_image("sha256:c").await.unwrap() && s.runtime.has_image("sha256:theirs").await.unwrap());
}

#[tokio::test]
async fn image_problems_fail_the_container_and_are_not_hammered() {
    let sim = SimConfig { all_images_present: false, ..SimConfig::default() };
    let s = Setup::new(sim.clone(), Recorder { archive: Some(saved_image(&["other:latest"])), ..Recorder::default() });
    let mut a = assignment(1, DesiredState::Running);
    a.image.image_id = Some(Uuid::from_u128(5));
    let mut r = s.reconciler(timings());
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(states(&reports), vec![(1, ObservedState::Failed)]);
    assert!(reports[0].reason.contains("not demo:latest"), "{}", reports[0].reason);
    r.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    assert_eq!(s.upstream.fetches.load(Ordering::SeqCst), 1, "held back for failure_retry");
    let mut eager = s.reconciler(Timings { failure_retry: Duration::ZERO, ..timings() });
    eager.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    eager.pass(std::slice::from_ref(&a), &[], &[]).await.unwrap();
    assert_eq!(s.upstream.fetches.load(Ordering::SeqCst), 3, "retried once the delay passed");

    let s = Setup::new(sim, Recorder::default());
    s.reconciler(timings()).pass(&[assignment(1, DesiredState::Running)], &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(reports[0].state, ObservedState::Failed);
    assert_eq!(reports[0].reason, "image demo:latest not found on host");
    assert_eq!(s.upstream.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn injected_failures_are_reported_as_failed() {
    let s = Setup::new(SimConfig { failure_rate: 1.0, ..SimConfig::default() }, Recorder::default());
    s.reconciler(timings()).pass(&[assignment(1, DesiredState::Running)], &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(states(&reports), vec![(1, ObservedState::Failed)]);
    assert_eq!(reports[0].reason, "creating: simulated failure of create");
}

#[tokio::test]
async fn stray_copies_and_foreign_hosts_are_told_apart() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let other_host = Uuid::now_v7();
    let spec = |host_id, name: &str| CreateSpec {
        container_id: Uuid::from_u128(9),
        host_id,
        project_id: Uuid::from_u128(77),
        generation: 1,
        name: name.into(),
        image: "demo:latest".into(),
        properties: ContainerProperties { image: "demo:latest".into(), ..Default::default() },
        networks: vec![],
        mounts: vec![],
    };
    let foreign = s.runtime.create(&spec(other_host, "other")).await.unwrap();
    s.runtime.create(&spec(s.host, "mine")).await.unwrap();
    s.reconciler(timings()).pass(&[], &[], &[]).await.unwrap();
    assert!(s.runtime.list(s.host).await.unwrap().is_empty());
    assert_eq!(s.runtime.list(other_host).await.unwrap()[0].runtime_id, foreign, "another host's container is not touched");
}

fn network_of(n: u128) -> String {
    network_name(&network(n))
}

fn volume_of(n: u128) -> String {
    volume_name(&volume(n))
}

/// The runtime's Flotilla networks or volumes: (name, made by this host), sorted.
fn objects(listed: Vec<RuntimeObject>, host: Uuid) -> Vec<(String, bool)> {
    let mut out: Vec<_> = listed.into_iter().map(|o| (o.name, o.host_id == host)).collect();
    out.sort();
    out
}

impl Setup {
    /// The runtime id and connected networks of container `n`.
    async fn attachments_of(&self, n: u128) -> (String, Vec<String>) {
        let list = self.runtime.list(self.host).await.unwrap();
        let c = list.into_iter().find(|c| c.container_id == Uuid::from_u128(n)).expect("container exists");
        (c.runtime_id, c.networks)
    }
}

#[tokio::test]
async fn networks_and_volumes_are_made_followed_live_and_removed() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let mut r = s.reconciler(timings());
    let a = on(assignment(1, DesiredState::Running), &[1, 2], &[7]);
    let b = on(assignment(2, DesiredState::Running), &[1], &[7]);
    r.pass(&[a.clone(), b.clone()], &[volume(8)], &[]).await.unwrap();
    assert_eq!(states(&s.upstream.take()), vec![(1, ObservedState::Running), (2, ObservedState::Running)]);
    let mine = |names: &[String]| names.iter().map(|n| (n.clone(), true)).collect::<Vec<_>>();
    assert_eq!(objects(s.runtime.networks().await.unwrap(), s.host), mine(&[network_of(1), network_of(2)]));
    assert_eq!(objects(s.runtime.volumes().await.unwrap(), s.host), mine(&[volume_of(7), volume_of(8)]), "the pool's volume too");
    let (a_id, a_networks) = s.attachments_of(1).await;
    let (b_id, b_networks) = s.attachments_of(2).await;
    assert_eq!((a_networks, b_networks), (vec![network_of(1), network_of(2)], vec![network_of(1)]));

    // Network 2 detached from 1 and attached to 2, without a new generation: live, not recreated.
    let a = on(assignment(1, DesiredState::Running), &[1], &[7]);
    let b = on(assignment(2, DesiredState::Running), &[1, 2], &[7]);
    r.pass(&[a.clone(), b.clone()], &[volume(8)], &[]).await.unwrap();
    assert_eq!(s.attachments_of(1).await, (a_id, vec![network_of(1)]));
    assert_eq!(s.attachments_of(2).await, (b_id, vec![network_of(1), network_of(2)]));

    // Network 2 and the pool's volume are no longer needed.
    r.pass(&[a.clone(), on(assignment(2, DesiredState::Running), &[1], &[7])], &[], &[]).await.unwrap();
    assert_eq!(objects(s.runtime.networks().await.unwrap(), s.host), mine(&[network_of(1)]));
    assert_eq!(objects(s.runtime.volumes().await.unwrap(), s.host), mine(&[volume_of(7)]));

    r.pass(&[], &[], &[]).await.unwrap();
    assert!(s.runtime.list(s.host).await.unwrap().is_empty());
    assert_eq!(objects(s.runtime.networks().await.unwrap(), s.host), vec![], "nothing left");
    assert_eq!(objects(s.runtime.volumes().await.unwrap(), s.host), vec![]);
}

#[tokio::test]
async fn another_hosts_objects_are_used_and_never_removed() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let other_host = Uuid::now_v7();
    // Another agent on the same engine made network 1 and volume 7, and runs a container on network 3.
    s.runtime.ensure_network(&NetworkSpec::new(&network(1), other_host)).await.unwrap();
    s.runtime.ensure_volume(&VolumeSpec::new(&volume(7), other_host)).await.unwrap();
    let mut r = s.reconciler(timings());
    r.pass(&[on(assignment(1, DesiredState::Running), &[1, 3], &[7])], &[], &[]).await.unwrap();
    assert_eq!(states(&s.upstream.take()), vec![(1, ObservedState::Running)]);
    assert_eq!(objects(s.runtime.networks().await.unwrap(), s.host), vec![(network_of(1), false), (network_of(3), true)]);
    let mut theirs = CreateSpec::of(&on(assignment(9, DesiredState::Running), &[3], &[]), other_host);
    theirs.name = "theirs".into();
    s.runtime.create(&theirs).await.unwrap();

    r.pass(&[], &[], &[]).await.unwrap();
    assert_eq!(
        objects(s.runtime.networks().await.unwrap(), s.host),
        vec![(network_of(1), false), (network_of(3), true)],
        "another host's network stays; this host's is left while another host's container uses it"
    );
    assert_eq!(objects(s.runtime.volumes().await.unwrap(), s.host), vec![(volume_of(7), false)]);
    for c in s.runtime.list(other_host).await.unwrap() {
        s.runtime.remove(&c.runtime_id, true).await.unwrap();
    }
    r.pass(&[], &[], &[]).await.unwrap();
    assert_eq!(objects(s.runtime.networks().await.unwrap(), s.host), vec![(network_of(1), false)], "removed once free");
}

#[tokio::test]
async fn a_network_that_cannot_be_made_fails_its_containers_with_why() {
    let s = Setup::new(SimConfig::default(), Recorder::default());
    let impostor = NetworkSpec { network_id: Uuid::from_u128(99), ..NetworkSpec::new(&network(1), s.host) };
    s.runtime.ensure_network(&impostor).await.unwrap();
    s.reconciler(timings()).pass(&[on(assignment(1, DesiredState::Running), &[1], &[])], &[], &[]).await.unwrap();
    let reports = s.upstream.take();
    assert_eq!(states(&reports), vec![(1, ObservedState::Failed)]);
    let reason = &reports[0].reason;
    assert!(reason.starts_with(&format!("network {}: conflict: ", network_of(1))), "{reason}");
    assert!(s.state_of(1).await.is_empty(), "not created");
}

/// Sends a set of `revision` on `sender`.
fn publish(sender: &watch::Sender<Option<Arc<Assignments>>>, revision: u64) {
    sender.send_replace(Some(Arc::new(Assignments { revision, ..Default::default() })));
}

#[tokio::test]
async fn a_burst_of_sets_settles_into_one_pass_on_the_last() {
    let (sender, mut receiver) = watch::channel(None);
    publish(&sender, 1);
    let burst = tokio::spawn(async move {
        for revision in 2..=5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            publish(&sender, revision);
        }
        sender
    });
    let started = Instant::now();
    settle(&mut receiver, Duration::from_millis(500), Duration::from_secs(30)).await;
    let _sender = burst.await.unwrap();
    assert_eq!(receiver.borrow_and_update().as_ref().map(|a| a.revision), Some(5), "the pass sees the burst's last set");
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited a quiet period after the last set");
}

#[tokio::test]
async fn sets_that_keep_coming_settle_at_the_longest_wait() {
    let (sender, mut receiver) = watch::channel(None);
    let stream = tokio::spawn(async move {
        for revision in 1.. {
            if sender.is_closed() {
                return;
            }
            publish(&sender, revision);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let started = Instant::now();
    let settled =
        tokio::time::timeout(Duration::from_secs(20), settle(&mut receiver, Duration::from_secs(5), Duration::from_secs(1))).await;
    assert!(settled.is_ok(), "a pass is not held back for ever");
    assert!(started.elapsed() < Duration::from_secs(5), "held back {:?}, past the longest wait", started.elapsed());
    drop(receiver);
    stream.await.unwrap();
}
