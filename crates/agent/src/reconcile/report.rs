//! Which observations to send: those that changed since the last report (a new health verdict
//! counts, a new CPU figure does not: it rides along), removals until they were sent once, those
//! the server holds UNKNOWN once per assignment set that says so, and everything at a steady interval.

use flotilla_api::agent::Observed;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn same(a: &Observed, b: &Observed) -> bool {
    let verdict = |o: &Observed| o.health.as_ref().map(|h| h.status);
    a.generation == b.generation
        && a.runtime_id == b.runtime_id
        && a.state == b.state
        && a.exit_code == b.exit_code
        && a.reason == b.reason
        && verdict(a) == verdict(b)
}

/// The reporter's memory of what the server was told.
#[derive(Debug, Default)]
pub struct Reporter {
    last: HashMap<Uuid, Observed>,
    last_full: Option<Instant>,
    /// Removals not yet sent, by container id.
    removed: BTreeMap<Uuid, Observed>,
}

/// A batch to send.
#[derive(Debug)]
pub struct Due {
    pub observations: Vec<Observed>,
    pub full: bool,
}

impl Reporter {
    /// Queues a removal; it is sent with the next batch (and again until a batch gets through).
    pub fn removed(&mut self, observed: Observed) {
        self.removed.insert(observed.id, observed);
    }

    /// What to send now, given the current observations of the assigned containers.
    pub fn due(&self, observed: &[Observed], now: Instant, full_every: Duration) -> Due {
        let full = self.last_full.is_none_or(|at| now.saturating_duration_since(at) >= full_every);
        let mut observations: Vec<Observed> = self.removed.values().cloned().collect();
        observations.extend(
            observed
                .iter()
                .filter(|o| !self.removed.contains_key(&o.id))
                .filter(|o| full || self.last.get(&o.id).is_none_or(|last| !same(last, o)))
                .cloned(),
        );
        Due { observations, full }
    }

    /// Notes that `due` reached the server.
    pub fn sent(&mut self, due: Due, now: Instant) {
        for o in due.observations {
            self.removed.remove(&o.id);
            self.last.insert(o.id, o);
        }
        if due.full {
            self.last_full = Some(now);
        }
    }

    /// Reports `ids` again with the next batch (the server marked them UNKNOWN while it could not
    /// hear from the host).
    pub fn resend(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        for id in ids {
            self.last.remove(&id);
        }
    }

