//! Containers: the unit on a host, its statuses and which operation each status allows.

use crate::profile::ContainerProperties;
use crate::{ContainerId, HostId, ImageId, Metadata, Name, ProjectId, Timestamp, UserId};
use std::fmt;

/// What Flotilla last saw of a container, as Zun names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContainerStatus {
    Creating,
    Created,
    Running,
    Stopped,
    Paused,
    Restarting,
    Deleting,
    Deleted,
    Error,
    Unknown,
}

impl ContainerStatus {
    pub const ALL: [ContainerStatus; 10] = [
        Self::Creating,
        Self::Created,
        Self::Running,
        Self::Stopped,
        Self::Paused,
        Self::Restarting,
        Self::Deleting,
        Self::Deleted,
        Self::Error,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Created => "CREATED",
            Self::Running => "RUNNING",
            Self::Stopped => "STOPPED",
            Self::Paused => "PAUSED",
            Self::Restarting => "RESTARTING",
            Self::Deleting => "DELETING",
            Self::Deleted => "DELETED",
            Self::Error => "ERROR",
            Self::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether `op` may run on a container in this status (Zun's valid states, per operation).
    pub fn allows(self, op: Operation) -> bool {
        use ContainerStatus::*;
        let allowed: &[ContainerStatus] = match op {
            Operation::Start => &[Created, Stopped],
            Operation::Stop => &[Running, Restarting],
            Operation::Restart => &[Created, Running, Stopped, Error],
            Operation::Pause | Operation::Kill | Operation::Exec | Operation::Top | Operation::Stats => &[Running],
            Operation::Unpause => &[Paused],
            Operation::Rebuild => &[Created, Running, Stopped, Error],
            Operation::Delete => &[Created, Stopped, Error, Unknown],
            Operation::DeleteStopping => &[Created, Running, Stopped, Paused, Restarting, Error, Unknown],
            Operation::Update | Operation::Rename => &[Creating, Created, Running, Stopped, Paused, Restarting, Error, Unknown],
            Operation::Logs => &[Created, Running, Stopped, Paused, Restarting, Error],
            Operation::Copy => &[Created, Running, Stopped, Paused],
        };
        allowed.contains(&self)
    }

    /// `Ok` when `op` is valid now, else the 409's reason naming the status and what `op` needs.
    pub fn check(self, op: Operation) -> Result<(), InvalidStatus> {
        if self.allows(op) { Ok(()) } else { Err(InvalidStatus { op, status: self }) }
    }
}

impl fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operations whose validity depends on the container's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Stop,
    Restart,
    Pause,
    Unpause,
    Kill,
    Rebuild,
    /// Delete without `stop` or `force`.
    Delete,
    /// Delete with `stop=true`: a running container is stopped first.
    DeleteStopping,
    Update,
    Rename,
    Logs,
    Exec,
    Top,
    Stats,
    /// Copy files into or out of it (its archive).
    Copy,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Pause => "pause",
            Self::Unpause => "unpause",
            Self::Kill => "kill",
            Self::Rebuild => "rebuild",
            Self::Delete => "delete",
            Self::DeleteStopping => "delete (stop)",
            Self::Update => "update",
            Self::Rename => "rename",
            Self::Logs => "logs",
            Self::Exec => "exec",
            Self::Top => "top",
            Self::Stats => "stats",
            Self::Copy => "copy files of",
        }
    }
}

/// An operation refused because of the container's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a container in status {status}; {} needs {}", op.as_str(), op.as_str(), needs(*op))]
pub struct InvalidStatus {
    pub op: Operation,
    pub status: ContainerStatus,
}

fn needs(op: Operation) -> String {
    let names: Vec<&str> = ContainerStatus::ALL.into_iter().filter(|s| s.allows(op)).map(ContainerStatus::as_str).collect();
    names.join(" or ")
}

/// What the user wants of a container; the agent converges the runtime towards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    Running,
    Stopped,
    Paused,
    /// Remove it from its host, then forget it.
    Deleted,
}

impl DesiredState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Paused => "paused",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Running, Self::Stopped, Self::Paused, Self::Deleted].into_iter().find(|d| d.as_str() == s)
    }
}

/// A container: its spec, where it was placed, what is wanted and what was last seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub id: ContainerId,
    pub name: Name,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub spec: ContainerProperties,
    /// The Flotilla-held image the spec's reference resolved to, if any.
    pub image_id: Option<ImageId>,
    /// The host chosen by the scheduler; `None` when nothing fit.
    pub host_id: Option<HostId>,
    pub desired: DesiredState,
    /// Bumped by rebuild: the agent recreates a container whose runtime copy is of an older generation.
    pub generation: u64,
    pub status: ContainerStatus,
    pub status_reason: String,
    /// The runtime's own id (Docker's container id) once created.
    pub runtime_id: Option<String>,
    pub exit_code: Option<i64>,
    /// What its health check last said, as its agent probes it (`Unknown` without a check).
    pub health: ContainerHealth,
    /// CPU use its agent last measured, as `docker stats` counts it (100 = one core busy); `None`
    /// until measured, and while it does not run.
    pub cpu_percent: Option<f64>,
    /// When its agent last reported health or CPU use.
    pub observed_at: Option<Timestamp>,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A container's health as its agent's probe sees it (kubelet's and Docker's rules): `Starting`
