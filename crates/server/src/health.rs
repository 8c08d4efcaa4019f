//! Host liveness: a host silent for longer than the grace period goes DOWN and its containers UNKNOWN.

use crate::state::AppState;

/// Runs until aborted, checking four times per grace period.
pub async fn watch_heartbeats(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.heartbeat_interval());
    loop {
        tick.tick().await;
        let grace = chrono::Duration::from_std(state.settings.grace_period).unwrap_or(chrono::Duration::seconds(10));
        match state.store.mark_silent_hosts_down(flotilla_core::now() - grace).await {
            Ok(hosts) => {
                for host in hosts {
                    tracing::warn!(host = %host.name, "host is DOWN: no heartbeat within the grace period");
                    state.agents.wakers.wake(host.id);
                }
            }
            Err(e) => tracing::warn!(error = %e, "checking heartbeats failed"),
        }
    }
}
