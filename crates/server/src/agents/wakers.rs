//! Wake-ups for agents long-polling their assignments: one `Notify` per host, poked by every
//! change this server makes to that host's set. Changes made by another server are seen by
//! [`follow_revisions`]: one read of every host's revision (and credential) per second for the
//! whole server, not one per waiting agent; it also forgets the agents' credentials it finds
//! replaced or whose host is gone. Reads of a host's assignments are paced: a host whose set changes
//! without pause is answered a few times a second when it holds many containers, each answer
//! carrying every change since the last, not once per change (each read is the host's whole set);
//! a host holding few is answered at once.

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
/// reads take at most about a tenth of the time however fast its set changes...
const PACE: u32 = 9;
/// ...but no longer than this per container of its last answer, so a small host's read made slow
/// by a busy database does not hold back its next answer.
const PACE_PER_CONTAINER: Duration = Duration::from_micros(500);
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

    /// Notes a read of `host`'s assignments, ended now, that took `cost` and answered `containers`.
    pub fn read(&self, host: HostId, cost: Duration, containers: usize) {
        let by_size = PACE_PER_CONTAINER * u32::try_from(containers).unwrap_or(u32::MAX);
        let next = Instant::now() + (cost * PACE).min(by_size).min(MAX_PACE);
        self.paces.lock().expect("paces lock").insert(host, next);
    }

    /// Forgets the hosts not among `hosts` (removed ones) that no agent waits on.
    pub fn keep_only(&self, hosts: &HashMap<HostId, u64>) {
        // A waiter holds its host's `Notify`: kept, so a host joined since `hosts` was read is woken.
        self.hosts.lock().expect("wakers lock").retain(|host, notify| hosts.contains_key(host) || Arc::strong_count(notify) > 1);
        self.paces.lock().expect("paces lock").retain(|host, _| hosts.contains_key(host));
    }
}

/// Runs until aborted: wakes the agents of every host whose revision moved since the last look
/// (another server changed its set; this server's own changes woke them already). A waiter woken
/// for nothing reads its revision again and goes on waiting. Removed hosts are forgotten here, and
/// so are the cached credentials (`credentials`) that are no longer their host's.
pub async fn follow_revisions(
    store: Store,
    agents: Arc<crate::state::AgentLinks>,
    credentials: Arc<crate::identity::auth_cache::AuthCache<HostId>>,
) {
    let mut seen: HashMap<HostId, u64> = HashMap::new();
    let mut tick = tokio::time::interval(FOLLOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.host_revisions().await {
            Ok(revisions) => {
                let digests: HashMap<HostId, String> =
                    revisions.iter().filter_map(|r| Some((r.host, r.credential_digest.clone()?))).collect();
                credentials.retain(|digest, host| digests.get(host).is_some_and(|current| current == digest));
                let now: HashMap<HostId, u64> = revisions.into_iter().map(|r| (r.host, r.revision)).collect();
                for (host, revision) in &now {
                    // A host new to this server is woken too: a change may have come before its first look.
                    if seen.get(host) != Some(revision) {
                        agents.wakers.wake(*host);
                    }
                }
                agents.wakers.keep_only(&now);
                seen = now;
            }
            Err(e) => tracing::warn!(error = %e, "reading host revisions failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host holding nothing is read again at once; one holding many waits 9× what its read
    /// cost, no longer than its size allows and at most `MAX_PACE`; the pace is per host.
    #[tokio::test]
    async fn reads_are_paced_by_their_cost_and_size() {
        let wakers = Wakers::default();
        let (empty, small, large, huge) = (HostId::new(), HostId::new(), HostId::new(), HostId::new());
        let cost = Duration::from_millis(10);
        wakers.read(empty, cost, 0);
        wakers.read(small, cost, 10);
        wakers.read(large, cost, 1_000);
        wakers.read(huge, Duration::from_secs(1), 1_000_000);
        let now = Instant::now();
        let waits = |host| wakers.paced_until(host).map(|at| at - now);
        assert_eq!(waits(empty), None);
        assert!(waits(small).is_some_and(|w| w <= Duration::from_millis(5)), "10 containers: {:?}", waits(small));
        assert!(waits(large).is_some_and(|w| w > Duration::from_millis(60) && w <= Duration::from_millis(90)), "{:?}", waits(large));
        assert!(waits(huge).is_some_and(|w| w <= MAX_PACE), "{:?}", waits(huge));
        assert_eq!(wakers.paced_until(HostId::new()), None, "a host never read waits for nothing");
    }

    /// Removed hosts are forgotten, unless an agent still waits on one (a host that joined after
    /// the revisions were read): its waiter is still woken.
    #[tokio::test]
    async fn removed_hosts_are_forgotten_but_waiters_kept() {
        let wakers = Wakers::default();
        let (kept, removed, joined) = (HostId::new(), HostId::new(), HostId::new());
        for host in [kept, removed] {
            drop(wakers.notifier(host));
            wakers.read(host, Duration::from_millis(10), 1_000);
        }
        let waiter = wakers.notifier(joined);
        wakers.keep_only(&HashMap::from([(kept, 1)]));
        assert!(wakers.paced_until(kept).is_some());
        assert_eq!(wakers.paced_until(removed), None);
        let known: Vec<HostId> = wakers.hosts.lock().unwrap().keys().copied().collect();
        assert!(known.contains(&kept) && known.contains(&joined) && !known.contains(&removed), "{known:?}");
        let woken = waiter.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        wakers.wake(joined);
        tokio::time::timeout(Duration::from_secs(1), woken).await.expect("the waiter of a host joined meanwhile is woken");
    }
}
