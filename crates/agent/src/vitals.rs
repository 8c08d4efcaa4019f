//! What the agent measures of its running containers between reconcile passes: health (written
//! by the prober, `probe.rs`) and CPU use (sampled here), read by the reconciler's reports. A
//! change of health wakes the reconciler, so it is reported at once; CPU use rides along with
//! the periodic reports.

use crate::agent::stopped;
use crate::runtime::{ContainerRuntime, RuntimeState};
use flotilla_api::agent::Health;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// How many containers' CPU use is read at once.
const CONCURRENT_SAMPLES: usize = 4;

/// What was measured of one container, by Flotilla container id, for one runtime container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vital {
    /// The runtime container measured: a figure of another (an older generation) is not its.
    pub runtime_id: String,
    /// The prober's verdict; `None` before the prober looked at it.
    pub health: Option<Health>,
    pub cpu_percent: Option<f64>,
}

/// The board the prober and the CPU sampler write and the reconciler reads.
#[derive(Debug, Default)]
pub struct Vitals {
    board: Mutex<HashMap<Uuid, Vital>>,
    health_changed: Notify,
}

impl Vitals {
    fn board(&self) -> MutexGuard<'_, HashMap<Uuid, Vital>> {
        // Plain values: a panic elsewhere cannot leave the map inconsistent.
        self.board.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Container `id`'s entry for `runtime_id`, emptied when it held another runtime container's figures.
    fn entry<'a>(board: &'a mut HashMap<Uuid, Vital>, id: Uuid, runtime_id: &str) -> &'a mut Vital {
        let vital = board.entry(id).or_default();
        if vital.runtime_id != runtime_id {
            *vital = Vital { runtime_id: runtime_id.to_owned(), ..Vital::default() };
        }
        vital
    }

    /// Everything measured now.
    pub fn snapshot(&self) -> HashMap<Uuid, Vital> {
        self.board().clone()
    }

    /// Records the prober's verdict; a new verdict (not a new reason) wakes the reconciler.
    pub fn set_health(&self, id: Uuid, runtime_id: &str, health: Health) {
        let mut board = self.board();
        let vital = Self::entry(&mut board, id, runtime_id);
        let changed = vital.health.as_ref().map(|h| h.status) != Some(health.status);
        vital.health = Some(health);
        drop(board);
        if changed {
            self.health_changed.notify_one();
        }
    }

    /// Forgets container `id`'s health: it is no longer probed (stopped, replaced, unassigned).
    pub fn clear_health(&self, id: Uuid) {
        if let Some(vital) = self.board().get_mut(&id) {
            vital.health = None;
        }
    }

    /// Replaces every CPU figure with `samples` (container id, runtime id, percent): containers
    /// not among them no longer run.
    pub fn set_cpu(&self, samples: Vec<(Uuid, String, Option<f64>)>) {
        let mut board = self.board();
        for vital in board.values_mut() {
            vital.cpu_percent = None;
        }
        for (id, runtime_id, percent) in samples {
            Self::entry(&mut board, id, &runtime_id).cpu_percent = percent;
        }
        board.retain(|_, vital| vital.health.is_some() || vital.cpu_percent.is_some());
    }

    /// Resolves when a container's health changed since the last call returned.
    pub async fn health_changed(&self) {
        self.health_changed.notified().await;
    }
}

/// Samples the CPU use of every running container of `host_id` every `every` (at most
/// [`CONCURRENT_SAMPLES`] at once) until `shutdown` turns true.
pub async fn sample_cpu(
    host_id: Uuid,
    runtime: Arc<dyn ContainerRuntime>,
    vitals: Arc<Vitals>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            _ = tick.tick() => {}
        }
        let sampling = async {
            let listed = match runtime.list(host_id).await {
                Ok(listed) => listed,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list containers to sample their CPU use");
                    return;
                }
            };
            let running = listed.into_iter().filter(|c| c.state == RuntimeState::Running);
            let samples = futures::stream::iter(running)
                .map(|c| {
                    let runtime = runtime.clone();
                    async move {
                        let percent = runtime.cpu_percent(&c.runtime_id).await.unwrap_or_else(|e| {
                            tracing::debug!(container = %c.container_id, error = %e, "cannot sample CPU use");
                            None
                        });
                        (c.container_id, c.runtime_id, percent)
                    }
                })
                .buffer_unordered(CONCURRENT_SAMPLES)
                .collect()
                .await;
            vitals.set_cpu(samples);
        };
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = sampling => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::agent::HealthStatus;

    fn health(status: HealthStatus, reason: &str) -> Health {
        Health { status, reason: reason.into() }
    }

    #[tokio::test]
    async fn a_new_verdict_wakes_the_reconciler_a_new_reason_does_not() {
        let vitals = Vitals::default();
        let id = Uuid::from_u128(1);
        let woken = || async { tokio::time::timeout(Duration::from_millis(50), vitals.health_changed()).await.is_ok() };
        vitals.set_health(id, "r1", health(HealthStatus::Starting, ""));
        assert!(woken().await);
        vitals.set_health(id, "r1", health(HealthStatus::Unhealthy, "HTTP 500"));
        assert!(woken().await);
        vitals.set_health(id, "r1", health(HealthStatus::Unhealthy, "timed out"));
        assert!(!woken().await, "same verdict, other reason");
        assert_eq!(vitals.snapshot()[&id].health, Some(health(HealthStatus::Unhealthy, "timed out")));
    }

    #[test]
    fn figures_belong_to_one_runtime_container() {
        let vitals = Vitals::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        vitals.set_health(a, "r1", health(HealthStatus::Healthy, ""));
        vitals.set_cpu(vec![(a, "r1".into(), Some(40.0)), (b, "r2".into(), None)]);
        assert_eq!(
            vitals.snapshot()[&a],
            Vital { runtime_id: "r1".into(), health: Some(health(HealthStatus::Healthy, "")), cpu_percent: Some(40.0) }
        );
        assert!(!vitals.snapshot().contains_key(&b), "nothing known of b yet");

        // A new generation replaced a's runtime container: the old figures are not its.
        vitals.set_cpu(vec![(a, "r9".into(), Some(5.0))]);
        assert_eq!(vitals.snapshot()[&a], Vital { runtime_id: "r9".into(), health: None, cpu_percent: Some(5.0) });

        // a stopped.
        vitals.set_cpu(vec![]);
        assert!(vitals.snapshot().is_empty());
        vitals.set_health(b, "r2", health(HealthStatus::Starting, ""));
        vitals.clear_health(b);
        vitals.set_cpu(vec![]);
        assert!(vitals.snapshot().is_empty());
    }
}
