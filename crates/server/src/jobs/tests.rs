use super::*;
use std::sync::Mutex;

#[test]
fn backoff_doubles_to_its_cap_with_jitter_then_gives_up_unless_the_far_side_is_unreachable() {
    let b = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(300), max_attempts: 30 };
    assert_eq!(b.delay(1, 0.0), Duration::from_secs(1));
    assert_eq!(b.delay(2, 0.0), Duration::from_secs(2));
    assert_eq!(b.delay(5, 0.0), Duration::from_secs(16));
    assert_eq!(b.delay(12, 0.0), Duration::from_secs(300), "capped");
    assert_eq!(b.delay(1, 1.0), Duration::from_millis(1200));
    assert_eq!(b.delay(1, -1.0), Duration::from_millis(800));
    assert_eq!(b.delay(29, 5.0), Duration::from_secs(360), "jitter is at most 20 %");
    let refused = JobError::Link(LinkError::Refused { status: 400, message: "no".into() });
    let unreachable = JobError::Link(LinkError::Unreachable { url: "http://c".into(), reason: "refused".into() });
    assert_eq!(b.after(29, &refused, 0.0), Some(Duration::from_secs(300)));
    assert_eq!(b.after(30, &refused, 0.0), None, "out of attempts");
    assert_eq!(b.after(30, &JobError::Timeout(Duration::ZERO), 0.0), None);
    assert_eq!(b.after(500, &unreachable, 0.0), Some(Duration::from_secs(300)), "an outage never exhausts a job");
    assert_eq!(b.after(500, &JobError::Link(LinkError::NotRegistered), 0.0), Some(Duration::from_secs(300)));
}

/// A handler that records the batches it got and fails while `failing`.
struct Recorder {
    batches: Mutex<Vec<usize>>,
    failing: bool,
}

#[async_trait::async_trait]
impl Handler for Recorder {
    fn job_type(&self) -> &'static str {
        "test"
    }

    async fn run(&self, jobs: &[Job]) -> Result<(), JobError> {
        self.batches.lock().unwrap().push(jobs.len());
        if self.failing { Err(JobError::Timeout(Duration::ZERO)) } else { Ok(()) }
    }
}

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("jobs.db").display())).await.unwrap();
    (store, dir)
}

fn settings() -> RunnerSettings {
    RunnerSettings {
        poll: Duration::from_secs(3600),
        backoff: Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20), max_attempts: 3 },
        ..RunnerSettings::default()
    }
}

async fn statuses(store: &Store) -> Vec<(flotilla_store::JobStatus, u32)> {
    let jobs = store.list_jobs(Default::default(), &Default::default()).await.unwrap().items;
    jobs.iter().map(|j| (j.status, j.attempts)).collect()
}

/// Waits up to 5 s for `done`.
async fn eventually(store: &Store, done: impl Fn(&[(flotilla_store::JobStatus, u32)]) -> bool) -> Vec<(flotilla_store::JobStatus, u32)> {
    for _ in 0..500 {
        let now = statuses(store).await;
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    statuses(store).await
}

#[tokio::test]
async fn queued_jobs_wake_the_runner_and_run_together() {
    let (store, _dir) = store().await;
    let recorder = Arc::new(Recorder { batches: Mutex::default(), failing: false });
    // The poll is an hour: only the wake-up can start these jobs.
    let runner = tokio::spawn(run_forever(store.clone(), vec![recorder.clone()], settings()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..3 {
        store.enqueue_job("test", uuid::Uuid::now_v7(), None).await.unwrap();
    }
    store.enqueue_job("other", uuid::Uuid::now_v7(), None).await.unwrap();
    let done = eventually(&store, |s| s.iter().filter(|(status, _)| *status == flotilla_store::JobStatus::Success).count() == 3).await;
    runner.abort();
    assert_eq!(done.iter().filter(|(status, attempts)| *status == flotilla_store::JobStatus::Success && *attempts == 1).count(), 3);
    assert!(done.contains(&(flotilla_store::JobStatus::New, 0)), "a type without a handler is left alone: {done:?}");
    assert_eq!(recorder.batches.lock().unwrap().iter().sum::<usize>(), 3, "each job ran once");
}

#[tokio::test]
async fn failing_jobs_back_off_until_they_fail() {
    let (store, _dir) = store().await;
    let recorder = Arc::new(Recorder { batches: Mutex::default(), failing: true });
    let settings = RunnerSettings { poll: Duration::from_millis(10), ..settings() };
    store.enqueue_job("test", uuid::Uuid::now_v7(), None).await.unwrap();
    let runner = tokio::spawn(run_forever(store.clone(), vec![recorder.clone()], settings));
    let done = eventually(&store, |s| s.first().is_some_and(|(status, _)| *status == flotilla_store::JobStatus::Fail)).await;
    runner.abort();
    assert_eq!(done, vec![(flotilla_store::JobStatus::Fail, 3)], "three attempts, then FAIL");
    assert_eq!(recorder.batches.lock().unwrap().len(), 3);
    let job = store.list_jobs(Default::default(), &Default::default()).await.unwrap().items.remove(0);
    assert_eq!(job.last_error.as_deref(), Some("took longer than 0ns"));
}
