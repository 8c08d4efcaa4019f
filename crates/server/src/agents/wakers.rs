//! Wake-ups for agents long-polling their assignments: one `Notify` per host, poked by every
//! change this server makes to that host's set. Changes made by another server are seen by
//! [`follow_revisions`]: one read of every host's revision per second for the whole server, not
//! one per waiting agent. Reads of a host's assignments are paced by what they cost: a host whose
//! set changes without pause is answered a few times a second, each answer carrying every change
//! since the last, not once per change (each read is the host's whole set).

use flotilla_core::HostId;
use flotilla_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How often the server reads every host's revision for changes made elsewhere.
const FOLLOW: Duration = Duration::from_secs(1);
/// A host's next assignments read waits this many times what its last one cost, after it: its
/// reads take at most about a tenth of the time however fast its set changes.
const PACE: u32 = 9;
/// The longest wait between two reads of a host's assignments.
const MAX_PACE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Wakers {
    hosts: Mutex<HashMap<HostId, Arc<Notify>>>,
    /// Per host, the earliest its assignments may be read again.
    paces: Mutex<HashMap<HostId, Instant>>,
}

impl Wakers {
    /// What a waiter on `host` awaits.
    pub fn notifier(&self, host: HostId) -> Arc<Notify> {
        self.hosts.lock().expect("wakers lock").entry(host).or_default().clone()
    }

    /// Wakes every agent waiting on `host`.
    pub fn wake(&self, host: HostId) {
        if let Some(notify) = self.hosts.lock().expect("wakers lock").get(&host) {
            notify.notify_waiters();
        }
    }

    /// When `host`'s assignments may be read next: `None` at once.
    pub fn paced_until(&self, host: HostId) -> Option<Instant> {
        let next = *self.paces.lock().expect("paces lock").get(&host)?;
        (next > Instant::now()).then_some(next)
    }

    /// Notes a read of `host`'s assignments that took `cost` and ended now.
    pub fn read(&self, host: HostId, cost: Duration) {
        let next = Instant::now() + (cost * PACE).min(MAX_PACE);
        self.paces.lock().expect("paces lock").insert(host, next);
    }
}

/// Runs until aborted: wakes the agents of every host whose revision moved since the last look
/// (another server changed its set; this server's own changes woke them already). A waiter woken
/// for nothing reads its revision again and goes on waiting.
pub async fn follow_revisions(store: Store, agents: Arc<crate::state::AgentLinks>) {
    let mut seen: HashMap<HostId, u64> = HashMap::new();
    let mut tick = tokio::time::interval(FOLLOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.host_revisions().await {
            Ok(revisions) => {
                let now: HashMap<HostId, u64> = revisions.into_iter().collect();
                for (host, revision) in &now {
                    // A host new to this server is woken too: a change may have come before its first look.
                    if seen.get(host) != Some(revision) {
                        agents.wakers.wake(*host);
                    }
                }
                seen = now;
            }
            Err(e) => tracing::warn!(error = %e, "reading host revisions failed"),
        }
    }
}
