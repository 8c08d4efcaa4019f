//! A region's side of global networks on the overlay: it watches the central for the other
//! regions' endpoints on the global networks its hosts carry (a long poll, asked again at once when
//! that set changes), keeps them (`Store::apply_remote_endpoints`) with the global routers joining
//! those networks (`global_routers::keep`: its hosts then carry the routers' other networks, which
//! it watches in turn) and wakes the hosts whose entries changed. While the central cannot be reached the kept endpoints stay as they were.

use super::link::CentralLink;
use crate::error::ApiError;
use crate::state::AppState;
use flotilla_api::global_network::{Endpoint, EndpointWatch, RegionEndpoint, RemoteEndpoints, RemoteNetworkEndpoints};
use flotilla_core::NetworkId;
use flotilla_store::{GlobalEndpoint, NetworkEndpoints, RemoteEndpoint};
use reqwest::Method;
use std::time::Duration;

/// How long the central holds a watch that has nothing new (seconds; under the link's call timeout).
pub const WATCH_WAIT: u64 = 5;
/// How often the carried networks are read again, and the pause after a failed watch.
const RECHECK: Duration = Duration::from_secs(1);

/// An endpoint as the federation API carries it.
pub(crate) fn wire_endpoint(e: RemoteEndpoint) -> Endpoint {
    Endpoint { ip_address: e.ip, mac_address: e.mac, tunnel_address: e.tunnel_address, names: e.names }
}

/// An endpoint as the store keeps it.
pub(crate) fn store_endpoint(e: Endpoint) -> RemoteEndpoint {
    RemoteEndpoint { ip: e.ip_address, mac: e.mac_address, tunnel_address: e.tunnel_address, names: e.names }
}

/// A network's other-region endpoints as the federation API carries them.
pub(crate) fn wire_network(n: NetworkEndpoints) -> RemoteNetworkEndpoints {
    RemoteNetworkEndpoints {
        network_id: n.network_id.0,
        vni: n.vni,
        endpoints: n
            .endpoints
            .into_iter()
            .map(|e| RegionEndpoint { region_id: e.region_id, endpoint: wire_endpoint(e.endpoint) })
            .collect(),
    }
}

fn store_network(n: RemoteNetworkEndpoints) -> NetworkEndpoints {
    NetworkEndpoints {
        network_id: NetworkId(n.network_id),
        vni: n.vni,
        endpoints: n
            .endpoints
            .into_iter()
            .map(|e| GlobalEndpoint { region_id: e.region_id, endpoint: store_endpoint(e.endpoint) })
            .collect(),
    }
}

/// Keeps the central's `answer` (the global routers first: their networks are copied here) and
/// wakes the hosts whose entries or routers changed.
async fn apply(state: &AppState, answer: RemoteEndpoints) -> Result<(), ApiError> {
    let routed = super::global_routers::keep(state, &answer.routers).await?;
    if !routed.is_empty() {
        tracing::info!(routers = answer.routers.len(), hosts = routed.len(), "global routers changed");
    }
    let networks: Vec<NetworkEndpoints> = answer.networks.into_iter().map(store_network).collect();
    let woken = state.store.apply_remote_endpoints(&networks).await?;
    if !woken.is_empty() {
        tracing::info!(networks = networks.len(), hosts = woken.len(), "other regions' endpoints on global networks changed");
    }
    for host in routed.into_iter().chain(woken) {
        state.agents.wakers.wake(host);
    }
    Ok(())
}

/// Resolves once the global networks this region's hosts carry are no longer `asked`.
async fn carried_changes(state: &AppState, asked: &[NetworkId]) {
    loop {
        tokio::time::sleep(RECHECK).await;
        match state.store.carried_global_networks().await {
            Ok(now) if now != asked => return,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the global networks this region carries"),
        }
    }
}

/// Until aborted: watches the central for the other regions' endpoints on the global networks
/// this region carries, and keeps each new answer.
pub async fn follow(state: AppState, link: std::sync::Arc<CentralLink>) {
    let mut since: Option<String> = None;
    loop {
        let carried = match state.store.carried_global_networks().await {
            Ok(carried) => carried,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the global networks this region carries");
                tokio::time::sleep(RECHECK).await;
                continue;
            }
        };
        if carried.is_empty() {
            // Nothing carried: nothing to ask; what was kept goes.
            if since.take().is_some()
                && let Err(e) = apply(&state, RemoteEndpoints { digest: String::new(), networks: Vec::new(), routers: Vec::new() }).await
            {
                tracing::warn!(error = %e, "cannot drop the other regions' endpoints");
            }
            carried_changes(&state, &carried).await;
            continue;
        }
        let body = EndpointWatch { networks: carried.iter().map(|n| n.0).collect(), since: since.clone(), wait: Some(WATCH_WAIT) };
        tokio::select! {
            answer = link.call::<_, RemoteEndpoints>(Method::POST, "/v1/federation/endpoints/watch", Some(&body)) => match answer {
                Ok(answer) if since.as_deref() == Some(answer.digest.as_str()) => {}
                Ok(answer) => match (answer.digest.clone(), apply(&state, answer).await) {
                    (digest, Ok(())) => since = Some(digest),
                    (_, Err(e)) => {
                        tracing::warn!(error = %e, "cannot keep the other regions' endpoints and global routers");
                        tokio::time::sleep(RECHECK).await;
                    }
                },
                Err(e) => {
                    // Kept endpoints stay; the link logs an outage once.
                    tracing::debug!(error = %e, "watching the other regions' endpoints failed");
                    tokio::time::sleep(RECHECK).await;
                }
            },
            () = carried_changes(&state, &carried) => since = None,
        }
    }
}
