//! The container watch: feeds every waiting action its container's changes, so ten thousand
//! node actions do not each poll the store. What this server's agents report is handed on as
//! written ([`ContainerWatch::hand_on`]), with no read; every other change (another server's
//! agents, the API) is found by a poll of recently changed and deleted containers, a deletion as
//! soon as a change (through the store's tombstones). A poll reads the stamps of the rows written
//! lately and whole rows only for new stamps that an action waits on; every [`RECHECK`] it reads
//! every container waited on again, in batches, in case a poll missed a change (it reads each
//! change again for 3 s, so it hardly ever does).

use flotilla_core::ContainerId;
use flotilla_core::container::{Container, ContainerStatus};
use flotilla_store::{ContainerStamp, ObservationChanges, Store};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How far back each poll looks again, so a row written with a slightly late clock is seen.
const OVERLAP_MS: i64 = 3000;
/// Tombstones older than this are purged (by the poll, once in a while).
const TOMBSTONE_KEEP_MS: i64 = 60_000;
/// How often every container waited on is read again.
const RECHECK: Duration = Duration::from_secs(5);
/// After a poll, the next waits at least this many times what it took: one reading thousands of
/// changed rows, in a scale-out, takes at most a fifth of the store's time.
const PACE: u32 = 4;

/// What a poll saw of a container.
#[derive(Debug, Clone)]
pub(crate) enum Seen {
    Changed(Box<Container>),
    Deleted,
}

#[derive(Debug, Default)]
pub(crate) struct ContainerWatch {
    senders: Mutex<HashMap<ContainerId, watch::Sender<Option<Seen>>>>,
}

/// What a waiter of one container receives: its changes, from the poll after it subscribed.
pub(crate) type Subscription = watch::Receiver<Option<Seen>>;

/// A wait that begins after the waiter's own write of a container: the subscription it took
/// before writing, and the row the write answered (`None`: the container is gone), so the wait
/// needs no read of its own.
pub(crate) type AfterWrite = (Subscription, Option<Container>);

impl ContainerWatch {
    /// A receiver of `id`'s changes, from the next poll on.
    pub(crate) fn subscribe(&self, id: ContainerId) -> Subscription {
        let mut senders = self.senders.lock().expect("watch lock");
        senders.entry(id).or_insert_with(|| watch::channel(None).0).subscribe()
    }

    /// Hands each container a report `changes` to its waiters: as written, or gone (removed
    /// after its delete). A poll that read a row before the report may hand the older row after
    /// it: a waiter acts on an ending state, and the next poll or recheck hands the newest again.
    pub(crate) fn hand_on(&self, changes: &ObservationChanges) {
        let removed = changes.status.iter().filter(|c| c.to == ContainerStatus::Deleted).map(|c| (c.id, Seen::Deleted));
        let written = changes.written.iter().map(|c| (c.id, Seen::Changed(Box::new(c.clone()))));
        let senders = self.senders.lock().expect("watch lock");
        for (id, seen) in written.chain(removed) {
            if let Some(tx) = senders.get(&id) {
                tx.send_replace(Some(seen));
            }
        }
    }

    /// Polls the store every `every` until `stop`, handing changed containers to their waiters.
    pub(crate) async fn run(&self, store: Store, every: Duration, stop: CancellationToken) {
        let mut since = chrono::Utc::now().timestamp_millis() - OVERLAP_MS;
        let mut purged_at = 0;
        let mut rechecked_at = tokio::time::Instant::now();
        // The stamps already handed on (or not waited on), while they are in the window.
        let mut seen: HashMap<ContainerId, ContainerStamp> = HashMap::new();
        let mut paced_until = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(paced_until.max(tokio::time::Instant::now() + every)) => {}
            }
            let waiting = {
                let mut senders = self.senders.lock().expect("watch lock");
                senders.retain(|_, tx| tx.receiver_count() > 0);
                !senders.is_empty()
            };
            if !waiting {
                since = chrono::Utc::now().timestamp_millis() - OVERLAP_MS;
                continue;
            }
            let now = chrono::Utc::now().timestamp_millis();
            if now - purged_at >= TOMBSTONE_KEEP_MS {
                purged_at = now;
                if let Err(e) = store.purge_container_tombstones(now - TOMBSTONE_KEEP_MS).await {
                    tracing::warn!(error = %e, "container watch: cannot purge tombstones");
                }
            }
            let polled = tokio::time::Instant::now();
            let answer = self.poll(&store, since, &mut seen).await;
            paced_until = polled + polled.elapsed() * PACE;
            match answer {
                Ok(changes) => {
                    since = now - OVERLAP_MS;
                    seen.retain(|_, stamp| stamp.updated_at >= since);
                    let senders = self.senders.lock().expect("watch lock");
                    for (id, change) in changes {
                        if let Some(tx) = senders.get(&id) {
                            tx.send_replace(Some(change));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "container watch: cannot read changes"),
            }
            if rechecked_at.elapsed() >= RECHECK {
                rechecked_at = tokio::time::Instant::now();
                if let Err(e) = self.recheck(&store).await {
                    tracing::warn!(error = %e, "container watch: cannot read the containers waited on");
                }
            }
        }
    }

