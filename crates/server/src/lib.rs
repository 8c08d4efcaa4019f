//! Flotilla's region server: REST API over the store, authentication, error mapping, metrics,
//! OpenAPI. The only crate that knows HTTP routing.

mod error;
mod http;
mod identity;
mod routes;
mod state;

pub use error::ApiError;
pub use identity::bootstrap::Bootstrap;

use flotilla_store::{Store, StoreError};
use state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
}

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
}

/// A running region server, serving in the background until shut down.
pub struct Server {
    addr: SocketAddr,
    bootstrap: Option<Bootstrap>,
    store: Store,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
    purge: JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the store (migrating it), bootstraps the admin on a fresh database, binds, and serves.
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        let store = Store::connect(&config.database_url).await?;
        let bootstrap = identity::bootstrap::bootstrap(&store, config.bootstrap_password).await.map_err(ServerError::Bootstrap)?;
        let listener =
            tokio::net::TcpListener::bind(config.listen).await.map_err(|source| ServerError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind { addr: config.listen, source })?;
        let state = AppState { store: store.clone(), region: config.region, metrics: Arc::new(http::metrics::Metrics::new()) };
        let app = routes::router(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .map_err(ServerError::Serve)
        });
        let purge = tokio::spawn(purge_tokens(store.clone()));
        tracing::info!(%addr, backend = ?store.backend(), "region server listening");
        Ok(Server { addr, bootstrap, store, stop, task, purge })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
                self.purge.abort();
                self.store.close().await;
                served?
            }
        }
    }

    /// Graceful stop: in-flight requests finish, then the store closes.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        tracing::info!("shutting down");
        let _ = self.stop.send(());
        self.purge.abort();
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
