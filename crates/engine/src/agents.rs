//! What the engine needs from the server's side of the agent protocol, passed in by the server.

use flotilla_core::{ContainerId, HostId};

/// Wakes agents and calls them; the server implements it over its waiters and `AgentCall`.
#[async_trait::async_trait]
pub trait Agents: Send + Sync {
    /// Wakes `host`'s agent: its desired set changed.
    fn wake(&self, host: HostId);
    /// Restarts `container` where it is; the text says why not.
    async fn restart(&self, container: ContainerId) -> Result<(), String>;
}
