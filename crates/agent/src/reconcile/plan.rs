//! The reconcile decision, pure: assignments, the runtime's containers and the reconciler's memory
//! in, the actions that bring the runtime towards the assignments out.

use super::memory::Memory;
use crate::runtime::{RuntimeContainer, RuntimeState};
use flotilla_api::agent::Assignment;
use flotilla_core::container::DesiredState;
use flotilla_core::profile::RestartPolicy;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Seconds between SIGTERM and SIGKILL when the spec does not say.
pub const DEFAULT_STOP_TIMEOUT: u32 = 10;

/// One step towards the assignments.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Remove `replace` (older generations), ensure the image, create, then bring it to the desired state.
    Create {
        id: Uuid,
        replace: Vec<String>,
    },
    /// Start; then pause when the desired state is paused.
    Start {
        id: Uuid,
        runtime_id: String,
        then_pause: bool,
    },
    Stop {
        id: Uuid,
        runtime_id: String,
        timeout_secs: u32,
        unpause_first: bool,
    },
    Pause {
        id: Uuid,
        runtime_id: String,
    },
    Unpause {
        id: Uuid,
        runtime_id: String,
    },
    /// Force-remove; `report` says whether to report the container `removed` (it is not assigned,
    /// or its desired state is deleted) or whether it was only a stray copy.
    Remove {
        id: Uuid,
        runtime_id: String,
        generation: u64,
        report: bool,
    },
    /// Nothing to do to the runtime: remember `desired` as applied (adopting what is there).
    Record {
        id: Uuid,
        desired: DesiredState,
    },
}

impl Action {
    /// The runtime operation, as the metrics name it.
    pub fn operation(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Start { .. } => "start",
            Action::Stop { .. } => "stop",
            Action::Pause { .. } => "pause",
            Action::Unpause { .. } => "unpause",
            Action::Remove { .. } => "remove",
            Action::Record { .. } => "record",
        }
    }
}

/// Whether the container was created once and then removed behind Flotilla's back, and its
/// restart policy says not to bring it back.
pub fn vanished(assignment: &Assignment, memory: &Memory) -> bool {
    let known = assignment.runtime_id.as_deref().or(memory.seen(assignment.id));
    let removed_outside = known.is_some_and(|rid| !memory.discarded(assignment.id, rid));
    removed_outside && matches!(assignment.spec.restart_policy, None | Some(RestartPolicy::No))
}

/// The actions for one pass. At most one action per assigned container, plus removals.
pub fn plan(
    assignments: &[Assignment],
    runtime: &[RuntimeContainer],
    memory: &Memory,
    now: Instant,
    failure_retry: Duration,
) -> Vec<Action> {
    let assigned: HashSet<Uuid> = assignments.iter().map(|a| a.id).collect();
    let mut actions: Vec<Action> = runtime
        .iter()
        .filter(|c| !assigned.contains(&c.container_id))
        .map(|c| Action::Remove { id: c.container_id, runtime_id: c.runtime_id.clone(), generation: c.generation, report: true })
        .collect();
    for a in assignments {
        let copies: Vec<&RuntimeContainer> = runtime.iter().filter(|c| c.container_id == a.id).collect();
        let held_back = memory.failure(a.id, a.generation).is_some_and(|f| now.saturating_duration_since(f.at) < failure_retry);
        plan_one(a, &copies, memory, held_back, &mut actions);
    }
    actions
}

fn plan_one(a: &Assignment, copies: &[&RuntimeContainer], memory: &Memory, held_back: bool, out: &mut Vec<Action>) {
    let remove = |c: &RuntimeContainer, report: bool| Action::Remove {
        id: a.id,
        runtime_id: c.runtime_id.clone(),
        generation: c.generation,
        report,
    };
    if a.desired == DesiredState::Deleted {
        out.extend(copies.iter().map(|c| remove(c, true)));
        return;
    }
    let Some(current) = copies.iter().find(|c| c.generation == a.generation) else {
        if (copies.is_empty() && vanished(a, memory)) || held_back {
            return;
        }
        out.push(Action::Create { id: a.id, replace: copies.iter().map(|c| c.runtime_id.clone()).collect() });
        return;
    };
    out.extend(copies.iter().filter(|c| c.runtime_id != current.runtime_id).map(|c| remove(c, false)));
    out.extend(transition(a, current, memory.applied(a.id, a.generation), held_back));
}

