//! The engine's settings.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This engine's name in the services table (the server's listen address, say).
    pub name: String,
    /// The region this engine works for (recorded on nodes).
    pub region: String,
    pub scheduler: flotilla_core::scheduler::Settings,
    /// The region's ceiling on a cluster's size (Senlin's `max_nodes_per_cluster`).
    pub max_nodes_per_cluster: i64,
    /// Actions this engine runs at once (node actions mostly wait, so this is large).
    pub max_running: usize,
    /// How often the engine looks for READY actions when nothing woke it.
    pub poll: Duration,
    /// How often the engine heartbeats; a service silent for `service_grace` is taken over.
    pub heartbeat: Duration,
    pub service_grace: Duration,
    /// How often the health manager and the autoscaler look at clusters.
    pub health_tick: Duration,
    pub autoscale_tick: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            name: "engine".to_owned(),
            region: "region-one".to_owned(),
            scheduler: Default::default(),
            max_nodes_per_cluster: 1000,
            max_running: 20_000,
            poll: Duration::from_millis(500),
            heartbeat: Duration::from_secs(2),
            service_grace: Duration::from_secs(10),
            health_tick: Duration::from_secs(2),
            autoscale_tick: Duration::from_secs(5),
        }
    }
}