/// until the first pass or enough failures, `Healthy` after one pass, `Unhealthy` after `retries`
/// failures in a row. `Unknown` means no probe: no health check, or the container does not run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ContainerHealth {
    #[default]
    Unknown,
    Starting,
    Healthy,
    Unhealthy {
        /// The last failed probe's answer, e.g. `HTTP 500 from http://172.17.0.2:8080/healthz`.
        reason: String,
    },
}

impl ContainerHealth {
    /// `""` (unknown), `starting`, `healthy` or `unhealthy`, as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unknown => "",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy { .. } => "unhealthy",
        }
    }

    /// Why it is unhealthy; empty otherwise.
    pub fn reason(&self) -> &str {
        match self {
            Self::Unhealthy { reason } => reason,
            _ => "",
        }
    }

    /// The health named `name` (see [`ContainerHealth::as_str`]), with `reason` when unhealthy.
    pub fn parse(name: &str, reason: &str) -> Option<Self> {
        Some(match name {
            "" => Self::Unknown,
            "starting" => Self::Starting,
            "healthy" => Self::Healthy,
            "unhealthy" => Self::Unhealthy { reason: reason.to_owned() },
            _ => return None,
        })
    }

    /// Same health, whatever the reasons.
    pub fn same_kind(&self, other: &ContainerHealth) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl fmt::Display for ContainerHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if *self == Self::Unknown { "unknown" } else { self.as_str() })
    }
}

/// What an agent saw of one container; `status: None` means it removed the container on purpose.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub id: ContainerId,
    pub generation: u64,
    pub runtime_id: Option<String>,
    pub status: Option<ContainerStatus>,
    pub exit_code: Option<i64>,
    pub reason: String,
    /// What its probe says; `None` leaves the recorded health as it is while the container runs.
    pub health: Option<ContainerHealth>,
    /// CPU use measured now; `None` leaves the last figure as it is while the container runs.
    pub cpu_percent: Option<f64>,
}

/// A change of a container's health (unknown, starting, healthy, unhealthy), as the event log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthChange {
    pub id: ContainerId,
    pub name: Name,
    pub project_id: ProjectId,
    pub from: ContainerHealth,
    pub to: ContainerHealth,
}

/// A change of a container's observed status, as the event log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub id: ContainerId,
    pub name: Name,
    pub project_id: ProjectId,
    pub from: ContainerStatus,
    pub to: ContainerStatus,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_follow_zun() {
        use ContainerStatus::*;
        let table = [
            (Operation::Start, Stopped, true),
            (Operation::Start, Running, false),
            (Operation::Stop, Running, true),
            (Operation::Stop, Stopped, false),
            (Operation::Pause, Running, true),
            (Operation::Pause, Paused, false),
            (Operation::Unpause, Paused, true),
            (Operation::Unpause, Running, false),
            (Operation::Kill, Stopped, false),
            (Operation::Delete, Running, false),
            (Operation::Delete, Stopped, true),
            (Operation::DeleteStopping, Running, true),
            (Operation::Exec, Paused, false),
            (Operation::Logs, Stopped, true),
            (Operation::Rebuild, Creating, false),
        ];
        for (op, status, ok) in table {
            assert_eq!(status.allows(op), ok, "{op:?} in {status}");
        }
    }

    #[test]
    fn refusal_names_status_and_need() {
        let err = ContainerStatus::Stopped.check(Operation::Pause).unwrap_err();
        assert_eq!(err.to_string(), "cannot pause a container in status STOPPED; pause needs RUNNING");
        let err = ContainerStatus::Running.check(Operation::Start).unwrap_err();
        assert_eq!(err.to_string(), "cannot start a container in status RUNNING; start needs CREATED or STOPPED");
    }

    #[test]
    fn health_round_trips() {
        let table = [
            ContainerHealth::Unknown,
            ContainerHealth::Starting,
            ContainerHealth::Healthy,
            ContainerHealth::Unhealthy { reason: "HTTP 500".into() },
        ];
        for health in table {
            assert_eq!(ContainerHealth::parse(health.as_str(), health.reason()), Some(health.clone()));
        }
        assert_eq!(ContainerHealth::parse("sick", ""), None);
        assert_eq!(ContainerHealth::default().to_string(), "unknown");
        let sick = ContainerHealth::Unhealthy { reason: "a".into() };
        assert!(sick.same_kind(&ContainerHealth::Unhealthy { reason: "b".into() }));
        assert!(!sick.same_kind(&ContainerHealth::Healthy));
    }

    #[test]
    fn statuses_round_trip() {
        for status in ContainerStatus::ALL {
            assert_eq!(ContainerStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{status}\""));
        }
    }
}
