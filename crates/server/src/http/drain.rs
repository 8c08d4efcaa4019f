//! The graceful drain behind `/readyz`: once a stop began the server is not ready (503) while the
//! requests in flight finish; the listener stays open meanwhile, so load balancers see the 503.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Whether a drain began, and how many requests are being handled (until their handler answered).
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Drain {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Marks the server as draining, then waits until no request is in flight, for `limit` at most.
    pub async fn drain(&self, limit: Duration) {
        self.draining.store(true, Ordering::SeqCst);
        let idle = async {
            loop {
                let notified = self.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(limit, idle).await.is_err() {
            tracing::warn!(in_flight = self.in_flight.load(Ordering::SeqCst), ?limit, "drain limit reached with requests in flight");
        }
    }
}

/// Counts the request as in flight until its handler answered.
struct InFlight(Arc<Drain>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The middleware counting requests in flight.
pub async fn layer(State(drain): State<Arc<Drain>>, request: Request, next: Next) -> Response {
    drain.in_flight.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight(drain);
    next.run(request).await
}
