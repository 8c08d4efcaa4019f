//! The job runner: claims due jobs of the types this server has handlers for, runs them in
//! batches per type with bounded concurrency, and records each outcome (SUCCESS, or NEW again
//! after a backoff with jitter, or FAIL once out of attempts; an unreachable central never runs a
//! job out of attempts). Woken when a job is queued here,
//! polling otherwise (jobs queued by another server of the region, backoffs ending).

pub(crate) mod endpoint_sync;
pub(crate) mod remote_member;
pub(crate) mod route_sync;

use crate::federation::Federation;
use crate::federation::link::LinkError;
use flotilla_store::{Job, Store, StoreError};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Why a batch of jobs failed (each job of it is retried).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("took longer than {0:?}")]
    Timeout(Duration),
    /// The central has not listed the region (yet): this region learns it within seconds.
    #[error("region {0} is not known to this region yet")]
    UnknownRegion(String),
    /// The far side answered, but the work is not finished: it runs again after the backoff.
    #[error("not settled yet: {0}")]
    Unsettled(String),
}

impl JobError {
    /// Whether the far side could not be reached at all (down, cut off, or this region not yet
    /// registered): such a failure is retried however long it lasts, so that work converges after
    /// any outage; other failures count towards FAIL.
    pub fn is_transient(&self) -> bool {
        match self {
            JobError::Link(e) => e.is_unreachable() || matches!(e, LinkError::NotRegistered),
            JobError::UnknownRegion(_) | JobError::Unsettled(_) => true,
            JobError::Store(_) | JobError::Timeout(_) => false,
        }
    }
}

/// What runs the jobs of one type.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    fn job_type(&self) -> &'static str;
    /// The most jobs handed to one [`run`](Self::run) (below the runner's batch); `None`: no
    /// limit of its own. Jobs whose failures must not hold up the others run one by one.
    fn batch_limit(&self) -> Option<usize> {
        None
    }
    /// Runs `jobs`, all of this handler's type, together: they succeed or fail as one.
    async fn run(&self, jobs: &[Job]) -> Result<(), JobError>;
}

/// How long a failed job waits: 1 s doubling up to 5 min, ±20 %.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Runs after which a job failing otherwise than transiently ends in FAIL.
    pub max_attempts: u32,
}

impl Backoff {
    /// The wait after the `attempts`-th run failed, `jitter` in [-1, 1] scaling ±20 %.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let doubled = self.base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        doubled.min(self.cap).mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0))
    }

    /// The wait before the next try after `error` on the `attempts`-th run, or `None` when the job
    /// is out of attempts (a transient error never runs out).
    pub fn after(&self, attempts: u32, error: &JobError, jitter: f64) -> Option<Duration> {
        (error.is_transient() || attempts < self.max_attempts).then(|| self.delay(attempts, jitter))
    }
}

/// The runner's knobs.
#[derive(Debug, Clone, Copy)]
pub struct RunnerSettings {
    /// Jobs handed to one handler call.
    pub batch: usize,
    /// Handler calls at once.
    pub concurrency: usize,
    /// A RUNNING job claimed longer ago is taken over (its runner presumed dead); a handler call
    /// is cut off at half of it.
    pub expiry: Duration,
    /// How often the queue is looked at when nothing wakes the runner.
    pub poll: Duration,
    pub backoff: Backoff,
}

impl Default for RunnerSettings {
    /// Batches of 100, 4 at once, 1 min expiry (a job left RUNNING by a stopped server waits no
    /// longer), 1 s poll; 1 s to 5 min backoff over 30 attempts.
    fn default() -> Self {
        RunnerSettings {
            batch: 100,
            concurrency: 4,
            expiry: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            backoff: Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(300), max_attempts: 30 },
        }
    }
}

/// A pause after a wake-up, so that the write that queued the job has committed and what is
/// queued together runs together.
const SETTLE: Duration = Duration::from_millis(50);

/// The handlers this server's role runs: a federated region reports its routes and its endpoints
/// on global networks, and makes its clusters' members in other regions; others have none.
pub(crate) fn handlers(store: &Store, federation: &Federation) -> Vec<Arc<dyn Handler>> {
    match federation {
        Federation::Region(link) => vec![
            Arc::new(route_sync::RouteSync::new(store.clone(), link.clone())),
            Arc::new(remote_member::RemoteMemberJob::new(store.clone(), link.clone())),
            Arc::new(endpoint_sync::EndpointSync::new(store.clone(), link.clone())),
        ],
        Federation::Standalone | Federation::Central(_) => Vec::new(),
    }
}

/// Runs jobs until aborted.
pub(crate) async fn run_forever(store: Store, handlers: Vec<Arc<dyn Handler>>, settings: RunnerSettings) {
    let runner = uuid::Uuid::now_v7();
    let waker = store.jobs_waker();
    let by_type: BTreeMap<&'static str, Arc<dyn Handler>> = handlers.into_iter().map(|h| (h.job_type(), h)).collect();
    let types: Vec<&str> = by_type.keys().copied().collect();
    loop {
        match store.claim_jobs(runner, &types, settings.batch * settings.concurrency, settings.expiry).await {
            Ok(jobs) if !jobs.is_empty() => {
                run_claimed(&store, &by_type, jobs, settings).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "claiming jobs failed"),
        }
        tokio::select! {
            () = waker.notified() => tokio::time::sleep(SETTLE).await,
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

/// Runs `jobs` in batches of one type, `settings.concurrency` at once, and records each outcome.
async fn run_claimed(store: &Store, by_type: &BTreeMap<&'static str, Arc<dyn Handler>>, jobs: Vec<Job>, settings: RunnerSettings) {
    let mut grouped: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        grouped.entry(job.job_type.clone()).or_default().push(job);
    }
    let mut batches = Vec::new();
    for (job_type, jobs) in grouped {
        // Only types with a handler are claimed.
        let Some(handler) = by_type.get(job_type.as_str()) else { continue };
        let size = handler.batch_limit().map_or(settings.batch, |limit| limit.min(settings.batch)).max(1);
        batches.extend(jobs.chunks(size).map(|chunk| (handler.clone(), chunk.to_vec())));
    }
    futures::stream::iter(batches)
        .for_each_concurrent(settings.concurrency.max(1), |(handler, batch)| async move {
            let limit = settings.expiry / 2;
            let outcome = match tokio::time::timeout(limit, handler.run(&batch)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(JobError::Timeout(limit)),
            };
            for job in &batch {
                if let Err(e) = record(store, job, &outcome, settings.backoff).await {
                    tracing::warn!(job = %job.id, error = %e, "recording a job's outcome failed");
                }
            }
        })
        .await;
}

async fn record(store: &Store, job: &Job, outcome: &Result<(), JobError>, backoff: Backoff) -> Result<(), StoreError> {
    let held = match outcome {
        Ok(()) => store.complete_job(job).await?,
        Err(error) => {
            let retry = backoff.after(job.attempts, error, rand::random_range(-1.0..=1.0));
            match retry {
                Some(after) => tracing::debug!(job = %job.id, job_type = %job.job_type, %error, ?after, "job failed; retried later"),
                None => tracing::warn!(job = %job.id, job_type = %job.job_type, %error, attempts = job.attempts, "job failed for good"),
            }
            store.fail_job(job, &error.to_string(), retry).await?
        }
    };
    if !held {
        tracing::info!(job = %job.id, "job was taken over before it ended; its outcome is not recorded");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
