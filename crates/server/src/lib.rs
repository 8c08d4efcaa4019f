//! Flotilla's region server: REST API over the store, authentication, error mapping, metrics,
//! OpenAPI. The only crate that knows HTTP routing.

mod agents;
mod error;
mod events;
pub mod federation;
mod health;
mod http;
mod identity;
mod images;
mod jobs;
mod retention;
mod routes;
mod state;
mod ui;

pub use error::ApiError;
pub use identity::auth_cache::AUTH_CACHE_TTL;
pub use identity::bootstrap::Bootstrap;
pub use retention::{DEFAULT_RETENTION, Retention};

use flotilla_core::scheduler::Settings as SchedulerSettings;
use flotilla_store::{Store, StoreError};
use state::{AgentLinks, AppState, RegionSettings};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The longest a stop keeps the listener open (answering `/readyz` with 503) while requests finish.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// How often expired tokens are purged.
const TOKEN_PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Everything a region server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    pub region: String,
    /// Password of the admin created on first start; generated when absent.
    pub bootstrap_password: Option<String>,
    /// Where the server keeps its files (uploaded images under `images/`).
    pub data_dir: PathBuf,
    /// Silence after which a host is declared DOWN.
    pub grace_period: Duration,
    /// Largest image archive accepted, in bytes.
    pub image_size_limit: u64,
    pub scheduler: SchedulerSettings,
    /// The engine's knobs (its name and scheduler settings are the server's).
    pub engine: flotilla_engine::EngineConfig,
    /// Where projects' default networks are carved from.
    pub network_pool: flotilla_core::network::RegionPool,
    /// The longest a client may take to send a request's head; then the connection is closed.
    pub header_read_timeout: Duration,
    /// The longest a request body may pause between two pieces; then the request fails.
    pub body_read_timeout: Duration,
    /// How long events and finished actions are kept.
    pub retention: Retention,
    /// Serve the API over HTTPS with this certificate and key; plain HTTP when absent.
    pub tls: Option<TlsFiles>,
    /// What the server presents on its calls to agents; when absent, the identity kept in
    /// `data_dir/callback-identity` (made on first start). Servers sharing a region share one.
    pub callback_identity: Option<flotilla_tls::Identity>,
    /// Standalone, central, or a federated region.
    pub role: federation::Role,
}

/// How long a client may take to send a request head unless configured otherwise.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request body may stall unless configured otherwise.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// PEM files of the API's certificate (chain) and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where a server without a given callback identity keeps the one it made.
const CALLBACK_IDENTITY_DIR: &str = "callback-identity";

impl ServerConfig {
    /// A region with the default knobs: 10 s grace period, 2 GiB images, spread scheduling.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            listen,
            database_url: database_url.into(),
            region: "region-one".into(),
            bootstrap_password: None,
            data_dir: data_dir.into(),
            grace_period: Duration::from_secs(flotilla_core::host::DEFAULT_GRACE_PERIOD_SECS),
            image_size_limit: DEFAULT_IMAGE_SIZE_LIMIT,
            scheduler: SchedulerSettings::default(),
            engine: flotilla_engine::EngineConfig::default(),
            network_pool: flotilla_core::network::RegionPool::default(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            retention: Retention::default(),
            tls: None,
            callback_identity: None,
            role: federation::Role::Standalone,
        }
    }
}

/// Largest image archive accepted unless configured otherwise: 2 GiB.
pub const DEFAULT_IMAGE_SIZE_LIMIT: u64 = 2 << 30;

