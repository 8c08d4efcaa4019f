//! Quota wire types: a project's limits and what it uses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Limits; `-1` means unlimited. Absent in a PUT: unlimited, but networks (default 100) and
/// ports (addresses, a container's included; default 10,000), which are shared by the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaLimits {
    #[serde(default = "unlimited")]
    #[schema(minimum = -1)]
    pub containers: i64,
    #[serde(default = "unlimited")]
    #[schema(minimum = -1)]
    pub cpu_millis: i64,
    #[serde(default = "unlimited")]
    #[schema(minimum = -1)]
    pub memory_mib: i64,
    #[serde(default = "unlimited")]
    #[schema(minimum = -1)]
    pub image_bytes: i64,
    #[serde(default = "default_networks")]
    pub networks: i64,
    #[serde(default = "default_ports")]
    pub ports: i64,
}

fn unlimited() -> i64 {
    -1
}

fn default_networks() -> i64 {
    100
}

fn default_ports() -> i64 {
    10_000
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuotaUsage {
    pub containers: u64,
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub image_bytes: u64,
    #[serde(default)]
    pub networks: u64,
    #[serde(default)]
    pub ports: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Quota {
    pub project_id: Uuid,
    pub limits: QuotaLimits,
    pub usage: QuotaUsage,
}
