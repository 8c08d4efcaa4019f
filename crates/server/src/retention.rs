//! Retention: a periodic task that purges events, finished actions and successful jobs past their
//! configured age, in bounded batches so that no statement holds the database long.

use flotilla_store::{Store, StoreError};
use std::time::Duration;

/// Rows deleted per statement.
const BATCH: u32 = 1000;
/// Statements per kind and run: what is left waits for the next run.
const MAX_BATCHES: u32 = 100;

/// How long events and finished actions are kept (`None`: for ever), and how often the purge runs.
/// Successful jobs are kept as long as finished actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub events: Option<Duration>,
    pub actions: Option<Duration>,
    pub interval: Duration,
}

/// Senlin's `event-purge` and `action-purge` default age: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

impl Default for Retention {
    /// 30 days of events and finished actions, purged every 10 minutes.
    fn default() -> Self {
        Retention { events: Some(DEFAULT_RETENTION), actions: Some(DEFAULT_RETENTION), interval: Duration::from_secs(600) }
    }
}

/// Purges every `retention.interval` until aborted.
pub(crate) async fn purge_forever(store: Store, retention: Retention) {
    let mut tick = tokio::time::interval(retention.interval.max(Duration::from_millis(10)));
    loop {
        tick.tick().await;
        match purge_once(&store, retention).await {
            Ok((0, 0, 0)) => {}
            Ok((events, actions, jobs)) => tracing::info!(events, actions, jobs, "old events, actions and jobs purged"),
            Err(e) => tracing::warn!(error = %e, "purging old events, actions and jobs failed"),
        }
    }
}

/// One run: the events, then the actions and the successful jobs, older than their retention;
/// answers how many of each went.
async fn purge_once(store: &Store, retention: Retention) -> Result<(u64, u64, u64), StoreError> {
    let now = flotilla_core::now();
    let cutoff = |age: Duration| chrono::Duration::from_std(age).ok().and_then(|age| now.checked_sub_signed(age));
    let mut purged = (0, 0, 0);
    if let Some(before) = retention.events.and_then(cutoff) {
        purged.0 = in_batches(|| store.purge_events(before, BATCH)).await?;
    }
    if let Some(before) = retention.actions.and_then(cutoff) {
        purged.1 = in_batches(|| store.purge_actions(before, BATCH)).await?;
        purged.2 = in_batches(|| store.purge_jobs(before, BATCH)).await?;
    }
    Ok(purged)
}

/// Runs `purge` until a batch comes back short (or [`MAX_BATCHES`] ran); answers the total.
async fn in_batches<F: Future<Output = Result<u64, StoreError>>>(mut purge: impl FnMut() -> F) -> Result<u64, StoreError> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let done = purge().await?;
        total += done;
        if done < u64::from(BATCH) {
            break;
        }
    }
    Ok(total)
}
