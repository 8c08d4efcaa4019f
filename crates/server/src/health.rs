//! Host liveness: a host silent for longer than the grace period goes DOWN and its containers UNKNOWN.

use crate::events;
use crate::state::AppState;
use flotilla_core::event::{EventAction, EventLevel};

/// Runs until aborted, checking four times per grace period.
pub async fn watch_heartbeats(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.heartbeat_interval());
    loop {
        tick.tick().await;
        let grace = chrono::Duration::from_std(state.settings.grace_period).unwrap_or(chrono::Duration::seconds(10));
        match state.store.mark_silent_hosts_down(flotilla_core::now() - grace).await {
            Ok(hosts) => {
                for (host, changes) in hosts {
                    tracing::warn!(host = %host.name, "host is DOWN: no heartbeat within the grace period");
                    state.agents.wakers.wake(host.id);
                    let reason = format!("no heartbeat for {} s", state.settings.grace_period.as_secs_f64());
                    let event = events::host(&host, None, EventAction::HostDown, "DOWN").level(EventLevel::Warning).reason(reason);
                    events::record(&state, event.meta("containers_unknown", changes.len())).await;
                    events::observed(&state, &changes).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "checking heartbeats failed"),
        }
    }
}
