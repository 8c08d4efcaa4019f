//! Agents' heartbeats, gathered in memory and written together: one transaction per batch, not
//! one per host, so a thousand idle hosts cost a few commits a second.

use crate::events;
use crate::state::AppState;
use flotilla_core::HostId;
use flotilla_core::event::EventAction;
use flotilla_store::HostHeartbeat;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a batch gathers after its first heartbeat: far below any grace period.
const GATHER: Duration = Duration::from_millis(100);

/// Heartbeats received and not yet written, the latest per host.
#[derive(Debug, Default)]
pub struct HeartbeatQueue {
    pending: Mutex<HashMap<HostId, HostHeartbeat>>,
    arrived: Notify,
}

impl HeartbeatQueue {
    pub fn push(&self, beat: HostHeartbeat) {
        self.pending.lock().expect("heartbeat queue lock").insert(beat.host, beat);
        self.arrived.notify_one();
    }

    fn take(&self) -> Vec<HostHeartbeat> {
        self.pending.lock().expect("heartbeat queue lock").drain().map(|(_, beat)| beat).collect()
    }
}

/// Writes queued heartbeats until aborted; a host that was DOWN is announced back UP and its
/// agent woken. A batch that fails to write is dropped: each agent heartbeats again soon.
pub async fn write_forever(state: AppState) {
    loop {
        state.agents.heartbeats.arrived.notified().await;
        tokio::time::sleep(GATHER).await;
        let beats = state.agents.heartbeats.take();
        if beats.is_empty() {
            continue;
        }
        let back = match state.store.record_heartbeats(&beats).await {
            Ok(back) => back,
            Err(e) => {
                tracing::warn!(error = %e, hosts = beats.len(), "writing heartbeats failed");
                continue;
            }
        };
        for id in back {
            state.agents.wakers.wake(id);
            match state.store.host(&id.to_string()).await {
                Ok(host) => {
                    tracing::info!(host = %host.name, "host is back UP");
                    events::record(&state, events::host(&host, None, EventAction::HostUp, "UP").reason("heartbeats again")).await;
                }
                Err(e) => tracing::warn!(error = %e, host = %id, "a host back UP cannot be read"),
            }
        }
    }
}
