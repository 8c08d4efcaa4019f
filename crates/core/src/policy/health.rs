//! The `health` policy: how unhealthy nodes are detected, the pure judgement of one node, and how it is recovered.

use crate::container::{ContainerStatus, DesiredState};
use crate::validation::ValidationError;

/// What a node's health is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionType {
    /// The container's observed status (ERROR, an unwanted STOPPED, missing, ...).
    ContainerStatus,
    /// The heartbeat of the container's host: a host not UP makes its nodes unhealthy.
    HostHeartbeat,
    /// The profile's healthcheck (HTTP, TCP or command), run and reported by the agent.
    Probe,
}

/// How and how often nodes are checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    /// What health is judged by.
    #[serde(rename = "type")]
    pub detection_type: DetectionType,
    /// Seconds between checks (default 10).
    #[serde(default = "ten")]
    pub interval: u64,
    /// Seconds a node may stay in a transition (creating, updating) before it is judged (default 300).
    #[serde(default = "three_hundred")]
    pub node_update_timeout: u64,
}

/// How an unhealthy node is brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecoveryAction {
    /// Restart the container where it is.
    Restart,
    /// Recreate the container on the same host.
    Rebuild,
    /// Create a new container, on another host if need be, and remove the old one (the default).
    Recreate,
}

/// The recovery half of a health policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// What recovery does (default `RECREATE`).
    #[serde(default = "recreate")]
    pub action: RecoveryAction,
}

impl Default for Recovery {
    /// `RECREATE`.
    fn default() -> Self {
        Self { action: RecoveryAction::Recreate }
    }
}

/// The properties of a `health` policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthPolicy {
    /// How nodes are checked.
    pub detection: Detection,
    /// How unhealthy nodes are recovered.
    #[serde(default)]
    pub recovery: Recovery,
}

fn ten() -> u64 {
    10
}
fn three_hundred() -> u64 {
    300
}
fn recreate() -> RecoveryAction {
    RecoveryAction::Recreate
}

/// What is known of one node when it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeObservation {
    /// The container's last observed status; `None` when no container is known (missing).
    pub container_status: Option<ContainerStatus>,
    /// What the container is meant to be.
    pub desired: DesiredState,
    /// Whether the container's host is UP.
    pub host_up: bool,
    /// The last probe result the agent reported; `None` before the first one.
    pub probe_healthy: Option<bool>,
}

/// A node's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do.
    Healthy,
    /// To be recovered, and why.
    Unhealthy(String),
}

impl HealthPolicy {
    /// Checks the intervals; paths in errors start with `prefix` (e.g. `spec.properties.`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), ValidationError> {
        crate::bounds::seconds(format!("{prefix}detection.interval"), self.detection.interval, 1)?;
        crate::bounds::seconds(format!("{prefix}detection.node_update_timeout"), self.detection.node_update_timeout, 1)
    }

    /// [`judge`] by this policy's detection type.
    pub fn judge(&self, observed: &NodeObservation) -> Verdict {
        judge(self.detection.detection_type, observed)
    }
}

