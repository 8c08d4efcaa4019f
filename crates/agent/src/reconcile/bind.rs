//! Carries out the plans of the host's networks and volumes and of containers' live network
//! changes. Nothing here fails a pass: what could not be done is logged and tried again on the
//! next one.

use super::CONCURRENT_ACTIONS;
use super::attach::Attach;
use super::objects::ObjectPlan;
use crate::runtime::{ContainerRuntime, RuntimeError};
use futures::future::{self, BoxFuture};
use futures::{FutureExt, StreamExt};
use std::collections::HashMap;

/// Makes the missing networks and volumes; answers those that could not be made (by runtime
/// name), with why, so that the containers needing them fail with that reason.
pub async fn ensure(runtime: &dyn ContainerRuntime, plan: &ObjectPlan) -> HashMap<String, String> {
    let networks = plan.ensure_networks.iter().map(|s| ensure_one("network", &s.name, runtime.ensure_network(s)).boxed());
    let volumes = plan.ensure_volumes.iter().map(|s| ensure_one("volume", &s.name, runtime.ensure_volume(s)).boxed());
    let jobs: Vec<BoxFuture<'_, Option<(String, String)>>> = networks.chain(volumes).collect();
    futures::stream::iter(jobs).buffer_unordered(CONCURRENT_ACTIONS).filter_map(future::ready).collect().await
}

async fn ensure_one(what: &str, name: &str, ensure: BoxFuture<'_, Result<(), RuntimeError>>) -> Option<(String, String)> {
    match ensure.await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(%name, error = %e, "cannot make {what}");
            Some((name.to_owned(), format!("{what} {name}: {e}")))
        }
    }
}

/// Removes the networks and volumes nothing needs; one still in use is left for a later pass.
pub async fn prune(runtime: &dyn ContainerRuntime, plan: &ObjectPlan) {
    let networks = plan.remove_networks.iter().map(|name| remove_one("network", name, runtime.remove_network(name)).boxed());
    let volumes = plan.remove_volumes.iter().map(|name| remove_one("volume", name, runtime.remove_volume(name)).boxed());
    let jobs: Vec<BoxFuture<'_, ()>> = networks.chain(volumes).collect();
    futures::stream::iter(jobs).buffer_unordered(CONCURRENT_ACTIONS).collect::<()>().await;
}

async fn remove_one(what: &str, name: &str, removal: BoxFuture<'_, Result<(), RuntimeError>>) {
    match removal.await {
        Ok(()) => tracing::info!(%name, "{what} removed"),
        Err(RuntimeError::NotFound(_)) => {}
        Err(RuntimeError::InUse(reason)) => tracing::debug!(%name, %reason, "{what} still in use, left for a later pass"),
        Err(e) => tracing::warn!(%name, error = %e, "cannot remove {what}"),
    }
}

/// Connects and disconnects containers.
pub async fn attach(runtime: &dyn ContainerRuntime, changes: Vec<Attach>) {
    let jobs: Vec<BoxFuture<'_, ()>> = changes.into_iter().map(|change| attach_one(runtime, change).boxed()).collect();
    futures::stream::iter(jobs).buffer_unordered(CONCURRENT_ACTIONS).collect::<()>().await;
}

async fn attach_one(runtime: &dyn ContainerRuntime, change: Attach) {
    let result = match &change {
        Attach::Connect { runtime_id, endpoint, .. } => runtime.connect(runtime_id, endpoint).await,
        Attach::Disconnect { runtime_id, network, .. } => runtime.disconnect(runtime_id, network).await,
    };
    match result {
        Ok(()) => tracing::info!(?change, "network attachment changed"),
        Err(e) => tracing::warn!(?change, error = %e, "cannot change a network attachment"),
    }
}
