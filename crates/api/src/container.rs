//! Container wire types: Zun's surface (create/run, operations, logs, exec, stats, top).

use chrono::{DateTime, Utc};
use flotilla_core::Metadata;
use flotilla_core::profile::ContainerProperties;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Container {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub user_id: Uuid,
    /// Same properties as a `container.docker` profile.
    #[schema(schema_with = crate::spec_schema::container_properties)]
    pub spec: ContainerProperties,
    /// The host's name, once placed.
    pub host: Option<String>,
    pub host_id: Option<Uuid>,
    /// `CREATING CREATED RUNNING STOPPED PAUSED RESTARTING DELETING DELETED ERROR UNKNOWN`.
    pub status: String,
    pub status_reason: String,
    /// `running`, `stopped`, `paused` or `deleted`.
    pub desired_state: String,
    pub generation: u64,
    /// The runtime's id (Docker's container id).
    pub runtime_id: Option<String>,
    pub exit_code: Option<i64>,
    /// `starting`, `healthy` or `unhealthy` as its agent's probe says; empty without a health
    /// check or while it does not run.
    #[serde(default)]
    pub health: String,
    /// Why it is unhealthy: the last failed probe's answer.
    #[serde(default)]
    pub health_reason: String,
    /// CPU use its agent last measured, as `docker stats` counts it (100 = one core busy); absent
    /// until measured and while it does not run.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// When its agent last reported its health or CPU use.
    #[serde(default)]
    pub observed_at: Option<DateTime<Utc>>,
    /// Published ports as `HOST_ADDR:HOST_PORT->PORT/PROTO`.
    pub ports: Vec<String>,
    /// Its addresses on Flotilla networks.
    #[serde(default)]
    pub addresses: Vec<crate::network::Address>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerCreate {
    pub name: String,
    #[schema(schema_with = crate::spec_schema::container_properties)]
    pub spec: ContainerProperties,
    /// Start it once created (Zun's `run`); otherwise it stays CREATED.
    #[serde(default)]
    pub run: bool,
    #[serde(default)]
    pub metadata: Metadata,
}

/// What an update may change: name, CPU, memory, metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Cores, 0.001 to 1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.001, maximum = 1024)]
    pub cpu: Option<f64>,
    /// MiB, 4 to 16 TiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 4, maximum = 16777216)]
    pub memory: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContainerList {
    pub containers: Vec<Container>,
    pub next: Option<String>,
}

/// Filters of `GET /v1/containers`, beside the common list query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContainerFilter {
    pub status: Option<String>,
    /// Host name or id.
    pub host: Option<String>,
}

/// `DELETE /v1/containers/{c}` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Stop a running container first.
    pub stop: Option<bool>,
    /// Delete whatever the status; a container on a DOWN host is forgotten at once.
    pub force: Option<bool>,
}

/// `stop` and `restart` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StopQuery {
    /// Seconds between SIGTERM and SIGKILL (default: the spec's `stop_timeout`, else 10).
    #[param(minimum = 0, maximum = 31622400)]
    pub timeout: Option<u32>,
}

/// `kill` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KillQuery {
    /// Signal name or number (default `SIGKILL`).
    pub signal: Option<String>,
}

/// `logs` options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Only the last N lines.
    pub tail: Option<u64>,
    /// Only lines after this Unix time (seconds).
    pub since: Option<i64>,
    /// Keep streaming new lines.
    pub follow: Option<bool>,
    pub timestamps: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecRequest {
    pub command: Vec<String>,
}

/// What an exec printed (stdout and stderr interleaved) and how it exited.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecResult {
    pub exit_code: i64,
    pub output: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ContainerStats {
    /// Share of one CPU, as `docker stats` shows it (200 = two cores busy).
    pub cpu_percent: f64,
    pub memory_used_mib: f64,
    pub memory_limit_mib: f64,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub pids: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ContainerTop {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// `?path=` of a container's archive: an absolute path in the container.
#[derive(Debug, Clone, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ArchiveQuery {
    /// Absolute path in the container: the file or directory to read, or the directory to extract into.
    pub path: String,
}

/// Header of a container archive download: its [`PathStat`] as base64 of JSON (as Docker's
/// `X-Docker-Container-Path-Stat`).
pub const PATH_STAT_HEADER: &str = "x-flotilla-path-stat";

/// Largest tar accepted or answered by the container archive routes: 64 MiB.
pub const MAX_ARCHIVE_BYTES: usize = 64 << 20;

/// What a container's path is, read from the first entry of its archive (Docker's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PathStat {
    /// The last component of the path.
    pub name: String,
    pub size: u64,
    /// Go's `os.FileMode`: permission bits, with bit 31 for a directory and bit 27 for a symlink.
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// New limits for a running container.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub struct LimitsUpdate {
    pub cpu: Option<f64>,
    pub memory: Option<u64>,
}
