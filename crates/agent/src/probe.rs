//! The prober: runs the health checks of the host's running containers, as kubelet does, and
//! posts each verdict on the vitals board (`vitals.rs`). One task for all containers: on every
//! tick it looks at the assignments and the runtime, then starts the probes that are due (each
//! `interval` seconds, bounded by `timeout`, at most one in flight per container and
//! [`CONCURRENT_PROBES`] in all); the probes run inside the task, never as tasks of their own.
//!
//! The verdict ([`Tracker`]): `starting` until the first pass (or `retries` failures), `healthy`
//! after one pass, `unhealthy` after `retries` failures in a row.

use crate::agent::stopped;
use crate::metrics::AgentMetrics;
use crate::runtime::{ContainerRuntime, ProbeOutcome, RuntimeState};
use crate::vitals::Vitals;
use flotilla_api::agent::{Assignments, Health, HealthStatus};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::Healthcheck;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// The most probes in flight at once on one host.
const CONCURRENT_PROBES: usize = 32;

/// One container's probe results so far, and the verdict they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    health: Health,
    /// Failures in a row.
    failures: u32,
}

impl Default for Tracker {
    fn default() -> Self {
        Self { health: Health { status: HealthStatus::Starting, reason: String::new() }, failures: 0 }
    }
}

impl Tracker {
    /// Counts one probe's outcome; answers the verdict now. `retries` of 0 counts as 1.
    pub fn record(&mut self, outcome: ProbeOutcome, retries: u32) -> &Health {
        match outcome {
            ProbeOutcome::Pass => {
                self.failures = 0;
                self.health = Health { status: HealthStatus::Healthy, reason: String::new() };
            }
            ProbeOutcome::Fail(reason) => {
                self.failures = self.failures.saturating_add(1);
                if self.failures >= retries.max(1) {
                    self.health = Health { status: HealthStatus::Unhealthy, reason };
                }
            }
        }
        &self.health
    }

    pub fn health(&self) -> &Health {
        &self.health
    }
}

/// A running container with a health check.
#[derive(Debug)]
struct Target {
    runtime_id: String,
    check: Healthcheck,
    tracker: Tracker,
    next_due: Instant,
    in_flight: bool,
}

/// A finished probe: container id, the runtime container probed, what it found.
type Done = (Uuid, String, ProbeOutcome);

/// One host's prober.
pub struct Prober {
    host_id: Uuid,
    runtime: Arc<dyn ContainerRuntime>,
    vitals: Arc<Vitals>,
    metrics: Arc<AgentMetrics>,
    targets: HashMap<Uuid, Target>,
}

impl Prober {
    pub fn new(host_id: Uuid, runtime: Arc<dyn ContainerRuntime>, vitals: Arc<Vitals>, metrics: Arc<AgentMetrics>) -> Self {
        Self { host_id, runtime, vitals, metrics, targets: HashMap::new() }
    }

