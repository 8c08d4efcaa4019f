//! Hosts: machines running an agent, their capacity, liveness and whether they take new work.

use crate::scheduler::{HostState, Resources};
use crate::{HostId, Timestamp};
use std::collections::BTreeMap;

/// How long a host may stay silent before it is declared DOWN, unless the region says otherwise.
pub const DEFAULT_GRACE_PERIOD_SECS: u64 = 10;

/// The shortest lifetime a join token may be given: one minute.
pub const MIN_JOIN_TOKEN_TTL_SECS: u64 = 60;
/// The longest lifetime a join token may be given: 30 days.
pub const MAX_JOIN_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// Checks a join token's lifetime in seconds, naming `ttl_seconds`.
pub fn check_join_token_ttl(ttl: u64) -> Result<(), crate::ValidationError> {
    crate::bounds::range("ttl_seconds", ttl, MIN_JOIN_TOKEN_TTL_SECS, MAX_JOIN_TOKEN_TTL_SECS)
}

/// What an operator decided about a host, independent of whether it is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedulable {
    /// Takes new containers.
    Enabled,
    /// Takes nothing new; keeps what it runs.
    Disabled,
    /// Takes nothing new; its containers are being (or may be) moved away.
    Draining,
}

impl Schedulable {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Draining => "draining",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Enabled, Self::Disabled, Self::Draining].into_iter().find(|x| x.as_str() == s)
    }
}

/// Measured use of a host, as its agent last reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Utilisation {
    /// Share of all CPUs busy, 0 to 100.
    pub cpu_percent: f64,
    pub memory_used_mib: u64,
}

/// A host as the region knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: HostId,
    pub name: String,
    pub zone: String,
    pub pool: String,
    pub labels: BTreeMap<String, String>,
    /// `docker` or `sim`.
    pub runtime: String,
    /// Where the server reaches the agent for logs, exec, stats and top.
    pub advertise: String,
    pub capacity: Resources,
    /// Sum of the requests of the containers placed here.
    pub allocated: Resources,
    pub container_count: u64,
    pub utilisation: Utilisation,
    pub schedulable: Schedulable,
    /// False once heartbeats stopped for longer than the grace period.
    pub alive: bool,
    pub last_heartbeat: Option<Timestamp>,
    /// Images (references) the runtime holds.
    pub images: Vec<String>,
    /// Bumped whenever the set of containers assigned to the host changes; agents long-poll on it.
    pub revision: u64,
    /// Where other hosts' VXLAN packets reach this one (reported at join); `None`: no overlay.
    pub tunnel_address: Option<std::net::Ipv4Addr>,
    /// The version of the agent (its binary's) as last reported; empty until one reported it.
    pub agent_version: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Host {
    /// The one state users see: DOWN wins over what the operator decided.
    pub fn state(&self) -> HostState {
        HostState::of(self.alive, self.schedulable)
    }
}

impl HostState {
    /// The state of a host alive or not that its operator left `schedulable`: DOWN wins.
    pub fn of(alive: bool, schedulable: Schedulable) -> Self {
        match (alive, schedulable) {
            (false, _) => HostState::Down,
            (true, Schedulable::Enabled) => HostState::Up,
            (true, Schedulable::Disabled) => HostState::Disabled,
            (true, Schedulable::Draining) => HostState::Draining,
        }
    }

    /// Every state, as users see them.
    pub const ALL: [HostState; 4] = [HostState::Up, HostState::Down, HostState::Draining, HostState::Disabled];

    /// The state spelled `s` (any case), if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Up => "UP",
            HostState::Down => "DOWN",
            HostState::Draining => "DRAINING",
            HostState::Disabled => "DISABLED",
        }
    }
}
