//! What a running action works with: the store, the engine's parts, its deadline and its
//! cancellation, and the waits every action shares (children, containers).

use crate::agents::Agents;
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::watch::{AfterWrite, ContainerWatch, Seen};
use flotilla_core::action::{Action, ActionStatus};
use flotilla_core::container::Container;
use flotilla_core::event::{Event, EventLevel, ObjectType};
use flotilla_core::{ActionId, ContainerId};
use flotilla_store::Store;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The shortest time between two looks at whether a waiting action's children all ended.
const CHILDREN_LOOK: Duration = Duration::from_millis(20);

/// The parts of the engine every action shares.
pub(crate) struct Shared {
    pub store: Store,
    pub config: EngineConfig,
    pub agents: Arc<dyn Agents>,
    pub watch: Arc<ContainerWatch>,
    pub placer: crate::placer::Placer,
    /// What the node actions of one cluster action make their containers from, read once.
    pub inputs: crate::inputs::SharedInputs,
    /// Running actions and their cancellation tokens.
    pub running: Mutex<BTreeMap<ActionId, CancellationToken>>,
    /// How many actions this engine runs, against `config.max_running`.
    pub slots: crate::handover::Slots,
    /// Where cluster actions hand the children they wrote already claimed to the dispatcher.
    pub handed: tokio::sync::mpsc::UnboundedSender<Vec<Action>>,
    /// Running actions a user cancelled (their token is cancelled too).
    pub cancelled: Mutex<HashSet<ActionId>>,
    /// Wakes the dispatcher: new READY actions.
    pub wake: Arc<tokio::sync::Notify>,
    /// Notifies every waiting parent when an action of this engine ended.
    pub ended: tokio::sync::Notify,
    pub metrics: Arc<crate::metrics::EngineMetrics>,
}

/// One running action.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub action: Action,
    pub deadline: Instant,
    pub token: CancellationToken,
}

impl Ctx {
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    fn stopped(&self) -> EngineError {
        if self.shared.cancelled.lock().expect("cancel lock").contains(&self.action.id) {
            EngineError::Cancelled
        } else {
            EngineError::Abandoned
        }
    }

    /// Sleeps `for_`, unless the action must stop first.
    pub async fn pause(&self, for_: Duration) -> Result<(), EngineError> {
        tokio::select! {
            _ = self.token.cancelled() => Err(self.stopped()),
            _ = tokio::time::sleep_until(self.deadline) => Err(EngineError::TimedOut(self.action.timeout)),
            _ = tokio::time::sleep(for_) => Ok(()),
        }
    }

    /// Waits until `decide` answers for container `id` (seen now, then at each change).
    /// `decide` sees `None` once the container is gone.
    pub async fn wait_container<T>(
        &self,
        id: ContainerId,
        decide: impl FnMut(Option<&Container>) -> Option<Result<T, String>>,
    ) -> Result<T, EngineError> {
        self.wait_container_after(id, None, decide).await
    }

    /// [`Ctx::wait_container`] beginning, when `written` is given, from this action's own write
    /// of the container (a subscription taken before it and the row it answered) instead of a read.
    pub async fn wait_container_after<T>(
        &self,
        id: ContainerId,
        mut written: Option<AfterWrite>,
        mut decide: impl FnMut(Option<&Container>) -> Option<Result<T, String>>,
    ) -> Result<T, EngineError> {
        loop {
            let (mut changes, now) = match written.take() {
                Some(after_write) => after_write,
                None => {
                    let changes = self.shared.watch.subscribe(id);
                    (changes, self.store().container_now(id).await?)
                }
            };
            if let Some(answer) = decide(now.as_ref()) {
                return answer.map_err(EngineError::Failed);
            }
            // Changes, deletions and the watch's rechecks (a missed poll) arrive through the watch.
            loop {
                tokio::select! {
                    _ = self.token.cancelled() => return Err(self.stopped()),
                    _ = tokio::time::sleep_until(self.deadline) => return Err(EngineError::TimedOut(self.action.timeout)),
                    changed = changes.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let seen = changes.borrow_and_update().clone();
                        let answer = match &seen {
                            Some(Seen::Changed(c)) => decide(Some(c)),
                            Some(Seen::Deleted) => decide(None),
                            None => None,
                        };
                        if let Some(answer) = answer {
                            return answer.map_err(EngineError::Failed);
                        }
                    }
                }
            }
        }
    }

    /// Waits until every child of this action ended; answers the failed ones' reasons. When
    /// this action must stop, its children are cancelled first.
    pub async fn wait_children(&self) -> Result<Vec<String>, EngineError> {
        let store = self.store();
        store.set_action_status(self.action.id, ActionStatus::Waiting, "waiting for node actions").await?;
        loop {
            // Listening before counting: a child ending in between still wakes this loop.
            let child_ended = self.shared.ended.notified();
            tokio::pin!(child_ended);
            child_ended.as_mut().enable();
            let looked = Instant::now();
            if !store.children_unfinished(self.action.id).await? {
                store.set_action_status(self.action.id, ActionStatus::Running, "").await?;
                let failed = store.unsuccessful_children(self.action.id).await?;
                return Ok(failed.iter().map(|c| format!("{}: {} {}", c.name, c.status, c.status_reason)).collect());
            }
            // Children run here (woken as each ends) or on other engines (seen by the recount).
            let waited = tokio::select! {
                () = child_ended => Ok(()),
                waited = self.pause(Duration::from_millis(300)) => waited,
            };
            // At most one look per CHILDREN_LOOK: thousands of children may end in a second.
            let waited = match (waited, CHILDREN_LOOK.checked_sub(looked.elapsed())) {
                (Ok(()), Some(rest)) => self.pause(rest).await,
                (waited, _) => waited,
            };
            if let Err(stop) = waited {
                if !matches!(stop, EngineError::Abandoned) {
                    self.cancel_children().await;
                }
                return Err(stop);
            }
        }
    }

    /// Cancels the unfinished children and waits a while for them to end, so that this
    /// action ends after them.
    async fn cancel_children(&self) {
        let store = self.store();
        for child in store.child_actions(self.action.id).await.unwrap_or_default().iter().filter(|c| !c.status.is_final()) {
            let _ = store.cancel_action(child.id).await;
        }
        let deadline = Instant::now() + self.shared.config.heartbeat * 5;
        while Instant::now() < deadline {
            match store.child_actions(self.action.id).await {
                Ok(now) if now.iter().all(|c| c.status.is_final()) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(e) => return tracing::warn!(error = %e, "cannot follow cancelled node actions"),
            }
        }
    }

    /// Records an event about this action's target.
    pub async fn event(&self, object_type: ObjectType, object_id: uuid::Uuid, name: &str, status: &str, reason: &str) {
        let level = if status == flotilla_core::event::FAILED { EventLevel::Error } else { EventLevel::Info };
        let event = Event::new(object_type, object_id, name, self.action.kind.into(), status)
            .level(level)
            .by(Some(self.action.project_id), Some(self.action.user_id))
            .reason(reason)
            .meta("action", self.action.id);
        self.record(&event).await;
    }

    /// Records `event`; a failed write is logged, never fails the action.
    pub async fn record(&self, event: &Event) {
        if let Err(e) = self.store().record_event(event).await {
            tracing::warn!(error = %e, "cannot record an event");
        }
    }
}