    /// Forgets containers no longer assigned (a container assigned again is reported afresh).
    pub fn retain(&mut self, assigned: impl Fn(Uuid) -> bool) {
        self.last.retain(|id, _| assigned(*id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::agent::{Health, HealthStatus, ObservedState};

    fn obs(n: u128, state: ObservedState) -> Observed {
        Observed {
            id: Uuid::from_u128(n),
            generation: 1,
            runtime_id: Some("r".into()),
            state,
            exit_code: None,
            reason: String::new(),
            health: None,
            cpu_percent: None,
        }
    }

    fn vitals(n: u128, health: HealthStatus, reason: &str, cpu_percent: f64) -> Observed {
        Observed {
            health: Some(Health { status: health, reason: reason.into() }),
            cpu_percent: Some(cpu_percent),
            ..obs(n, ObservedState::Running)
        }
    }

    fn ids(due: &Due) -> Vec<u128> {
        due.observations.iter().map(|o| o.id.as_u128()).collect()
    }

    #[test]
    fn only_changes_between_full_reports() {
        let every = Duration::from_secs(30);
        let t0 = Instant::now();
        let mut r = Reporter::default();
        let first = r.due(&[obs(1, ObservedState::Running), obs(2, ObservedState::Created)], t0, every);
        assert!(first.full);
        assert_eq!(ids(&first), vec![1, 2]);
        r.sent(first, t0);

        let t1 = t0 + Duration::from_secs(2);
        let unchanged = r.due(&[obs(1, ObservedState::Running), obs(2, ObservedState::Created)], t1, every);
        assert!(!unchanged.full);
        assert!(unchanged.observations.is_empty());

        let changed = r.due(&[obs(1, ObservedState::Running), obs(2, ObservedState::Running)], t1, every);
        assert_eq!(ids(&changed), vec![2]);
        // Not sent (server unreachable): still due next time.
        let again = r.due(&[obs(1, ObservedState::Running), obs(2, ObservedState::Running)], t1, every);
        assert_eq!(ids(&again), vec![2]);
        r.sent(again, t1);

        let t2 = t0 + Duration::from_secs(31);
        let full = r.due(&[obs(1, ObservedState::Running), obs(2, ObservedState::Running)], t2, every);
        assert!(full.full);
        assert_eq!(ids(&full), vec![1, 2]);
    }

    #[test]
    fn a_new_verdict_is_a_change_cpu_rides_along() {
        let every = Duration::from_secs(30);
        let t0 = Instant::now();
        let mut r = Reporter::default();
        r.sent(r.due(&[vitals(1, HealthStatus::Starting, "", 1.0)], t0, every), t0);
        let t1 = t0 + Duration::from_secs(1);
        assert!(r.due(&[vitals(1, HealthStatus::Starting, "", 95.0)], t1, every).observations.is_empty(), "CPU alone waits");
        let healthy = r.due(&[vitals(1, HealthStatus::Healthy, "", 95.0)], t1, every);
        assert_eq!(ids(&healthy), vec![1]);
        assert_eq!(healthy.observations[0].cpu_percent, Some(95.0), "with the latest figure");
        r.sent(healthy, t1);
        r.sent(r.due(&[vitals(1, HealthStatus::Unhealthy, "HTTP 500", 95.0)], t1, every), t1);
        assert!(r.due(&[vitals(1, HealthStatus::Unhealthy, "timed out", 95.0)], t1, every).observations.is_empty(), "a new reason waits");
        let full = r.due(&[vitals(1, HealthStatus::Unhealthy, "timed out", 3.0)], t0 + Duration::from_secs(31), every);
        assert_eq!(
            (full.observations[0].cpu_percent, full.observations[0].health.as_ref().unwrap().reason.as_str()),
            (Some(3.0), "timed out")
        );
    }

    /// Those the server holds UNKNOWN are sent again, unchanged, and only they.
    #[test]
    fn containers_resent_are_reported_again_alone() {
        let every = Duration::from_secs(30);
        let t0 = Instant::now();
        let mut r = Reporter::default();
        let all = [obs(1, ObservedState::Running), obs(2, ObservedState::Running), obs(3, ObservedState::Exited)];
        r.sent(r.due(&all, t0, every), t0);
        let t1 = t0 + Duration::from_secs(1);
        assert!(r.due(&all, t1, every).observations.is_empty());
        r.resend([Uuid::from_u128(2), Uuid::from_u128(3)]);
        let due = r.due(&all, t1, every);
        assert!(!due.full);
        assert_eq!(ids(&due), vec![2, 3]);
        r.sent(due, t1);
        assert!(r.due(&all, t1, every).observations.is_empty(), "sent once");
    }

    #[test]
    fn removals_are_sent_until_they_got_through() {
        let every = Duration::from_secs(30);
        let t0 = Instant::now();
        let mut r = Reporter::default();
        r.sent(r.due(&[], t0, every), t0);
        r.removed(obs(9, ObservedState::Removed));
        let due = r.due(&[], t0, every);
        assert_eq!(ids(&due), vec![9]);
        assert_eq!(ids(&r.due(&[], t0, every)), vec![9]);
        r.sent(due, t0);
        assert!(r.due(&[], t0, every).observations.is_empty());
    }

    #[test]
    fn reassigned_containers_are_reported_afresh() {
        let every = Duration::from_secs(30);
        let t0 = Instant::now();
        let mut r = Reporter::default();
        r.sent(r.due(&[obs(1, ObservedState::Running)], t0, every), t0);
        r.retain(|_| false);
        assert_eq!(ids(&r.due(&[obs(1, ObservedState::Running)], t0, every)), vec![1]);
    }
}
