//! Host wire types: hosts as operators see them, and the join tokens that let agents in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// CPUs (cores), memory and disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Capacity {
    pub cpus: f64,
    pub memory_mib: u64,
    pub disk_mib: u64,
}

/// Measured use of a host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostUtilisation {
    /// Share of all CPUs busy, 0-100.
    pub cpu_percent: f64,
    pub memory_used_mib: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Host {
    pub id: Uuid,
    pub name: String,
    pub zone: String,
    pub pool: String,
    pub labels: BTreeMap<String, String>,
    /// `docker` or `sim`.
    pub runtime: String,
    /// Where the server reaches the agent; shown to admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise: Option<String>,
    /// Where other hosts' VXLAN packets reach it (`--tunnel-address`); shown to admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_address: Option<String>,
    /// The version of the host's agent as it last reported it (empty: not reported).
    #[serde(default)]
    pub agent_version: String,
    /// `UP`, `DOWN`, `DRAINING` or `DISABLED`.
    pub state: String,
    pub capacity: Capacity,
    /// Sum of the requests of the containers placed here.
    pub allocated: Capacity,
    pub utilisation: HostUtilisation,
    pub container_count: u64,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HostList {
    pub hosts: Vec<Host>,
    pub next: Option<String>,
}

/// `POST /v1/hosts/{host}/drain`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostDrain {
    /// Also move the host's containers to other hosts (recreated there) by a HOST_DRAIN action:
    /// the answer is then 202 with the action in `Location`.
    #[serde(default)]
    pub migrate: bool,
}

/// `POST /v1/hosts/join-tokens` (admins).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinTokenCreate {
    /// Lifetime in seconds, one minute to 30 days (default one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 2592000)]
    pub ttl_seconds: Option<u64>,
    /// A host (id or name) whose name the token may take over, with its id and containers: for a
    /// machine that lost its agent's state. Such a token joins that host only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<String>,
}

/// A join token; `token` is shown once, at creation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JoinToken {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// The host this token replaces, if it was issued for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Uuid>,
}
