//! The running agent: joins, then runs its loops (heartbeat, long-poll, reconcile, probes, CPU
//! samples) and its listener until shut down. Shutting down never touches the containers: the next agent adopts them.

use crate::callback::{self, CallbackState};
use crate::config::{AgentConfig, url_host};
use crate::error::AgentError;
use crate::follow::Follow;
use crate::metrics::AgentMetrics;
use crate::overlay::Overlay;
use crate::probe::Prober;
use crate::reconcile::Reconciler;
use crate::region::{RegionClient, http_client};
use crate::runtime::ContainerRuntime;
use crate::state::StateFile;
use crate::vitals::{self, Vitals};
use flotilla_api::agent::{AgentJoin, Assignments, Heartbeat};
use flotilla_api::{Capacity, HostUtilisation};
use flotilla_tls::{Identity, TlsListener};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The version this agent reports on joining and on each heartbeat: the workspace's, which is the
/// `flotilla` binary's.
const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Longest pause between long-poll attempts while the server is unreachable.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(5);
/// How long shutdown waits for a loop before aborting it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A joined, running agent.
#[derive(Debug)]
pub struct Agent {
    host_id: Uuid,
    name: String,
    advertise: String,
    /// Where `/metrics` is served, when it is.
    metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // Err: the sender is gone, which also means stop.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Sleeps `duration` unless shutdown comes first; `false` when it did.
async fn pause(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = stopped(shutdown) => false,
        _ = tokio::time::sleep(duration) => true,
    }
}

impl Agent {
    /// Binds the listener, joins the region, and starts the loops.
    pub async fn start(config: AgentConfig, runtime: Arc<dyn ContainerRuntime>) -> Result<Agent, AgentError> {
        let http = http_client(config.ca_cert.as_deref())?;
        Self::start_with(config, runtime, http).await
    }

