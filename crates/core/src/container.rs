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
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
    fn statuses_round_trip() {
        for status in ContainerStatus::ALL {
            assert_eq!(ContainerStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{status}\""));
        }
    }
}
