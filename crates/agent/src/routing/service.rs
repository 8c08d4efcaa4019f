//! Keeps the host's routing rules those of its latest assignments' routers: IP forwarding on
//! while a router is there, each missing rule added, each rule of a router or interface gone
//! deleted; again every resync (a rule someone removed comes back).

use super::iptables::{self, RoutingError};
use super::plan::{self, CHAINS};
use crate::follow::Follow;
use flotilla_api::agent::HostRouter;
use std::collections::BTreeSet;

/// Makes the host's rules those `routers` need.
async fn apply(routers: &[HostRouter]) -> Result<(), RoutingError> {
    let want = plan::wanted(routers);
    if !want.is_empty() {
        tokio::fs::write("/proc/sys/net/ipv4/ip_forward", "1").await.map_err(RoutingError::Forwarding)?;
    }
    let mut have = BTreeSet::new();
    for (table, chain) in CHAINS {
        have.extend(plan::ours(table, chain, &iptables::list(table, chain).await?));
    }
    let (add, delete) = plan::diff(&have, &want);
    for rule in &delete {
        iptables::delete(rule).await?;
    }
    for rule in &add {
        iptables::insert(rule).await?;
    }
    if !add.is_empty() || !delete.is_empty() {
        tracing::info!(added = add.len(), deleted = delete.len(), "routing rules updated");
    }
    Ok(())
}

/// Applies the routers of every new assignment set, and every resync, until the agent stops.
/// The rules stay when the agent stops: a restart does not cut routed traffic.
pub(crate) async fn route(mut follow: Follow) {
    while let Some(current) = follow.next().await {
        match apply(&current.routers).await {
            Err(error) if current.routers.is_empty() => tracing::debug!(%error, "routing rules not checked"),
            Err(error) => tracing::warn!(%error, "routing rules not applied"),
            Ok(()) => {}
        }
    }
}
