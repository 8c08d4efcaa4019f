//! The agent's Prometheus series (reconcile passes and their time, runtime operations that
//! failed, probe results), served at `/metrics` on a plain listener when `--metrics-listen` is given.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus::{Encoder, Histogram, HistogramOpts, IntCounterVec, Opts, Registry, TextEncoder};
use std::sync::Arc;
use std::time::Duration;

/// A pass takes milliseconds when nothing changes, seconds when images are loaded.
const PASS_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0, 60.0];

/// One agent's series, in its own registry.
pub struct AgentMetrics {
    registry: Registry,
    passes: IntCounterVec,
    pass_time: Histogram,
    runtime_errors: IntCounterVec,
    probes: IntCounterVec,
}

impl std::fmt::Debug for AgentMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentMetrics").finish_non_exhaustive()
    }
}

impl Default for AgentMetrics {
    fn default() -> Self {
        let registry = Registry::new_custom(Some("flotilla".into()), None).expect("valid prefix");
        let counter = |name: &str, help: &str, label: &str| {
            let counter = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric");
            registry.register(Box::new(counter.clone())).expect("registered once");
            counter
        };
        let passes = counter("agent_reconcile_passes_total", "Reconcile passes, by result (ok, error)", "result");
        let runtime_errors =
            counter("agent_runtime_errors_total", "Runtime operations of reconcile passes that failed, by operation", "operation");
        let probes = counter("agent_probe_results_total", "Health probes run, by result (pass, fail)", "result");
        let pass_time = Histogram::with_opts(
            HistogramOpts::new("agent_reconcile_duration_seconds", "Time a reconcile pass took").buckets(PASS_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        registry.register(Box::new(pass_time.clone())).expect("registered once");
        Self { registry, passes, pass_time, runtime_errors, probes }
    }
}

impl AgentMetrics {
    /// A reconcile pass ended after `took`, done or failed.
    pub(crate) fn pass(&self, ok: bool, took: Duration) {
        self.passes.with_label_values(&[if ok { "ok" } else { "error" }]).inc();
        self.pass_time.observe(took.as_secs_f64());
    }

    /// A runtime `operation` of a pass failed.
    pub(crate) fn runtime_error(&self, operation: &str) {
        self.runtime_errors.with_label_values(&[operation]).inc();
    }

    /// A health probe passed or failed.
    pub(crate) fn probe(&self, passed: bool) {
        self.probes.with_label_values(&[if passed { "pass" } else { "fail" }]).inc();
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

/// The metrics listener's routes: `GET /metrics`.
pub(crate) fn router(metrics: Arc<AgentMetrics>) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(handler)).with_state(metrics)
}

async fn handler(State(metrics): State<Arc<AgentMetrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
}
