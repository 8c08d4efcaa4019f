//! What the agent reports of its assigned containers, pure: the runtime's view plus the
//! reconciler's memory (failures, containers removed behind Flotilla's back) plus the vitals
//! measured of running containers (health, CPU use).

use super::memory::Memory;
use super::plan::vanished;
use crate::runtime::{RuntimeContainer, RuntimeState};
use crate::vitals::Vital;
use flotilla_api::agent::{Assignment, Health, HealthStatus, Observed, ObservedState};
use flotilla_core::container::DesiredState;
use std::collections::HashMap;
use uuid::Uuid;

pub const MISSING_REASON: &str = "removed from the runtime outside Flotilla";

/// A runtime container as the server should see it.
pub fn observed(c: &RuntimeContainer) -> Observed {
    let state = match c.state {
        RuntimeState::Created => ObservedState::Created,
        RuntimeState::Running => ObservedState::Running,
        RuntimeState::Paused => ObservedState::Paused,
        RuntimeState::Restarting => ObservedState::Restarting,
        RuntimeState::Exited => ObservedState::Exited,
    };
    let reason = match (c.state, c.exit_code) {
        (RuntimeState::Exited, Some(code)) => format!("exited with code {code}"),
        (RuntimeState::Exited, None) => "exited".to_owned(),
        _ => String::new(),
    };
    Observed {
        id: c.container_id,
        generation: c.generation,
        runtime_id: Some(c.runtime_id.clone()),
        state,
        exit_code: c.exit_code,
        reason,
        health: None,
        cpu_percent: None,
    }
}

/// `observed(c)` with what was measured of it while it runs: the prober's verdict when it has a
/// health check (`starting` until the prober has one), and its CPU use.
fn observed_with(a: &Assignment, c: &RuntimeContainer, vitals: &HashMap<Uuid, Vital>) -> Observed {
    let mut o = observed(c);
    if c.state == RuntimeState::Running {
        let vital = vitals.get(&a.id).filter(|v| v.runtime_id == c.runtime_id);
        if a.spec.healthcheck.is_some() {
            let starting = || Health { status: HealthStatus::Starting, reason: String::new() };
            o.health = Some(vital.and_then(|v| v.health.clone()).unwrap_or_else(starting));
        }
        o.cpu_percent = vital.and_then(|v| v.cpu_percent);
    }
    o
}

/// A container whose desired state is deleted, once it is gone from the runtime.
pub fn deleted_and_gone(a: &Assignment) -> Observed {
    Observed {
        id: a.id,
        generation: a.generation,
        runtime_id: None,
        state: ObservedState::Removed,
        exit_code: None,
        reason: "deleted".to_owned(),
        health: None,
        cpu_percent: None,
    }
}

/// One observation per assigned container whose state is known (not while it is being created).
pub fn observe(assignments: &[Assignment], runtime: &[RuntimeContainer], memory: &Memory, vitals: &HashMap<Uuid, Vital>) -> Vec<Observed> {
    assignments.iter().filter_map(|a| observe_one(a, runtime, memory, vitals)).collect()
}

