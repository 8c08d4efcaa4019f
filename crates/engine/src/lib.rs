//! Flotilla's engine: the action table as a queue, cluster actions fanned out into node actions,
//! locks, cancellation, timeouts, takeover of silent engines' work, the health manager and the
//! autoscaler. It knows the store and the domain; never HTTP (the server passes in [`Agents`]).

mod agents;
mod autoscale;
mod cluster;
mod config;
mod context;
mod dispatcher;
mod error;
#[cfg(test)]
mod fixtures;
mod guard;
mod handover;
mod health;
mod host;
mod inputs;
mod metrics;
mod node;
mod placer;
pub mod plan;
mod policies;
mod remote;
mod rollout;
mod watch;

pub use agents::Agents;
pub use config::EngineConfig;
pub use error::EngineError;
pub use metrics::EngineMetrics;

use context::Shared;
use flotilla_store::Store;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Wakes an engine: its dispatcher when an action was written, and the waiters of containers an
/// agent's report changed; cheap to clone. Made before the engine so that the server's state
/// can hold it.
#[derive(Debug, Clone, Default)]
pub struct EngineWaker {
    actions: Arc<tokio::sync::Notify>,
    containers: Arc<watch::ContainerWatch>,
}

impl EngineWaker {
    pub fn notify(&self) {
        self.actions.notify_one();
    }

    /// Hands the containers a report changed (written, or removed) to the actions waiting on
    /// them, as written: no poll of the store needed.
    pub fn reported(&self, changes: &flotilla_store::ObservationChanges) {
        self.containers.hand_on(changes);
    }
}

/// A running engine; stops on [`Engine::shutdown`] (its actions go back to the queue).
pub struct Engine {
    shared: Arc<Shared>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("name", &self.shared.config.name).finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the dispatcher, the container watch and the health and autoscaling loops; the
    /// actions' series go to `metrics`.
    pub fn start(config: EngineConfig, store: Store, agents: Arc<dyn Agents>, waker: EngineWaker, metrics: Arc<EngineMetrics>) -> Self {
        let stop = CancellationToken::new();
        let (placer, placing) = placer::Placer::start(store.clone(), config.scheduler, waker.containers.clone(), stop.clone());
        let (handed, handed_over) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            store,
            config,
            agents,
            watch: waker.containers,
            placer,
            inputs: Default::default(),
            running: Default::default(),
            slots: Default::default(),
            handed,
            cancelled: Default::default(),
            wake: waker.actions,
            ended: Default::default(),
            metrics,
        });
        let watch = {
            let (shared, stop) = (shared.clone(), stop.clone());
            tokio::spawn(async move { shared.watch.run(shared.store.clone(), std::time::Duration::from_millis(250), stop).await })
        };
        let dispatcher = tokio::spawn(dispatcher::run(shared.clone(), handed_over, stop.clone()));
        let health = tokio::spawn(health::run(shared.clone(), stop.clone()));
        let autoscale = tokio::spawn(autoscale::run(shared.clone(), stop.clone()));
        Self { shared, stop, tasks: vec![watch, dispatcher, health, autoscale, placing] }
    }

    /// Stops claiming, abandons running actions to the queue and deregisters.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