    /// Probes until `shutdown` turns true, looking for due probes every `tick`.
    pub async fn run(
        mut self,
        assignments: watch::Receiver<Option<Arc<Assignments>>>,
        mut shutdown: watch::Receiver<bool>,
        tick: Duration,
    ) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut probes: FuturesUnordered<BoxFuture<'static, Done>> = FuturesUnordered::new();
        loop {
            tokio::select! {
                () = stopped(&mut shutdown) => return,
                Some(done) = probes.next(), if !probes.is_empty() => self.record(done),
                _ = ticker.tick() => {
                    let current = assignments.borrow().clone();
                    let now = Instant::now();
                    self.refresh(current.as_deref(), now).await;
                    self.launch(&mut probes, now);
                }
            }
        }
    }

    /// Follows the assignments and the runtime: a container is probed while it is assigned to
    /// run, has a health check and runs; a new runtime container starts afresh.
    async fn refresh(&mut self, assignments: Option<&Assignments>, now: Instant) {
        let checked: Vec<_> = assignments
            .into_iter()
            .flat_map(|a| &a.containers)
            .filter(|a| a.desired == DesiredState::Running)
            .filter_map(|a| Some((a, a.spec.healthcheck.as_ref()?)))
            .collect();
        let listed = if checked.is_empty() {
            Vec::new()
        } else {
            match self.runtime.list(self.host_id).await {
                Ok(listed) => listed,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list containers to probe them");
                    return;
                }
            }
        };
        let mut probed = HashMap::with_capacity(checked.len());
        for (a, check) in checked {
            let running =
                listed.iter().find(|c| c.container_id == a.id && c.generation == a.generation && c.state == RuntimeState::Running);
            let Some(c) = running else { continue };
            let target = match self.targets.remove(&a.id) {
                Some(target) if target.runtime_id == c.runtime_id => Target { check: check.clone(), ..target },
                _ => {
                    self.vitals.set_health(a.id, &c.runtime_id, Tracker::default().health().clone());
                    Target {
                        runtime_id: c.runtime_id.clone(),
                        check: check.clone(),
                        tracker: Tracker::default(),
                        next_due: now,
                        in_flight: false,
                    }
                }
            };
            probed.insert(a.id, target);
        }
        for gone in self.targets.keys() {
            self.vitals.clear_health(*gone);
        }
        self.targets = probed;
    }

    /// Starts the probes that are due.
    fn launch(&mut self, probes: &mut FuturesUnordered<BoxFuture<'static, Done>>, now: Instant) {
        for (&id, target) in &mut self.targets {
            if probes.len() >= CONCURRENT_PROBES {
                return;
            }
            if target.in_flight || target.next_due > now {
                continue;
            }
            target.in_flight = true;
            target.next_due = now + Duration::from_secs(target.check.interval.max(1).into());
            let (runtime, runtime_id, check) = (self.runtime.clone(), target.runtime_id.clone(), target.check.clone());
            probes.push(Box::pin(async move {
                let limit = Duration::from_secs(check.timeout.max(1).into());
                let outcome = tokio::time::timeout(limit, runtime.probe(&runtime_id, &check))
                    .await
                    .unwrap_or_else(|_| ProbeOutcome::Fail(format!("no answer within {} s", limit.as_secs())));
                (id, runtime_id, outcome)
            }));
        }
    }

    /// Counts a finished probe, unless its container was replaced or stopped meanwhile.
    fn record(&mut self, (id, runtime_id, outcome): Done) {
        let Some(target) = self.targets.get_mut(&id).filter(|t| t.runtime_id == runtime_id) else { return };
        target.in_flight = false;
        self.metrics.probe(outcome == ProbeOutcome::Pass);
        if let ProbeOutcome::Fail(reason) = &outcome {
            tracing::debug!(container = %id, %reason, "probe failed");
        }
        let health = target.tracker.record(outcome, target.check.retries).clone();
        self.vitals.set_health(id, &runtime_id, health);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::CreateSpec;
    use crate::runtime::sim::{SimConfig, SimRuntime};
    use HealthStatus::*;
    use flotilla_api::agent::{Assignment, ImageSource};
    use flotilla_core::profile::{ContainerProperties, HttpProbe};

    fn fail(reason: &str) -> ProbeOutcome {
        ProbeOutcome::Fail(reason.into())
    }

    /// Outcomes in order, retries, the verdict after each.
    type Case = (Vec<ProbeOutcome>, u32, Vec<(HealthStatus, &'static str)>);

    #[test]
    fn verdicts_follow_kubelet() {
        let table: Vec<Case> = vec![
            (vec![ProbeOutcome::Pass], 3, vec![(Healthy, "")]),
            (vec![fail("a"), fail("b"), fail("c")], 3, vec![(Starting, ""), (Starting, ""), (Unhealthy, "c")]),
            (vec![fail("a"), ProbeOutcome::Pass], 3, vec![(Starting, ""), (Healthy, "")]),
            (
                vec![ProbeOutcome::Pass, fail("a"), fail("b"), ProbeOutcome::Pass, fail("c")],
                3,
                vec![(Healthy, ""), (Healthy, ""), (Healthy, ""), (Healthy, ""), (Healthy, "")],
            ),
            (
                vec![ProbeOutcome::Pass, fail("a"), fail("b"), fail("c"), fail("d"), ProbeOutcome::Pass],
                2,
                vec![(Healthy, ""), (Healthy, ""), (Unhealthy, "b"), (Unhealthy, "c"), (Unhealthy, "d"), (Healthy, "")],
            ),
            (vec![fail("x")], 0, vec![(Unhealthy, "x")]),
            (vec![fail("x")], 1, vec![(Unhealthy, "x")]),
        ];
        for (outcomes, retries, want) in table {
            let mut tracker = Tracker::default();
            assert_eq!(tracker.health().status, Starting, "before the first result");
            let got: Vec<(HealthStatus, String)> = outcomes
                .iter()
                .map(|o| {
                    let h = tracker.record(o.clone(), retries);
                    (h.status, h.reason.clone())
                })
                .collect();
            let want: Vec<(HealthStatus, String)> = want.into_iter().map(|(s, r)| (s, r.to_owned())).collect();
            assert_eq!(got, want, "{outcomes:?} with retries {retries}");
        }
    }

    fn check(interval: u32) -> Healthcheck {
        Healthcheck {
            http: Some(HttpProbe { port: 8080, path: "/healthz".into() }),
            tcp: None,
            command: vec![],
            interval,
            timeout: 1,
            retries: 2,
        }
    }

    async fn started(rt: &SimRuntime, host: Uuid, a: &Assignment) -> String {
        let id = rt.create(&CreateSpec::of(a, host)).await.unwrap();
        rt.start(&id).await.unwrap();
        id
    }

    fn assignment(n: u128, healthcheck: Option<Healthcheck>) -> Assignment {
        Assignment {
            id: Uuid::from_u128(n),
            name: format!("c{n}"),
            project_id: Uuid::from_u128(99),
            generation: 1,
            desired: DesiredState::Running,
            spec: ContainerProperties { image: "demo:latest".into(), healthcheck, ..Default::default() },
            image: ImageSource { reference: "demo:latest".into(), image_id: None, digest: None },
            runtime_id: None,
            networks: Vec::new(),
            mounts: Vec::new(),
            unknown: false,
        }
    }

    /// Runs one tick and waits for the probes it started.
    async fn round(prober: &mut Prober, assignments: &Assignments, now: Instant) {
        let mut probes = FuturesUnordered::new();
        prober.refresh(Some(assignments), now).await;
        prober.launch(&mut probes, now);
        while let Some(done) = probes.next().await {
            prober.record(done);
        }
    }

    fn status(vitals: &Vitals, n: u128) -> Option<HealthStatus> {
        vitals.snapshot().get(&Uuid::from_u128(n)).and_then(|v| v.health.as_ref()).map(|h| h.status)
    }

    #[tokio::test]
    async fn probes_are_due_every_interval_and_follow_the_runtime() {
        let host = Uuid::now_v7();
        let rt = Arc::new(SimRuntime::new(SimConfig::default()));
        let vitals = Arc::new(Vitals::default());
        let mut prober = Prober::new(host, rt.clone(), vitals.clone(), Arc::default());
        let (checked, unchecked) = (assignment(1, Some(check(5))), assignment(2, None));
        let runtime_id = started(&rt, host, &checked).await;
        started(&rt, host, &unchecked).await;
        let assignments = Assignments { revision: 1, containers: vec![checked.clone(), unchecked.clone()], ..Assignments::default() };

        let t0 = Instant::now();
        round(&mut prober, &assignments, t0).await;
        assert_eq!((status(&vitals, 1), status(&vitals, 2)), (Some(Healthy), None), "probed at once; no check, no probe");

        rt.set_probe_failure(checked.id, Some("injected"));
        round(&mut prober, &assignments, t0 + Duration::from_secs(1)).await;
        assert_eq!(status(&vitals, 1), Some(Healthy), "not due yet: nothing ran");
        round(&mut prober, &assignments, t0 + Duration::from_secs(6)).await;
        assert_eq!(status(&vitals, 1), Some(Healthy), "one failure of two");
        round(&mut prober, &assignments, t0 + Duration::from_secs(12)).await;
        let health = vitals.snapshot()[&checked.id].health.clone().unwrap();
        assert_eq!((health.status, health.reason.as_str()), (Unhealthy, "injected"));

        rt.set_probe_failure(checked.id, None);
        round(&mut prober, &assignments, t0 + Duration::from_secs(18)).await;
        assert_eq!(status(&vitals, 1), Some(Healthy), "one pass");

        rt.stop(&runtime_id, 1).await.unwrap();
        round(&mut prober, &assignments, t0 + Duration::from_secs(24)).await;
        assert_eq!(status(&vitals, 1), None, "a stopped container is not probed");
        assert!(prober.targets.is_empty());

        rt.start(&runtime_id).await.unwrap();
        rt.set_probe_failure(checked.id, Some("still starting"));
        round(&mut prober, &assignments, t0 + Duration::from_secs(25)).await;
        assert_eq!(status(&vitals, 1), Some(Starting), "running again: starts afresh, one failure is not enough");

        round(&mut prober, &Assignments::default(), t0 + Duration::from_secs(40)).await;
        assert!(prober.targets.is_empty() && status(&vitals, 1).is_none(), "unassigned: forgotten");
    }
}