    /// Hands every waiter its container as it is now (or gone).
    async fn recheck(&self, store: &Store) -> Result<(), flotilla_store::StoreError> {
        let waited: Vec<ContainerId> = self.senders.lock().expect("watch lock").keys().copied().collect();
        let mut now: HashMap<ContainerId, Container> = store.containers_by_id(&waited).await?.into_iter().map(|c| (c.id, c)).collect();
        let senders = self.senders.lock().expect("watch lock");
        for id in waited {
            if let Some(tx) = senders.get(&id) {
                tx.send_replace(Some(now.remove(&id).map_or(Seen::Deleted, |c| Seen::Changed(Box::new(c)))));
            }
        }
        Ok(())
    }

    /// The containers changed since `since` whose stamps are not in `seen` (and that an action
    /// waits on), and those deleted since; `seen` takes the new stamps.
    async fn poll(
        &self,
        store: &Store,
        since: i64,
        seen: &mut HashMap<ContainerId, ContainerStamp>,
    ) -> Result<Vec<(ContainerId, Seen)>, flotilla_store::StoreError> {
        let stamps = store.container_stamps_since(since).await?;
        let fresh: Vec<ContainerStamp> = stamps.into_iter().filter(|s| seen.get(&s.id) != Some(s)).collect();
        let waited: Vec<ContainerId> = {
            let senders = self.senders.lock().expect("watch lock");
            fresh.iter().map(|s| s.id).filter(|id| senders.contains_key(id)).collect()
        };
        let changed = store.containers_by_id(&waited).await?;
        let deleted = store.containers_deleted_since(since).await?;
        seen.extend(fresh.into_iter().map(|s| (s.id, s)));
        let changed = changed.into_iter().map(|c| (c.id, Seen::Changed(Box::new(c))));
        Ok(changed.chain(deleted.into_iter().map(|id| (id, Seen::Deleted))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A report's changes reach their waiters as written, with no poll: the changed row to its
    /// waiter, a removal as gone; a container no one waits on is dropped.
    #[test]
    fn a_reports_changes_are_handed_on_as_written() {
        let watch = ContainerWatch::default();
        let (mut running, removed, unwatched) = (crate::fixtures::container(), crate::fixtures::container(), crate::fixtures::container());
        running.status = ContainerStatus::Running;
        let (mut started, mut gone) = (watch.subscribe(running.id), watch.subscribe(removed.id));
        let status = flotilla_core::container::StatusChange {
            id: removed.id,
            name: removed.name.clone(),
            project_id: removed.project_id,
            from: ContainerStatus::Deleting,
            to: ContainerStatus::Deleted,
            reason: "removed from its host".into(),
        };
        watch.hand_on(&ObservationChanges { status: vec![status], health: Vec::new(), written: vec![running.clone(), unwatched] });
        assert!(started.has_changed().unwrap() && gone.has_changed().unwrap());
        assert!(matches!(started.borrow_and_update().as_ref(), Some(Seen::Changed(c)) if **c == running));
        assert!(matches!(gone.borrow_and_update().as_ref(), Some(Seen::Deleted)));
        assert_eq!(watch.senders.lock().unwrap().len(), 2, "no sender is made for what no one waits on");
    }

    /// What no poll tells of (a container that never was leaves no tombstone) reaches its waiter
    /// with the next recheck.
    #[tokio::test]
    async fn the_recheck_hands_on_what_polls_missed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("watch.db").display())).await.unwrap();
        let watch = Arc::new(ContainerWatch::default());
        let mut waiter = watch.subscribe(ContainerId::new());
        let stop = CancellationToken::new();
        let task = {
            let (watch, stop) = (watch.clone(), stop.clone());
            tokio::spawn(async move { watch.run(store, Duration::from_millis(50), stop).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.has_changed().unwrap(), "the polls saw nothing of it");
        tokio::time::timeout(RECHECK + Duration::from_secs(2), waiter.changed()).await.expect("rechecked").unwrap();
        assert!(matches!(*waiter.borrow(), Some(Seen::Deleted)));
        stop.cancel();
        task.await.unwrap();
    }
}
