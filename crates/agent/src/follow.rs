//! Following the latest assignment set: the tasks that apply one part of it to the host (names,
//! routes) act on each new set, and on the latest again every tick.

use flotilla_api::agent::Assignments;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

pub(crate) struct Follow {
    assignments: watch::Receiver<Option<Arc<Assignments>>>,
    shutdown: watch::Receiver<bool>,
    tick: Interval,
}

impl Follow {
    pub(crate) fn new(assignments: watch::Receiver<Option<Arc<Assignments>>>, shutdown: watch::Receiver<bool>, every: Duration) -> Self {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { assignments, shutdown, tick }
    }

    /// The set to act on next: a new one, or the latest again at the tick; `None` once the agent
    /// stops.
    pub(crate) async fn next(&mut self) -> Option<Arc<Assignments>> {
        loop {
            tokio::select! {
                _ = self.shutdown.wait_for(|stop| *stop) => return None,
                changed = self.assignments.changed() => if changed.is_err() { return None },
                _ = self.tick.tick() => {}
            }
            if let Some(current) = self.assignments.borrow_and_update().clone() {
                return Some(current);
            }
        }
    }
}
