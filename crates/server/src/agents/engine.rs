//! What the engine asks of agents, done through this server's waiters and agent calls.

use crate::agents::calls::AgentCall;
use crate::state::AppState;
use flotilla_core::{ContainerId, HostId};
use flotilla_store::Scope;

/// The engine's [`flotilla_engine::Agents`], over the server's state.
pub struct ServerAgents {
    state: AppState,
}

impl ServerAgents {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl flotilla_engine::Agents for ServerAgents {
    fn wake(&self, host: HostId) {
        self.state.agents.wakers.wake(host);
    }

    async fn restart(&self, container: ContainerId) -> Result<(), String> {
        let row = self.state.store.container(Scope::All, &container.to_string()).await.map_err(|e| e.to_string())?;
        let call = AgentCall::to(&self.state, &row.container, row.host_name.as_deref()).await.map_err(|e| e.to_string())?;
        call.restart(None).await.map(|_| ()).map_err(|e| e.to_string())
    }
}