/// What moves `current` towards the desired state. `last` is the desired state applied before
/// (`None` after the agent started: adopted containers are enforced, not transitioned).
fn transition(a: &Assignment, current: &RuntimeContainer, last: Option<DesiredState>, held_back: bool) -> Option<Action> {
    use DesiredState as D;
    use RuntimeState as S;
    let id = a.id;
    let runtime_id = current.runtime_id.clone();
    let changed = last.is_some_and(|l| l != a.desired);
    let record = (last != Some(a.desired)).then_some(Action::Record { id, desired: a.desired });
    let start = |then_pause| (!held_back).then(|| Action::Start { id, runtime_id: runtime_id.clone(), then_pause });
    let stop = |unpause_first| Action::Stop {
        id,
        runtime_id: runtime_id.clone(),
        timeout_secs: a.spec.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
        unpause_first,
    };
    match (a.desired, current.state) {
        (D::Running, S::Created) => start(false),
        (D::Running, S::Exited) if changed => start(false),
        (D::Running, S::Paused) => Some(Action::Unpause { id, runtime_id }),
        (D::Running, S::Running | S::Restarting | S::Exited) => record,
        (D::Stopped, S::Running | S::Restarting) => Some(stop(false)),
        (D::Stopped, S::Paused) => Some(stop(true)),
        (D::Stopped, S::Created | S::Exited) => record,
        (D::Paused, S::Running) => Some(Action::Pause { id, runtime_id }),
        (D::Paused, S::Created) => start(true),
        (D::Paused, S::Exited) if changed => start(true),
        (D::Paused, S::Paused | S::Exited) => record,
        (D::Paused, S::Restarting) | (D::Deleted, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::fixtures;
    use crate::reconcile::memory::Failure;

    const RETRY: Duration = Duration::from_secs(10);

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn assignment(n: u128, generation: u64, desired: DesiredState) -> Assignment {
        Assignment { generation, ..fixtures::assignment(n, desired) }
    }

    fn container(n: u128, runtime_id: &str, generation: u64, state: RuntimeState) -> RuntimeContainer {
        RuntimeContainer {
            runtime_id: runtime_id.into(),
            container_id: id(n),
            generation,
            name: format!("flt-c{n}"),
            state,
            exit_code: (state == RuntimeState::Exited).then_some(0),
            networks: vec![],
        }
    }

    fn with_applied(n: u128, generation: u64, desired: DesiredState) -> Memory {
        let mut memory = Memory::default();
        memory.entry(id(n)).applied = Some((generation, desired));
        memory
    }

    fn with_failure(n: u128, generation: u64, at: Instant) -> Memory {
        let mut memory = Memory::default();
        memory.entry(id(n)).failure = Some(Failure { generation, at, reason: "boom".into() });
        memory
    }

    fn start(n: u128, rid: &str, then_pause: bool) -> Action {
        Action::Start { id: id(n), runtime_id: rid.into(), then_pause }
    }

    fn stop(n: u128, rid: &str, timeout_secs: u32, unpause_first: bool) -> Action {
        Action::Stop { id: id(n), runtime_id: rid.into(), timeout_secs, unpause_first }
    }

    fn record(n: u128, desired: DesiredState) -> Action {
        Action::Record { id: id(n), desired }
    }

    #[test]
    fn a_container_seen_here_but_not_yet_known_to_the_server_is_missing_when_removed() {
        let a = assignment(1, 1, DesiredState::Running);
        assert_eq!(plan(std::slice::from_ref(&a), &[], &Memory::default(), Instant::now(), RETRY).len(), 1, "never seen: create it");
        let mut seen = Memory::default();
        seen.entry(id(1)).seen = Some("r1".into());
        assert!(plan(&[a], &[], &seen, Instant::now(), RETRY).is_empty(), "seen then gone, policy none: leave it missing");
    }

    #[test]
    fn creation_missing_and_retries() {
        use DesiredState::*;
        let now = Instant::now();
        let created_once = |policy: Option<RestartPolicy>| {
            let mut a = assignment(1, 1, Running);
            a.runtime_id = Some("gone".into());
            a.spec.restart_policy = policy;
            a
        };
        let mut discarded = Memory::default();
        discarded.entry(id(1)).discarded.push("gone".into());
        let table: Vec<(&str, Assignment, Memory, Vec<Action>)> = vec![
            ("new container is created", assignment(1, 1, Running), Memory::default(), vec![Action::Create { id: id(1), replace: vec![] }]),
            (
                "new stopped container is created too",
                assignment(1, 1, Stopped),
                Memory::default(),
                vec![Action::Create { id: id(1), replace: vec![] }],
            ),
            ("vanished, no policy: missing, not recreated", created_once(None), Memory::default(), vec![]),
            ("vanished, policy no: missing, not recreated", created_once(Some(RestartPolicy::No)), Memory::default(), vec![]),
            (
                "vanished, policy always: recreated",
                created_once(Some(RestartPolicy::Always)),
                Memory::default(),
                vec![Action::Create { id: id(1), replace: vec![] }],
            ),
            (
                "vanished, policy on-failure: recreated",
                created_once(Some(RestartPolicy::OnFailure)),
                Memory::default(),
                vec![Action::Create { id: id(1), replace: vec![] }],
            ),
            ("removed by the agent itself: recreated", created_once(None), discarded, vec![Action::Create { id: id(1), replace: vec![] }]),
            ("failed 3 s ago: left alone", assignment(1, 1, Running), with_failure(1, 1, now - Duration::from_secs(3)), vec![]),
            (
                "failed 11 s ago: retried",
                assignment(1, 1, Running),
                with_failure(1, 1, now - Duration::from_secs(11)),
                vec![Action::Create { id: id(1), replace: vec![] }],
            ),
            (
                "failure of an older generation: created",
                assignment(1, 2, Running),
                with_failure(1, 1, now),
                vec![Action::Create { id: id(1), replace: vec![] }],
            ),
            ("deleted and absent: nothing", assignment(1, 1, Deleted), Memory::default(), vec![]),
        ];
        for (case, a, memory, want) in table {
            assert_eq!(plan(&[a], &[], &memory, now, RETRY), want, "{case}");
        }
    }

    /// Name, assignments, runtime containers, wanted actions.
    type Case = (&'static str, Vec<Assignment>, Vec<RuntimeContainer>, Vec<Action>);

    #[test]
    fn generations_strays_and_unassigned() {
        use DesiredState as D;
        use RuntimeState as S;
        let now = Instant::now();
        let table: Vec<Case> = vec![
            (
                "older generation is replaced (rebuild)",
                vec![assignment(1, 2, D::Running)],
                vec![container(1, "old", 1, S::Running)],
                vec![Action::Create { id: id(1), replace: vec!["old".into()] }],
            ),
            (
                "stray copy beside the current one is removed quietly",
                vec![assignment(1, 2, D::Running)],
                vec![container(1, "old", 1, S::Exited), container(1, "cur", 2, S::Running)],
                vec![Action::Remove { id: id(1), runtime_id: "old".into(), generation: 1, report: false }, record(1, D::Running)],
            ),
            (
                "unassigned container is removed and reported",
                vec![],
                vec![container(9, "x", 3, S::Running)],
                vec![Action::Remove { id: id(9), runtime_id: "x".into(), generation: 3, report: true }],
            ),
            (
                "desired deleted: removed and reported",
                vec![assignment(1, 1, D::Deleted)],
                vec![container(1, "r", 1, S::Running)],
                vec![Action::Remove { id: id(1), runtime_id: "r".into(), generation: 1, report: true }],
            ),
            (
                "assigned ones stay, unassigned go",
                vec![assignment(1, 1, D::Running)],
                vec![container(1, "a", 1, S::Running), container(2, "b", 1, S::Running)],
                vec![Action::Remove { id: id(2), runtime_id: "b".into(), generation: 1, report: true }, record(1, D::Running)],
            ),
        ];
        for (case, assignments, runtime, want) in table {
            assert_eq!(plan(&assignments, &runtime, &Memory::default(), now, RETRY), want, "{case}");
        }
    }

    #[test]
    fn desired_state_transitions_and_enforcement() {
        use DesiredState as D;
        use RuntimeState as S;
        let now = Instant::now();
        let none = Memory::default;
        let table: Vec<(&str, DesiredState, RuntimeState, Memory, Option<Action>)> = vec![
            ("created, wanted running: start", D::Running, S::Created, none(), Some(start(1, "r", false))),
            ("adopted running: recorded", D::Running, S::Running, none(), Some(record(1, D::Running))),
            ("running as applied: nothing", D::Running, S::Running, with_applied(1, 1, D::Running), None),
            ("exited on its own: left to the restart policy", D::Running, S::Exited, with_applied(1, 1, D::Running), None),
            ("adopted exited: recorded, not started", D::Running, S::Exited, none(), Some(record(1, D::Running))),
            ("stopped -> running: start", D::Running, S::Exited, with_applied(1, 1, D::Stopped), Some(start(1, "r", false))),
            (
                "paused -> running: unpause",
                D::Running,
                S::Paused,
                with_applied(1, 1, D::Paused),
                Some(Action::Unpause { id: id(1), runtime_id: "r".into() }),
            ),
            (
                "paused behind our back while wanted running: unpause",
                D::Running,
                S::Paused,
                with_applied(1, 1, D::Running),
                Some(Action::Unpause { id: id(1), runtime_id: "r".into() }),
            ),
            ("restarting: recorded", D::Running, S::Restarting, none(), Some(record(1, D::Running))),
            ("running -> stopped: stop", D::Stopped, S::Running, with_applied(1, 1, D::Running), Some(stop(1, "r", 10, false))),
            ("wanted stopped but running: stop", D::Stopped, S::Running, with_applied(1, 1, D::Stopped), Some(stop(1, "r", 10, false))),
            ("wanted stopped but paused: unpause and stop", D::Stopped, S::Paused, none(), Some(stop(1, "r", 10, true))),
            ("stopped as wanted: recorded", D::Stopped, S::Exited, none(), Some(record(1, D::Stopped))),
            ("created, wanted stopped: left created", D::Stopped, S::Created, with_applied(1, 1, D::Stopped), None),
            (
                "running -> paused: pause",
                D::Paused,
                S::Running,
                with_applied(1, 1, D::Running),
                Some(Action::Pause { id: id(1), runtime_id: "r".into() }),
            ),
            (
                "wanted paused but running: pause",
                D::Paused,
                S::Running,
                with_applied(1, 1, D::Paused),
                Some(Action::Pause { id: id(1), runtime_id: "r".into() }),
            ),
            ("created, wanted paused: start then pause", D::Paused, S::Created, none(), Some(start(1, "r", true))),
            ("stopped -> paused: start then pause", D::Paused, S::Exited, with_applied(1, 1, D::Stopped), Some(start(1, "r", true))),
            ("adopted exited, wanted paused: recorded", D::Paused, S::Exited, none(), Some(record(1, D::Paused))),
            ("restarting, wanted paused: wait", D::Paused, S::Restarting, none(), None),
            (
                "applied to an older generation does not count",
                D::Running,
                S::Exited,
                with_applied(1, 0, D::Stopped),
                Some(record(1, D::Running)),
            ),
            ("start held back after a failure", D::Running, S::Created, with_failure(1, 1, now), None),
        ];
        for (case, desired, state, memory, want) in table {
            let got = plan(&[assignment(1, 1, desired)], &[container(1, "r", 1, state)], &memory, now, RETRY);
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{case}");
        }
    }

    #[test]
    fn stop_uses_the_spec_timeout() {
        let mut a = assignment(1, 1, DesiredState::Stopped);
        a.spec.stop_timeout = Some(3);
        let got = plan(&[a], &[container(1, "r", 1, RuntimeState::Running)], &Memory::default(), Instant::now(), RETRY);
        assert_eq!(got, vec![stop(1, "r", 3, false)]);
    }
}