/// Judges one node by `detection`.
///
/// A node meant to be deleted is never unhealthy. By container status: missing, ERROR, UNKNOWN, DELETED or DELETING
/// are unhealthy, and so are STOPPED and PAUSED unless that is what is wanted; transitions (CREATING, CREATED,
/// RESTARTING) are healthy here (their timeout is the engine's). By host heartbeat: a host not UP. By probe: a failed
/// probe (none reported yet is healthy).
pub fn judge(detection: DetectionType, observed: &NodeObservation) -> Verdict {
    use ContainerStatus::*;
    if observed.desired == DesiredState::Deleted {
        return Verdict::Healthy;
    }
    let unhealthy = match detection {
        DetectionType::ContainerStatus => match observed.container_status {
            None => Some("no container observed".to_owned()),
            Some(status @ (Error | Unknown | Deleted | Deleting)) => Some(format!("container is {status}")),
            Some(Stopped) if observed.desired != DesiredState::Stopped => Some("container is STOPPED".to_owned()),
            Some(Paused) if observed.desired != DesiredState::Paused => Some("container is PAUSED".to_owned()),
            Some(_) => None,
        },
        DetectionType::HostHeartbeat => (!observed.host_up).then(|| "host is not UP".to_owned()),
        DetectionType::Probe => (observed.probe_healthy == Some(false)).then(|| "health probe failing".to_owned()),
    };
    unhealthy.map_or(Verdict::Healthy, Verdict::Unhealthy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DetectionType::{HostHeartbeat, Probe};

    const BY_STATUS: DetectionType = DetectionType::ContainerStatus;

    fn seen(status: Option<ContainerStatus>, desired: DesiredState, host_up: bool, probe: Option<bool>) -> NodeObservation {
        NodeObservation { container_status: status, desired, host_up, probe_healthy: probe }
    }

    #[test]
    fn judge_table() {
        use ContainerStatus::*;
        use DesiredState::Running as WantRunning;
        let sick = |s: &str| Verdict::Unhealthy(s.to_owned());
        let cases = [
            (BY_STATUS, seen(Some(Running), WantRunning, true, None), Verdict::Healthy),
            (BY_STATUS, seen(Some(Error), WantRunning, true, None), sick("container is ERROR")),
            (BY_STATUS, seen(Some(Unknown), WantRunning, false, None), sick("container is UNKNOWN")),
            (BY_STATUS, seen(Some(Deleted), WantRunning, true, None), sick("container is DELETED")),
            (BY_STATUS, seen(None, WantRunning, true, None), sick("no container observed")),
            (BY_STATUS, seen(Some(Stopped), WantRunning, true, None), sick("container is STOPPED")),
            (BY_STATUS, seen(Some(Stopped), DesiredState::Stopped, true, None), Verdict::Healthy),
            (BY_STATUS, seen(Some(Paused), WantRunning, true, None), sick("container is PAUSED")),
            (BY_STATUS, seen(Some(Paused), DesiredState::Paused, true, None), Verdict::Healthy),
            (BY_STATUS, seen(Some(Creating), WantRunning, true, None), Verdict::Healthy),
            (BY_STATUS, seen(Some(Restarting), WantRunning, true, None), Verdict::Healthy),
            (BY_STATUS, seen(Some(Error), DesiredState::Deleted, true, None), Verdict::Healthy),
            (BY_STATUS, seen(Some(Running), WantRunning, false, Some(false)), Verdict::Healthy),
            (HostHeartbeat, seen(Some(Running), WantRunning, false, None), sick("host is not UP")),
            (HostHeartbeat, seen(Some(Error), WantRunning, true, None), Verdict::Healthy),
            (Probe, seen(Some(Running), WantRunning, true, Some(false)), sick("health probe failing")),
            (Probe, seen(Some(Running), WantRunning, true, Some(true)), Verdict::Healthy),
            (Probe, seen(Some(Running), WantRunning, true, None), Verdict::Healthy),
        ];
        for (i, (detection, observed, expected)) in cases.into_iter().enumerate() {
            assert_eq!(judge(detection, &observed), expected, "case {i}: {detection:?} {observed:?}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = HealthPolicy {
            detection: Detection { detection_type: Probe, interval: 10, node_update_timeout: 300 },
            recovery: Recovery::default(),
        };
        assert_eq!(p.validate_at("spec.properties."), Ok(()));
        p.detection.interval = 0;
        assert_eq!(p.validate_at("spec.properties.").unwrap_err().field, "spec.properties.detection.interval");
        p.detection.interval = 1;
        p.detection.node_update_timeout = 0;
        assert_eq!(p.validate_at("spec.properties.").unwrap_err().field, "spec.properties.detection.node_update_timeout");
        assert_eq!(
            p.judge(&seen(Some(ContainerStatus::Running), DesiredState::Running, true, Some(false))),
            Verdict::Unhealthy("health probe failing".into())
        );
    }
}
