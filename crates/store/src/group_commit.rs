//! Group commit: concurrent calls of one store that each write a transaction of one kind queue
//! their requests, and whichever caller holds the turn writes all that are waiting in one write
//! transaction, answering each (point reads are gathered the same way: `gathered_reads.rs`). Writers of such a kind are serialised anyway (the placement lock,
//! SQLite's one writer), or write so little each (agents' reports) that a transaction apiece costs
//! more than the writing, so callers that would have waited for each other's commits share one. A
//! request refused (quota, bad input) is answered with its error and the others go on; when the
//! transaction itself fails, each request is written again in a transaction of its own, so no
//! caller gets another's error.

use crate::StoreError;
use std::future::Future;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The most requests written in one transaction.
const BATCH: usize = 256;

/// A request that can be written together with others of its kind.
pub(crate) trait Batched: Sized + Send + Sync + 'static {
    type Answer: Send + 'static;
    /// What a request is, for the error of one whose batch was abandoned.
    const WHAT: &'static str;

    /// Writes `requests` in one write transaction (or reads them in one statement): each one's
    /// answer, or an error when nothing was committed (each request is then run alone).
    fn run_together(requests: &[Self]) -> impl Future<Output = Result<Vec<Result<Self::Answer, StoreError>>, StoreError>> + Send;
}

type Answer<R> = oneshot::Sender<Result<<R as Batched>::Answer, StoreError>>;

/// The requests of one kind waiting, and the turn to write them; shared by every handle of one store.
pub(crate) struct Queue<R: Batched> {
    waiting: Mutex<Vec<(R, Answer<R>)>>,
    turn: tokio::sync::Mutex<()>,
}

impl<R: Batched> Default for Queue<R> {
    fn default() -> Self {
        Self { waiting: Mutex::default(), turn: tokio::sync::Mutex::default() }
    }
}

impl<R: Batched> Queue<R> {
    /// Writes `request` together with the others waiting at the time, and answers it.
    pub(crate) async fn submit(&self, request: R) -> Result<R::Answer, StoreError> {
        let (answer, mut answered) = oneshot::channel();
        self.waiting.lock().expect("never poisoned").push((request, answer));
        loop {
            let turn = self.turn.lock().await;
            match answered.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(abandoned::<R>()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch: Vec<(R, Answer<R>)> = {
                let mut waiting = self.waiting.lock().expect("never poisoned");
                waiting.retain(|(_, answer)| !answer.is_closed());
                let n = waiting.len().min(BATCH);
                waiting.drain(..n).collect()
            };
            if batch.is_empty() {
                // Ours is in a batch whose caller went away; its task answers it.
                drop(turn);
                return answered.await.unwrap_or_else(|_| Err(abandoned::<R>()));
            }
            // A task of its own, so a caller that goes away mid-batch leaves the others answered.
            let _ = tokio::spawn(write_batch(batch)).await;
        }
    }
}

/// What `run_together` answers when some of `answers` are refusals, its transaction not
/// committed: a lone request's answer as it is; among others, the first refusal as the batch's
/// error, so each request is written again in a transaction of its own.
pub(crate) fn refused<T: std::fmt::Debug>(mut answers: Vec<Result<T, StoreError>>) -> Result<Vec<Result<T, StoreError>>, StoreError> {
    match answers.iter().position(Result::is_err) {
        Some(at) if answers.len() > 1 => Err(answers.swap_remove(at).expect_err("just found")),
        _ => Ok(answers),
    }
}

/// Writes `request` in a transaction of its own.
pub(crate) async fn alone<R: Batched>(request: &R) -> Result<R::Answer, StoreError> {
    R::run_together(std::slice::from_ref(request)).await.and_then(|mut written| written.remove(0))
}

/// The error of a request whose batch's task ended without answering it (it panicked).
fn abandoned<R: Batched>() -> StoreError {
    StoreError::Conflict(format!("the {} was abandoned: try again", R::WHAT))
}

/// Writes `batch` in one transaction and answers each request; when that transaction fails,
/// writes each in one of its own.
async fn write_batch<R: Batched>(batch: Vec<(R, Answer<R>)>) {
    let (requests, answers): (Vec<R>, Vec<Answer<R>>) = batch.into_iter().unzip();
    let together = match requests.as_slice() {
        [] => return,
        [_] => None,
        several => R::run_together(several).await.ok(),
    };
    match together {
        Some(written) => {
            for (answer, result) in answers.into_iter().zip(written) {
                let _ = answer.send(result);
            }
        }
        None => {
            for (request, answer) in requests.iter().zip(answers) {
                let _ = answer.send(alone(request).await);
            }
        }
    }
}