/// Why a server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("bootstrap failed: {0}")]
    Bootstrap(ApiError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("TLS: {0}")]
    Tls(#[from] flotilla_tls::TlsError),
    #[error("link to the central: {0}")]
    Link(#[from] federation::link::LinkError),
    #[error("{0}")]
    Region(#[from] federation::region::RegionStartError),
}

/// A running region server, serving in the background until shut down.
pub struct Server {
    addr: SocketAddr,
    /// `https` when the API is served over TLS.
    scheme: &'static str,
    bootstrap: Option<Bootstrap>,
    store: Store,
    stop: oneshot::Sender<()>,
    /// Ends the endless responses (event streams), which a graceful stop would otherwise wait for.
    streams: CancellationToken,
    /// `/readyz` answers 503 from the start of a stop; the requests in flight are counted.
    drain: Arc<http::drain::Drain>,
    task: JoinHandle<Result<(), ServerError>>,
    /// Token purge, heartbeat watch, retention; aborted on shutdown.
    background: Vec<JoinHandle<()>>,
    engine: flotilla_engine::Engine,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the store (migrating it), bootstraps the admin on a fresh database, binds, and serves.
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        let api_tls = config.tls.as_ref().map(|files| flotilla_tls::api_server_config(&files.cert, &files.key)).transpose()?;
        let identity = match config.callback_identity.clone() {
            Some(identity) => identity,
            None => flotilla_tls::Identity::load_or_create(&config.data_dir.join(CALLBACK_IDENTITY_DIR), &["flotilla-server".into()])?,
        };
        let engine_metrics = Arc::new(flotilla_engine::EngineMetrics::new());
        let store = Store::connect(&config.database_url)
            .await?
            .with_region_pool(config.network_pool)
            .with_scheduler_observer(engine_metrics.clone());
        let store = if matches!(config.role, federation::Role::Region(_)) { store.with_route_sync() } else { store };
        // A federated region's identity is the central's: it creates no admin of its own.
        let bootstrap = match config.role {
            federation::Role::Region(_) => None,
            _ => identity::bootstrap::bootstrap(&store, config.bootstrap_password).await.map_err(ServerError::Bootstrap)?,
        };
        let listener =
            tokio::net::TcpListener::bind(config.listen).await.map_err(|source| ServerError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind { addr: config.listen, source })?;
        let settings = RegionSettings {
            grace_period: config.grace_period,
            image_dir: config.data_dir.join("images"),
            image_size_limit: config.image_size_limit,
            scheduler: config.scheduler,
            body_read_timeout: config.body_read_timeout,
        };
        let state = AppState {
            store: store.clone(),
            region: config.region.clone(),
            metrics: Arc::new(http::metrics::Metrics::new(&engine_metrics)),
            settings: Arc::new(settings),
            agents: Arc::new(AgentLinks {
                wakers: Default::default(),
                heartbeats: Default::default(),
                assignment_reads: tokio::sync::Semaphore::new(state::ASSIGNMENT_READS),
                identity,
            }),
            engine: flotilla_engine::EngineWaker::default(),
            engine_config: Arc::new(flotilla_engine::EngineConfig {
                name: addr.to_string(),
                region: config.region.clone(),
                scheduler: config.scheduler,
                ..config.engine
            }),
            shutdown: CancellationToken::new(),
            drain: Arc::default(),
            auth: Arc::default(),
            agent_auth: Arc::new(identity::auth_cache::AuthCache::with_ttl(identity::auth_cache::AGENT_CREDENTIAL_TTL)),
            logins: Arc::default(),
            federation: federation::Federation::from_role(&config.role)?,
            blocks: Arc::default(),
            endpoints: Arc::default(),
        };
        let region_link = match (&config.role, &state.federation) {
            (federation::Role::Region(settings), federation::Federation::Region(link)) => {
                let registration = federation::region::Registration::new(&config.region, settings, config.network_pool.cidr.to_string());
                federation::region::prepare(&store, link, &registration).await?;
                Some((link.clone(), registration))
            }
            _ => None,
        };
        let engine = flotilla_engine::Engine::start(
            (*state.engine_config).clone(),
            store.clone(),
            Arc::new(agents::engine::ServerAgents::new(state.clone())),
            state.engine.clone(),
            engine_metrics,
        );
        let streams = state.shutdown.clone();
        let drain = state.drain.clone();
        let health = tokio::spawn(health::watch_heartbeats(state.clone()));
        let heartbeats = tokio::spawn(agents::heartbeats::write_forever(state.clone()));
        let revisions = tokio::spawn(agents::wakers::follow_revisions(store.clone(), state.agents.clone(), state.agent_auth.clone()));
        let handlers = jobs::handlers(&store, &state.federation);
        let follower = state.clone();
        let public_url = match &config.role {
            federation::Role::Region(settings) => Some(settings.advertise_url.clone()),
            _ => None,
        };
        let app = routes::router(state, public_url, api_tls.is_some());
        let (stop, stopped) = oneshot::channel::<()>();
        let scheme = if api_tls.is_some() { "https" } else { "http" };
        let header_read_timeout = config.header_read_timeout;
        let stopping = async move {
            let _ = stopped.await;
        };
        let task = match api_tls {
            Some(tls) => {
                let listener = flotilla_tls::TlsListener::new(listener, tls).map_err(ServerError::Serve)?;
                tokio::spawn(async move {
                    http::serve::serve(listener, app, header_read_timeout, stopping).await;
                    Ok(())
                })
            }
            None => tokio::spawn(async move {
                http::serve::serve(listener, app, header_read_timeout, stopping).await;
                Ok(())
            }),
        };
        let purge = tokio::spawn(purge_tokens(store.clone()));
        let retention = tokio::spawn(retention::purge_forever(store.clone(), config.retention));
        let mut background = vec![purge, health, heartbeats, revisions, retention];
        if let Some((link, registration)) = region_link {
            background.push(tokio::spawn(jobs::route_sync::hurry_when_back(store.clone(), link.clone())));
            background.push(tokio::spawn(federation::peers::run(store.clone(), link.clone())));
            background.push(tokio::spawn(federation::remote_endpoints::follow(follower, link.clone())));
            let registered = federation::region::register_first(&store, &link, &registration).await;
            background.push(tokio::spawn(federation::region::run(store.clone(), link, registration, registered)));
        }
        if !handlers.is_empty() {
            background.push(tokio::spawn(jobs::run_forever(store.clone(), handlers, jobs::RunnerSettings::default())));
        }
        tracing::info!(%addr, backend = ?store.backend(), "region server listening");
        Ok(Server { addr, scheme, bootstrap, store, stop, streams, drain, task, background, engine })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// A join token agents use to join this region, valid for `ttl`.
    pub async fn issue_join_token(&self, ttl: Duration) -> Result<String, ApiError> {
        Ok(routes::issue_join_token(&self.store, ttl, None).await?.token)
    }

    /// What the first start created, on the first start only.
    pub fn bootstrap(&self) -> Option<&Bootstrap> {
        self.bootstrap.as_ref()
    }

    /// Serves until `signal` resolves, then stops accepting, finishes in-flight requests, closes the store.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<(), ServerError> {
        tokio::select! {
            () = signal => self.shutdown().await,
            // The serve task ends on its own only when it failed.
            served = &mut self.task => {
                self.background.iter().for_each(JoinHandle::abort);
                self.engine.shutdown().await;
                self.store.close().await;
                served?
            }
        }
    }

    /// Graceful stop: `/readyz` answers 503 and endless responses end; the listener stays open
    /// until the requests in flight finished (for [`DRAIN_LIMIT`] at most), then closes; requests
    /// still running on open connections finish, then the store closes.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        tracing::info!("shutting down: draining");
        self.streams.cancel();
        self.drain.drain(DRAIN_LIMIT).await;
        tracing::info!("drained: closing the listener");
        let _ = self.stop.send(());
        self.background.iter().for_each(JoinHandle::abort);
        self.engine.shutdown().await;
        let result = self.task.await?;
        self.store.close().await;
        result
    }
}

async fn purge_tokens(store: Store) {
    let mut tick = tokio::time::interval(TOKEN_PURGE_INTERVAL);
    loop {
        tick.tick().await;
        match store.purge_expired_tokens().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired tokens purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired tokens failed"),
        }
    }
}
