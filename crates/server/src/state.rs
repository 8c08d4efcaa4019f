//! What every handler shares: the store, the region's settings, agent links, the metrics.

use crate::agents::heartbeats::HeartbeatQueue;
use crate::agents::wakers::Wakers;
use crate::http::metrics::Metrics;
use flotilla_core::scheduler::Settings as SchedulerSettings;
use flotilla_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub region: String,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<RegionSettings>,
    pub agents: Arc<AgentLinks>,
    /// Wakes this server's engine when an action is written.
    pub engine: flotilla_engine::EngineWaker,
    pub engine_config: Arc<flotilla_engine::EngineConfig>,
    /// Cancelled when the server shuts down: endless responses (event streams) end then.
    pub shutdown: CancellationToken,
    /// Set when a graceful stop began (`/readyz` answers 503); counts the requests in flight.
    pub drain: Arc<crate::http::drain::Drain>,
    /// Accepted tokens' principals, for a second.
    pub auth: Arc<crate::identity::auth_cache::AuthCache<crate::identity::principal::Principal>>,
    /// Accepted host credentials' hosts, for a second (every agent call presents one).
    pub agent_auth: Arc<crate::identity::auth_cache::AuthCache<flotilla_core::HostId>>,
    /// Failed logins per user and per client address.
    pub logins: Arc<crate::identity::throttle::LoginThrottle>,
    /// This server's place among regions (and its link to the central when it is a region).
    pub federation: crate::federation::Federation,
    /// One ask for an address block at a time per global network (at a region).
    pub blocks: Arc<crate::federation::global_networks::BlockGates>,
    /// At the central: notified when a region's endpoints on a global network change, which the
    /// other regions' watches answer.
    pub endpoints: Arc<tokio::sync::Notify>,
}

/// The region's knobs.
#[derive(Debug, Clone)]
pub struct RegionSettings {
    /// Silence after which a host is DOWN.
    pub grace_period: Duration,
    /// Where uploaded image archives live, one file per sha256.
    pub image_dir: PathBuf,
    /// Largest image archive accepted, in bytes.
    pub image_size_limit: u64,
    pub scheduler: SchedulerSettings,
    /// The longest a request body may pause between two pieces.
    pub body_read_timeout: Duration,
}

impl RegionSettings {
    /// Agents heartbeat four times per grace period.
    pub fn heartbeat_interval(&self) -> Duration {
        (self.grace_period / 4).max(Duration::from_millis(100))
    }

    pub fn image_path(&self, sha256: &str) -> PathBuf {
        self.image_dir.join(format!("{sha256}.tar"))
    }
}

/// How the server reaches agents: the long-poll wake-ups, and the identity it presents on its
/// calls to them (agents pin its certificate when they join).
#[derive(Debug)]
pub struct AgentLinks {
    pub wakers: Wakers,
    pub heartbeats: HeartbeatQueue,
    /// Permits to read a host's assignments: a thousand agents answered at once must leave the
    /// store's other connections to the engine and the API (their waits would time out).
    pub assignment_reads: tokio::sync::Semaphore,
    pub identity: flotilla_tls::Identity,
}

/// Assignment reads at once: half of SQLite's pool of 8 connections (PostgreSQL's has 16).
pub const ASSIGNMENT_READS: usize = 4;

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
