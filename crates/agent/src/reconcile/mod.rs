//! The reconcile loop: on every new assignment set, every resync tick and every new health
//! verdict, list the runtime, plan, act, observe and report. Level-triggered: a pass only looks at
//! what is, never at what happened.
//!
//! A pass: make the missing networks (those of the containers and those carried for the host's
//! routers) and volumes, act on containers, connect and disconnect containers whose networks
//! changed, remove the networks and volumes nothing needs, report.

mod attach;
mod bind;
mod execute;
#[cfg(test)]
pub(crate) mod fixtures;
mod memory;
mod objects;
mod observe;
mod plan;
mod report;

pub use observe::observed;

use crate::config::Timings;
use crate::error::AgentError;
use crate::metrics::AgentMetrics;
use crate::overlay::Overlay;
use crate::runtime::{ArchiveStream, ContainerRuntime};
use crate::vitals::Vitals;
use async_trait::async_trait;
use execute::{Effect, Executor};
use flotilla_api::agent::{Assignment, Assignments, HostNetwork, HostVolume, Reports};
use futures::StreamExt;
use memory::{Failure, Memory};
use report::Reporter;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// How many actions of one pass run at once: a burst of 20 to 40 containers goes to the runtime
/// at once, as that many `docker run` would (8 at a time made it 1.3–1.5× their time).
const CONCURRENT_ACTIONS: usize = 32;
/// A new assignment set is acted on once no other followed it for this long...
const SETTLE_QUIET: Duration = Duration::from_millis(20);
/// ... or once this long passed since it came.
const SETTLE_MAX: Duration = Duration::from_millis(250);

/// What the reconciler needs from the region: somewhere to report, and image archives.
#[async_trait]
pub trait Upstream: Send + Sync {
    async fn report(&self, reports: &Reports) -> Result<(), AgentError>;
    async fn image(&self, image_id: Uuid) -> Result<ArchiveStream, AgentError>;
}

/// One host's reconciler.
pub struct Reconciler {
    host_id: Uuid,
    runtime: Arc<dyn ContainerRuntime>,
    upstream: Arc<dyn Upstream>,
    timings: Timings,
    memory: Memory,
    reporter: Reporter,
    image_lock: tokio::sync::Mutex<()>,
    /// Health and CPU use of running containers, measured between passes.
    vitals: Arc<Vitals>,
    /// The host's overlay, when its networks span hosts.
    overlay: Option<Overlay>,
    metrics: Arc<AgentMetrics>,
}

impl Reconciler {
    pub fn new(
        host_id: Uuid,
        runtime: Arc<dyn ContainerRuntime>,
        upstream: Arc<dyn Upstream>,
        timings: Timings,
        vitals: Arc<Vitals>,
        metrics: Arc<AgentMetrics>,
    ) -> Self {
        Self {
            host_id,
            runtime,
            upstream,
            timings,
            memory: Memory::default(),
            reporter: Reporter::default(),
            image_lock: tokio::sync::Mutex::new(()),
            vitals,
            overlay: None,
            metrics,
        }
    }

    /// Reconciles the host's overlay too: before the networks are made, their bridges, VXLAN
    /// devices and entries; the links of networks gone once their runtime networks are.
    pub fn with_overlay(mut self, overlay: Option<Overlay>) -> Self {
        self.overlay = overlay;
        self
    }

