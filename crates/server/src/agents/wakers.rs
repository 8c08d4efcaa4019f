//! Wake-ups for agents long-polling their assignments: one `Notify` per host, poked by every
//! change this server makes to that host's set. Changes made by another server are seen by
//! [`follow_revisions`]: one read of every host's revision per second for the whole server, not
//! one per waiting agent.

use flotilla_core::HostId;
use flotilla_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How often the server reads every host's revision for changes made elsewhere.
const FOLLOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Wakers {
    hosts: Mutex<HashMap<HostId, Arc<Notify>>>,
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