    /// [`Agent::start`] with a given HTTP client (simulated hosts of one process share one).
    pub(crate) async fn start_with(
        config: AgentConfig,
        runtime: Arc<dyn ContainerRuntime>,
        http: reqwest::Client,
    ) -> Result<Agent, AgentError> {
        let capacity = config.capacity.apply(runtime.capacity().await?);
        let metrics_listener = match config.metrics_listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| AgentError::Bind { addr, source })?;
                let bound = listener.local_addr().map_err(|source| AgentError::Bind { addr, source })?;
                Some((listener, bound))
            }
            None => None,
        };
        let listener =
            tokio::net::TcpListener::bind(config.listen).await.map_err(|source| AgentError::Bind { addr: config.listen, source })?;
        let bound = listener.local_addr().map_err(|source| AgentError::Bind { addr: config.listen, source })?;
        let advertise = config.advertise.clone().unwrap_or_else(|| format!("https://{bound}"));
        // A key pair of this run: the server pins its certificate when the agent joins.
        let identity = Identity::self_signed(&[url_host(&advertise).to_owned()])?;
        // The overlay is the Docker runtime's: the simulated one has no kernel devices to bind.
        let overlay = match config.tunnel_address {
            Some(local) if runtime.kind() == "docker" => Some(Overlay::connect(local)?),
            _ => None,
        };
        let join = AgentJoin {
            join_token: config.join_token.clone(),
            credential: None,
            name: config.name.clone(),
            zone: config.zone.clone(),
            pool: config.pool.clone(),
            labels: config.labels.clone(),
            runtime: runtime.kind().to_owned(),
            advertise: advertise.clone(),
            capacity,
            certificate: identity.cert_pem.clone(),
            tunnel_address: config.tunnel_address.map(|t| t.to_string()),
            agent_version: AGENT_VERSION.to_owned(),
        };
        let state = config.state_dir.as_deref().map(|dir| StateFile::new(dir, &config.name));
        let (region, joined) = RegionClient::join(http, &config.server, join, config.timings.join_retry_for, state).await?;
        let tls = flotilla_tls::pinned_server_config(&identity, region.server_pin())?;
        let listener = TlsListener::new(listener, tls).map_err(|source| AgentError::Bind { addr: bound, source })?;
        let region = Arc::new(region);
        let host_id = joined.host_id;
        tracing::info!(host = %config.name, %host_id, %advertise, runtime = runtime.kind(), "joined the region");

        let (shutdown, shutdown_rx) = watch::channel(false);
        let (assignments_tx, assignments_rx) = watch::channel(None);
        let app = callback::router(CallbackState { runtime: runtime.clone(), host_id, shutdown: shutdown_rx.clone() });
        let mut serve_shutdown = shutdown_rx.clone();
        let serve = async move {
            let result = axum::serve(listener, app).with_graceful_shutdown(async move { stopped(&mut serve_shutdown).await }).await;
            if let Err(e) = result {
                tracing::error!(error = %e, "agent listener failed");
            }
        };
        let heartbeat_every = Duration::from_millis(joined.heartbeat_interval_ms.max(100));
        let timings = config.timings;
        let vitals = Arc::new(Vitals::default());
        let metrics = Arc::new(AgentMetrics::default());
        let reconciler =
            Reconciler::new(host_id, runtime.clone(), region.clone(), timings, vitals.clone(), metrics.clone()).with_overlay(overlay);
        let prober = Prober::new(host_id, runtime.clone(), vitals.clone(), metrics.clone());
        let mut tasks = Vec::new();
        let metrics_addr = metrics_listener.as_ref().map(|(_, bound)| *bound);
        if let Some((listener, bound)) = metrics_listener {
            tracing::info!(addr = %bound, "serving metrics at /metrics");
            tasks.push(tokio::spawn(serve_metrics(listener, metrics, shutdown_rx.clone())));
        }
        if let Some(port) = config.dns_port {
            let follow = Follow::new(assignments_rx.clone(), shutdown_rx.clone(), timings.resync);
            let lookup = Arc::new(crate::dns::NameLookup::new(region.clone()));
            tasks.push(tokio::spawn(crate::dns::serve_names(port, lookup, follow)));
        }
        if config.routing {
            tasks.push(tokio::spawn(crate::routing::route(Follow::new(assignments_rx.clone(), shutdown_rx.clone(), timings.resync))));
        }
        tasks.extend([
            tokio::spawn(serve),
            tokio::spawn(heartbeats(region.clone(), runtime.clone(), capacity, heartbeat_every, shutdown_rx.clone())),
            tokio::spawn(poll_assignments(region, timings.long_poll_wait_secs, assignments_tx, shutdown_rx.clone())),
            tokio::spawn(prober.run(assignments_rx.clone(), shutdown_rx.clone(), timings.probe_tick)),
            tokio::spawn(vitals::sample_cpu(host_id, runtime, vitals, timings.cpu_sample, shutdown_rx.clone())),
            tokio::spawn(reconciler.run(assignments_rx, shutdown_rx)),
        ]);
        Ok(Agent { host_id, name: config.name, advertise, metrics_addr, shutdown, tasks })
    }

    /// The host's id in the region.
    pub fn host_id(&self) -> Uuid {
        self.host_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the server reaches this agent.
    pub fn advertise(&self) -> &str {
        &self.advertise
    }

    /// Where the agent serves `/metrics` (plain HTTP), when it was asked to.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Stops the loops and the listener. The containers are left as they are.
    pub async fn shutdown(self) {
        // Err: every receiver is gone already, so nothing is left to stop.
        let _ = self.shutdown.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
        tracing::info!(host = %self.name, "agent stopped");
    }

    /// Runs until `signal` resolves, then shuts down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// Serves the agent's metrics on `listener` until shutdown.
async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<AgentMetrics>, mut shutdown: watch::Receiver<bool>) {
    let served = axum::serve(listener, crate::metrics::router(metrics)).with_graceful_shutdown(async move { stopped(&mut shutdown).await });
    if let Err(e) = served.await {
        tracing::error!(error = %e, "agent metrics listener failed");
    }
}

/// Heartbeats every `every`, the first at once.
async fn heartbeats(
    region: Arc<RegionClient>,
    runtime: Arc<dyn ContainerRuntime>,
    capacity: Capacity,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => return,
            _ = tick.tick() => {}
        }
        let utilisation = runtime.utilisation().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot measure utilisation");
            HostUtilisation::default()
        });
        let images = runtime.images().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot list images");
            Vec::new()
        });
        let beat = Heartbeat { capacity, utilisation, images, agent_version: AGENT_VERSION.to_owned() };
        tokio::select! {
            _ = stopped(&mut shutdown) => return,
            result = region.heartbeat(&beat) => if let Err(e) = result {
                tracing::warn!(error = %e, "heartbeat failed");
            }
        }
    }
}

/// Long-polls for assignments and publishes every answer.
async fn poll_assignments(
    region: Arc<RegionClient>,
    wait_secs: u64,
    publish: watch::Sender<Option<Arc<Assignments>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut since = None;
    let mut backoff = Duration::from_millis(200);
    loop {
        let answer = tokio::select! {
            _ = stopped(&mut shutdown) => return,
            answer = region.assignments(since, wait_secs) => answer,
        };
        match answer {
            Ok(assignments) => {
                since = Some(assignments.revision);
                backoff = Duration::from_millis(200);
                publish.send_replace(Some(Arc::new(assignments)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "polling for assignments failed");
                if !pause(backoff, &mut shutdown).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_POLL_BACKOFF);
            }
        }
    }
}