    /// One pass over the containers `assignments`, the pool volumes `pool` and the networks
    /// `carried` for the host's routers (made and kept as if a container were on them).
    pub async fn pass(&mut self, assignments: &[Assignment], pool: &[HostVolume], carried: &[HostNetwork]) -> Result<(), AgentError> {
        let now = Instant::now();
        let mut runtime = self.runtime.list(self.host_id).await?;
        let networks = self.runtime.networks().await?;
        let mut objects = objects::plan(self.host_id, assignments, carried, pool, &networks, &self.runtime.volumes().await?);
        let mut unavailable = HashMap::new();
        if let Some(overlay) = &self.overlay {
            // The bridge of a runtime network not yet removed stays until it is.
            let keep: Vec<String> = networks.iter().map(|n| crate::overlay::bridge_name(n.id)).collect();
            unavailable = overlay.reconcile(&crate::overlay::wanted(assignments, carried), &keep).await;
            objects.ensure_networks.retain(|n| !unavailable.contains_key(&n.name));
        }
        unavailable.extend(bind::ensure(self.runtime.as_ref(), &objects).await);
        let actions = plan::plan(assignments, &runtime, &self.memory, now, self.timings.failure_retry);
        if !actions.is_empty() {
            let by_id: HashMap<Uuid, &Assignment> = assignments.iter().map(|a| (a.id, a)).collect();
            let executor = Executor {
                runtime: self.runtime.as_ref(),
                upstream: self.upstream.as_ref(),
                host_id: self.host_id,
                assignments: &by_id,
                image_lock: &self.image_lock,
                unavailable: &unavailable,
            };
            let executor = &executor;
            let outcomes: Vec<_> = futures::stream::iter(actions)
                .map(|a| async move { (a.operation(), executor.run(a).await) })
                .buffer_unordered(CONCURRENT_ACTIONS)
                .collect()
                .await;
            for (operation, outcome) in outcomes {
                if matches!(outcome.effect, Effect::Failed(_) | Effect::Error(_)) {
                    self.metrics.runtime_error(operation);
                }
                let memory = self.memory.entry(outcome.id);
                memory.discarded.extend(outcome.discarded);
                match outcome.effect {
                    Effect::Applied(desired) => {
                        memory.applied = Some((outcome.generation, desired));
                        memory.failure = None;
                    }
                    Effect::Failed(reason) => {
                        tracing::warn!(container = %outcome.id, %reason, "container failed");
                        memory.failure = Some(Failure { generation: outcome.generation, at: Instant::now(), reason });
                    }
                    Effect::Error(reason) => tracing::warn!(container = %outcome.id, %reason, "reconcile step failed"),
                    Effect::Removed(observed) => self.reporter.removed(observed),
                    Effect::Discarded => {}
                }
            }
            runtime = self.runtime.list(self.host_id).await?;
        }
        bind::attach(self.runtime.as_ref(), attach::plan(assignments, &runtime, &networks)).await;
        bind::prune(self.runtime.as_ref(), &objects).await;
        for a in assignments {
            if let Some(current) = runtime.iter().find(|c| c.container_id == a.id && c.generation == a.generation) {
                self.memory.entry(a.id).seen = Some(current.runtime_id.clone());
            }
        }
        let assigned = |id: Uuid| assignments.iter().any(|a| a.id == id);
        self.memory.retain(assigned);
        let observations = observe::observe(assignments, &runtime, &self.memory, &self.vitals.snapshot());
        let due = self.reporter.due(&observations, Instant::now(), self.timings.full_report);
        if !due.observations.is_empty() {
            self.upstream.report(&Reports { containers: due.observations.clone() }).await?;
        }
        self.reporter.sent(due, Instant::now());
        self.reporter.retain(assigned);
        Ok(())
    }

    /// Reconciles on every new assignment set, every resync tick and every new health verdict until
    /// `shutdown` turns true.
    /// Nothing is done before the first assignment set arrived: the runtime's containers are adopted, not removed.
    pub async fn run(mut self, mut assignments: watch::Receiver<Option<Arc<Assignments>>>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.timings.resync);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let new_set = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                changed = assignments.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
                _ = tick.tick() => false,
                () = self.vitals.health_changed() => false,
            };
            if new_set {
                settle(&mut assignments, SETTLE_QUIET, SETTLE_MAX).await;
            }
            let current = assignments.borrow_and_update().clone();
            if let Some(current) = current {
                if new_set {
                    // A set after the host came back UP holds the containers the server marked
                    // UNKNOWN meanwhile: reported again, whether or not they changed here.
                    self.reporter.resend(current.containers.iter().filter(|a| a.unknown).map(|a| a.id));
                }
                let carried = crate::routing::carried(&current.routers);
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => return,
                    (result, took) = timed(self.pass(&current.containers, &current.volumes, &carried)) => {
                        self.metrics.pass(result.is_ok(), took);
                        if let Err(e) = result {
                            tracing::warn!(host = %self.host_id, error = %e, "reconcile pass failed");
                        }
                    }
                }
            }
        }
    }
}

/// Waits while new assignment sets keep coming less than `quiet` apart, for at most `longest`
/// ([`SETTLE_QUIET`], [`SETTLE_MAX`]): the containers of a burst of writes (a cluster's nodes,
/// placed one after the other) are then acted on in one pass, all at once, rather than the first
/// alone and the rest after it.
async fn settle(assignments: &mut watch::Receiver<Option<Arc<Assignments>>>, quiet: Duration, longest: Duration) {
    let deadline = tokio::time::Instant::now() + longest;
    loop {
        let quiet = (tokio::time::Instant::now() + quiet).min(deadline);
        match tokio::time::timeout_at(quiet, assignments.changed()).await {
            Ok(Ok(())) if tokio::time::Instant::now() < deadline => {}
            _ => return,
        }
    }
}

/// `work`'s result and how long it took.
async fn timed<T>(work: impl Future<Output = T>) -> (T, std::time::Duration) {
    let started = Instant::now();
    let result = work.await;
    (result, started.elapsed())
}

#[cfg(test)]
mod tests;
