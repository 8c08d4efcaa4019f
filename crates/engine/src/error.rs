//! Engine errors: why an action did not succeed.

use flotilla_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The work failed; the text says why, for the action's `status_reason`.
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
    #[error("timed out after {0} s")]
    TimedOut(u32),
    /// This engine stopped or was declared dead: the action is left for another engine.
    #[error("abandoned by a stopping engine")]
    Abandoned,
}

impl EngineError {
    pub(crate) fn failed(reason: impl Into<String>) -> Self {
        Self::Failed(reason.into())
    }
}
