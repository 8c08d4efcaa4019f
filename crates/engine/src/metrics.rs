//! The engine's and the scheduler's Prometheus series: actions by kind and result, their
//! durations, takeovers of silent engines, placements, no-fits by reason and placement latency.
//! The engine owns them; the server registers them in its registry and serves them.

use flotilla_core::action::{ActionKind, ActionStatus};
use flotilla_core::scheduler::{NoFit, Observer};
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};
use std::time::Duration;

/// Scheduling decisions take microseconds; a scan of a large fleet milliseconds.
const PLACEMENT_BUCKETS: [f64; 10] = [1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2, 5e-2, 0.25, 1.0];
/// Actions take from milliseconds (a check) to minutes (a rolling update).
const ACTION_BUCKETS: [f64; 11] = [0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// The series; cheap to share (`Arc`), each update a relaxed atomic.
#[derive(Clone)]
pub struct EngineMetrics {
    actions: IntCounterVec,
    durations: HistogramVec,
    takeovers: IntCounter,
    placements: IntCounter,
    no_fits: IntCounterVec,
    placement_latency: Histogram,
}

impl std::fmt::Debug for EngineMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineMetrics").finish_non_exhaustive()
    }
}

impl Default for EngineMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl EngineMetrics {
    pub fn new() -> Self {
        let counter = |name: &str, help: &str, labels: &[&str]| IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
        Self {
            actions: counter(
                "engine_actions_total",
                "Actions ended, by kind and result (succeeded, failed, cancelled)",
                &["kind", "result"],
            ),
            durations: HistogramVec::new(
                HistogramOpts::new("engine_action_duration_seconds", "Time from an action's start to its end, by kind")
                    .buckets(ACTION_BUCKETS.to_vec()),
                &["kind"],
            )
            .expect("valid metric"),
            takeovers: IntCounter::new("engine_takeovers_total", "Silent engines whose actions this engine took over")
                .expect("valid metric"),
            placements: IntCounter::new("scheduler_placements_total", "Containers the scheduler placed on a host").expect("valid metric"),
            no_fits: counter(
                "scheduler_no_fits_total",
                "Placements no host fitted, counted under each reason that refused a host (no_hosts: none to refuse)",
                &["reason"],
            ),
            placement_latency: Histogram::with_opts(
                HistogramOpts::new("scheduler_placement_duration_seconds", "Time the scheduler took to choose a host or refuse")
                    .buckets(PLACEMENT_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
        }
    }

    /// Adds every series to `registry`.
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.actions.clone()))?;
        registry.register(Box::new(self.durations.clone()))?;
        registry.register(Box::new(self.takeovers.clone()))?;
        registry.register(Box::new(self.placements.clone()))?;
        registry.register(Box::new(self.no_fits.clone()))?;
        registry.register(Box::new(self.placement_latency.clone()))
    }

    /// An action of `kind` ended with `status` after `took`.
    pub(crate) fn action_ended(&self, kind: ActionKind, status: ActionStatus, took: Duration) {
        self.actions.with_label_values(&[kind.as_str(), &status.as_str().to_ascii_lowercase()]).inc();
        self.durations.with_label_values(&[kind.as_str()]).observe(took.as_secs_f64());
    }

    /// This engine took over the actions of `engines` silent engines.
    pub(crate) fn took_over(&self, engines: usize) {
        self.takeovers.inc_by(engines as u64);
    }
}

impl Observer for EngineMetrics {
    fn placed(&self, took: Duration) {
        self.placements.inc();
        self.placement_latency.observe(took.as_secs_f64());
    }

    fn no_fit(&self, no_fit: &NoFit, took: Duration) {
        if no_fit.reasons.is_empty() {
            self.no_fits.with_label_values(&["no_hosts"]).inc();
        }
        for reason in no_fit.reasons.keys() {
            self.no_fits.with_label_values(&[reason.key()]).inc();
        }
        self.placement_latency.observe(took.as_secs_f64());
    }
}