fn observe_one(a: &Assignment, runtime: &[RuntimeContainer], memory: &Memory, vitals: &HashMap<Uuid, Vital>) -> Option<Observed> {
    let mut copies = runtime.iter().filter(|c| c.container_id == a.id).peekable();
    let any_copy = copies.peek().is_some();
    let current = copies.find(|c| c.generation == a.generation);
    let failure = memory.failure(a.id, a.generation);
    let report = |state, runtime_id: Option<String>, exit_code, reason: String| Observed {
        id: a.id,
        generation: a.generation,
        runtime_id,
        state,
        exit_code,
        reason,
        health: None,
        cpu_percent: None,
    };
    if a.desired == DesiredState::Deleted {
        return (!any_copy).then(|| deleted_and_gone(a));
    }
    match (current, failure) {
        (Some(c), Some(f)) if matches!(c.state, RuntimeState::Created | RuntimeState::Exited) => {
            Some(report(ObservedState::Failed, Some(c.runtime_id.clone()), c.exit_code, f.reason.clone()))
        }
        (Some(c), _) => Some(observed_with(a, c, vitals)),
        (None, Some(f)) => Some(report(ObservedState::Failed, None, None, f.reason.clone())),
        (None, None) if !any_copy && vanished(a, memory) => {
            Some(report(ObservedState::Missing, a.runtime_id.clone(), None, MISSING_REASON.to_owned()))
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::memory::Failure;
    use flotilla_api::agent::ImageSource;
    use flotilla_core::profile::{ContainerProperties, RestartPolicy};
    use std::time::Instant;
    use uuid::Uuid;

    fn assignment(desired: DesiredState, runtime_id: Option<&str>, policy: Option<RestartPolicy>) -> Assignment {
        Assignment {
            id: Uuid::from_u128(1),
            name: "c".into(),
            project_id: Uuid::from_u128(2),
            generation: 2,
            desired,
            spec: ContainerProperties { image: "demo:latest".into(), restart_policy: policy, ..Default::default() },
            image: ImageSource { reference: "demo:latest".into(), image_id: None, digest: None },
            runtime_id: runtime_id.map(str::to_owned),
            networks: Vec::new(),
            mounts: Vec::new(),
            unknown: false,
        }
    }

    fn container(generation: u64, state: RuntimeState, exit_code: Option<i64>) -> RuntimeContainer {
        RuntimeContainer {
            runtime_id: "r".into(),
            container_id: Uuid::from_u128(1),
            generation,
            name: "n".into(),
            state,
            exit_code,
            networks: vec![],
        }
    }

    fn failed() -> Memory {
        let mut memory = Memory::default();
        memory.entry(Uuid::from_u128(1)).failure = Some(Failure { generation: 2, at: Instant::now(), reason: "port is taken".into() });
        memory
    }

    /// State, runtime id, exit code, reason.
    type Seen<'a> = (ObservedState, Option<&'a str>, Option<i64>, &'a str);

    /// Name, assignment, runtime containers, memory, wanted observation.
    type Case = (&'static str, Assignment, Vec<RuntimeContainer>, Memory, Option<Seen<'static>>);

    #[test]
    fn observations() {
        use DesiredState::*;
        use ObservedState as O;
        let table: Vec<Case> = vec![
            (
                "running",
                assignment(Running, None, None),
                vec![container(2, RuntimeState::Running, None)],
                Memory::default(),
                Some((O::Running, Some("r"), None, "")),
            ),
            (
                "exited with its code",
                assignment(Running, None, None),
                vec![container(2, RuntimeState::Exited, Some(3))],
                Memory::default(),
                Some((O::Exited, Some("r"), Some(3), "exited with code 3")),
            ),
            (
                "created but start failed",
                assignment(Running, None, None),
                vec![container(2, RuntimeState::Created, None)],
                failed(),
                Some((O::Failed, Some("r"), None, "port is taken")),
            ),
            (
                "running despite an old failure",
                assignment(Running, None, None),
                vec![container(2, RuntimeState::Running, None)],
                failed(),
                Some((O::Running, Some("r"), None, "")),
            ),
            ("create failed", assignment(Running, None, None), vec![], failed(), Some((O::Failed, None, None, "port is taken"))),
            ("being created", assignment(Running, None, None), vec![], Memory::default(), None),
            (
                "old generation being replaced",
                assignment(Running, Some("r"), None),
                vec![container(1, RuntimeState::Running, None)],
                Memory::default(),
                None,
            ),
            (
                "vanished",
                assignment(Running, Some("gone"), None),
                vec![],
                Memory::default(),
                Some((O::Missing, Some("gone"), None, MISSING_REASON)),
            ),
            ("vanished but restartable", assignment(Running, Some("gone"), Some(RestartPolicy::Always)), vec![], Memory::default(), None),
            (
                "deleted and gone",
                assignment(Deleted, Some("r"), None),
                vec![],
                Memory::default(),
                Some((O::Removed, None, None, "deleted")),
            ),
            (
                "deleted, removal pending",
                assignment(Deleted, Some("r"), None),
                vec![container(2, RuntimeState::Running, None)],
                Memory::default(),
                None,
            ),
        ];
        for (case, a, runtime, memory, want) in table {
            let got = observe(&[a], &runtime, &memory, &HashMap::new());
            let got: Option<Seen> = got.first().map(|o| (o.state, o.runtime_id.as_deref(), o.exit_code, o.reason.as_str()));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn running_containers_carry_their_vitals() {
        let checked = || {
            let mut a = assignment(DesiredState::Running, None, None);
            a.spec.healthcheck = Some(flotilla_core::profile::Healthcheck {
                http: None,
                tcp: Some(flotilla_core::profile::TcpProbe { port: 80 }),
                command: vec![],
                interval: 5,
                timeout: 2,
                retries: 3,
            });
            a
        };
        let sick = Health { status: HealthStatus::Unhealthy, reason: "refused".into() };
        let vital = |runtime_id: &str| {
            HashMap::from([(
                Uuid::from_u128(1),
                Vital { runtime_id: runtime_id.into(), health: Some(sick.clone()), cpu_percent: Some(42.0) },
            )])
        };
        let seen = |a: Assignment, state, vitals: HashMap<Uuid, Vital>| {
            let o = observe(&[a], &[container(2, state, None)], &Memory::default(), &vitals).remove(0);
            (o.health.map(|h| (h.status, h.reason)), o.cpu_percent)
        };
        let starting = Some((HealthStatus::Starting, String::new()));
        let table = [
            (
                "measured",
                seen(checked(), RuntimeState::Running, vital("r")),
                (Some((HealthStatus::Unhealthy, "refused".to_owned())), Some(42.0)),
            ),
            ("not probed yet", seen(checked(), RuntimeState::Running, HashMap::new()), (starting.clone(), None)),
            ("another runtime container's", seen(checked(), RuntimeState::Running, vital("old")), (starting, None)),
            ("no health check", seen(assignment(DesiredState::Running, None, None), RuntimeState::Running, vital("r")), (None, Some(42.0))),
            ("not running", seen(checked(), RuntimeState::Paused, vital("r")), (None, None)),
        ];
        for (case, got, want) in table {
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn observed_carries_identity() {
        let o = observed(&container(7, RuntimeState::Paused, None));
        assert_eq!((o.id, o.generation, o.state, o.exit_code), (Uuid::from_u128(1), 7, ObservedState::Paused, None));
    }
}
