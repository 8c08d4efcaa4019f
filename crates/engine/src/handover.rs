//! Children written already claimed: a cluster action writes as many of its node actions as this
//! engine has room for RUNNING and its own, and hands them to the dispatcher to run, so they need
//! no claim (a write of every child row, the costliest statement of a scale-out). The rest are
//! written READY, for any engine.

use crate::context::Ctx;
use flotilla_core::action::{Action, ActionStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// This engine's action slots: how many actions it runs (claimed or handed over), at most
/// `max_running`.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    busy: AtomicUsize,
}

impl Slots {
    /// Takes up to `wanted` free slots of `max`; answers how many it took.
    pub(crate) fn take(&self, wanted: usize, max: usize) -> usize {
        let mut taken = 0;
        let _ = self.busy.fetch_update(Ordering::AcqRel, Ordering::Acquire, |busy| {
            taken = wanted.min(max.saturating_sub(busy));
            Some(busy + taken)
        });
        taken
    }

    /// Frees `n` slots; answers how many were busy before.
    pub(crate) fn free(&self, n: usize) -> usize {
        self.busy.fetch_sub(n, Ordering::AcqRel)
    }
}

/// Where the dispatcher receives actions written already claimed by it.
pub(crate) type Handed = mpsc::UnboundedReceiver<Vec<Action>>;

/// Children marked claimed by this engine, holding their slots until handed to the dispatcher
/// (or freeing them when dropped: their write failed).
pub(crate) struct Claimed<'a> {
    ctx: &'a Ctx,
    count: usize,
}

/// Marks the first of `children` this engine has free slots for as claimed by the engine running
/// `ctx`'s action (RUNNING, its own, started now).
pub(crate) fn claim<'a, 'c>(ctx: &'a Ctx, children: impl ExactSizeIterator<Item = &'c mut Action>) -> Claimed<'a> {
    let Some(owner) = ctx.action.owner else { return Claimed { ctx, count: 0 } };
    let count = ctx.shared.slots.take(children.len(), ctx.shared.config.max_running);
    let now = flotilla_core::now();
    for child in children.take(count) {
        child.status = ActionStatus::Running;
        child.owner = Some(owner);
        child.started_at = Some(now);
        child.updated_at = now;
    }
    Claimed { ctx, count }
}

impl Claimed<'_> {
    /// Hands the claimed ones of `children` (as written) to the dispatcher to run.
    pub(crate) fn hand_over<'c>(mut self, children: impl IntoIterator<Item = &'c Action>) {
        let claimed: Vec<Action> = children.into_iter().filter(|a| a.status == ActionStatus::Running).cloned().collect();
        debug_assert_eq!(claimed.len(), self.count);
        if self.ctx.shared.handed.send(claimed).is_ok() {
            self.count = 0;
        }
    }
}

impl Drop for Claimed<'_> {
    fn drop(&mut self) {
        if self.count > 0 {
            self.ctx.shared.slots.free(self.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_up_to_the_maximum_and_freed() {
        let slots = Slots::default();
        assert_eq!(slots.take(3, 5), 3);
        assert_eq!(slots.take(3, 5), 2, "only two were left");
        assert_eq!(slots.take(1, 5), 0, "none was left");
        assert_eq!(slots.free(2), 5, "all five were busy");
        assert_eq!(slots.take(3, 5), 2, "the two freed are taken again");
    }
}
