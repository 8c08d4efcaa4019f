//! The placer: node creates hand their containers here, and it places whatever has queued up in
//! one store transaction (one read of the region's hosts for up to a few hundred placements), so
//! a scale-out of thousands of nodes does not read every host once per node. Each container is
//! answered with a subscription to its changes, taken as soon as the transaction committed and
//! before any agent is told of it, so its wait needs no read of its own.

use crate::error::EngineError;
use crate::watch::{ContainerWatch, Subscription};
use flotilla_core::container::Container;
use flotilla_core::scheduler::Settings;
use flotilla_store::{NodePlacement, Store};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// The most placements written in one transaction: a batch's fixed part (the region's read, the
/// members' count, the revision bumps, the commit) is paid once per this many (500 before: the
/// scale-out's placer was busy end to end, its batches always full).
const BATCH: usize = 1000;

type Answer = oneshot::Sender<Result<(Subscription, Container), EngineError>>;

/// Where node creates send their placements.
#[derive(Clone)]
pub(crate) struct Placer {
    queue: mpsc::UnboundedSender<(NodePlacement, Answer)>,
}

impl Placer {
    /// Starts the placer's task; it ends with `stop`.
    pub(crate) fn start(
        store: Store,
        settings: Settings,
        watch: Arc<ContainerWatch>,
        stop: CancellationToken,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, received) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, settings, watch, received, stop));
        (Self { queue }, task)
    }

    /// Places and writes `placement`'s container, recording it on its node; answers it as written,
    /// with a subscription to its changes from then on.
    pub(crate) async fn place(&self, placement: NodePlacement) -> Result<(Subscription, Container), EngineError> {
        let (answer, answered) = oneshot::channel();
        self.queue.send((placement, answer)).map_err(|_| EngineError::Abandoned)?;
        answered.await.map_err(|_| EngineError::Abandoned)?
    }
}

async fn run(
    store: Store,
    settings: Settings,
    watch: Arc<ContainerWatch>,
    mut received: mpsc::UnboundedReceiver<(NodePlacement, Answer)>,
    stop: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => return,
            next = received.recv() => match next {
                Some(first) => first,
                None => return,
            },
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match received.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (placements, answers): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        match store.create_node_containers(placements, &settings).await {
            Ok(written) => {
                // Subscribed before answering: the node actions wake the agents, whose reports
                // are then handed to these subscriptions.
                let subscribed: Vec<_> =
                    written.into_iter().map(|result| result.map(|c| (watch.subscribe(c.id), c)).map_err(EngineError::from)).collect();
                for (answer, result) in answers.into_iter().zip(subscribed) {
                    let _ = answer.send(result);
                }
            }
            Err(e) => {
                let reason = format!("placing containers: {e}");
                for answer in answers {
                    let _ = answer.send(Err(EngineError::Failed(reason.clone())));
                }
            }
        }
    }
}
