//! The container watch: one poll of recently changed containers feeds every waiting action,
//! so ten thousand node actions do not each poll the store.

use flotilla_core::ContainerId;
use flotilla_core::container::Container;
use flotilla_store::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How far back each poll looks again, so a row written with a slightly late clock is seen.
const OVERLAP_MS: i64 = 3000;

#[derive(Default)]
pub(crate) struct ContainerWatch {
    senders: Mutex<HashMap<ContainerId, watch::Sender<Option<Container>>>>,
}

impl ContainerWatch {
    /// A receiver of `id`'s changes, from the next poll on.
    pub(crate) fn subscribe(&self, id: ContainerId) -> watch::Receiver<Option<Container>> {
        let mut senders = self.senders.lock().expect("watch lock");
        senders.entry(id).or_insert_with(|| watch::channel(None).0).subscribe()
    }

    /// Polls the store every `every` until `stop`, handing changed containers to their waiters.
    pub(crate) async fn run(&self, store: Store, every: Duration, stop: CancellationToken) {
        let mut since = chrono::Utc::now().timestamp_millis() - OVERLAP_MS;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
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
            match store.containers_changed_since(since).await {
                Ok(changed) => {
                    since = now - OVERLAP_MS;
                    let senders = self.senders.lock().expect("watch lock");
                    for container in changed {
                        if let Some(tx) = senders.get(&container.id) {
                            tx.send_replace(Some(container));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "container watch: cannot read changes"),
            }
        }
    }
}
