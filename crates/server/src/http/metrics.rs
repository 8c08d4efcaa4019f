//! Prometheus metrics, served at `/metrics`: request counts and latency by route and status,
//! lock conflicts (409s on a held lock), the engine's and scheduler's series, and the region's
//! gauges (read from the store at each scrape).

use crate::error::LockConflict;
use crate::http::region_metrics::RegionGauges;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flotilla_engine::EngineMetrics;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};
use std::sync::Arc;
use std::time::Instant;

/// One server's metrics; each server has its own registry, so several can share a process.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    lock_conflicts: IntCounter,
    region: RegionGauges,
    /// One scrape at a time: the region's gauges are set, then read.
    scrape: tokio::sync::Mutex<()>,
}

impl Metrics {
    /// The server's registry, holding the engine's series `engine` too.
    pub fn new(engine: &EngineMetrics) -> Self {
        let registry = Registry::new_custom(Some("flotilla".into()), None).expect("valid prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests served, by method, route and status"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency, by method and route"),
            &["method", "route"],
        )
        .expect("valid metric");
        let lock_conflicts =
            IntCounter::new("engine_lock_conflicts_total", "Requests refused (409) because an action held the cluster's or node's lock")
                .expect("valid metric");
        let region = RegionGauges::new();
        registry.register(Box::new(requests.clone())).expect("registered once");
        registry.register(Box::new(latency.clone())).expect("registered once");
        registry.register(Box::new(lock_conflicts.clone())).expect("registered once");
        region.register(&registry).expect("registered once");
        engine.register(&registry).expect("registered once");
        Self { registry, requests, latency, lock_conflicts, region, scrape: Default::default() }
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

/// Counts and times every routed request under its route template (not its raw path).
pub async fn layer(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.latency.with_label_values(&[&method, &route]).observe(started.elapsed().as_secs_f64());
    metrics.requests.with_label_values(&[&method, &route, response.status().as_str()]).inc();
    if response.extensions().get::<LockConflict>().is_some() {
        metrics.lock_conflicts.inc();
    }
    response
}

/// `GET /metrics`; when the store cannot be read the region's gauges keep their last values
/// (the failure is logged).
pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    let metrics = &state.metrics;
    let _one = metrics.scrape.lock().await;
    match state.store.scrape_counts().await {
        Ok(counts) => metrics.region.set(&counts),
        Err(error) => tracing::warn!(%error, "metrics: cannot count the region's objects"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
}
