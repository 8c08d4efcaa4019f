//! `/v1/federation/endpoints` at the central: each region reports its endpoints on global networks
//! (a report replaces the region's last for each network named), and watches the other regions'
//! on the global networks it carries, with the global routers joining them (answered when they
//! differ from the answer it holds).

use crate::error::ApiError;
use crate::federation::caller::RegionCaller;
use crate::federation::remote_endpoints::{WATCH_WAIT, store_endpoint, wire_network};
use crate::http::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use flotilla_api::ErrorBody;
use flotilla_api::global_network::{
    EndpointReport, EndpointReportAnswer, EndpointWatch, FIXED_IP_SETTLE_SECS, GlobalRouter, RemoteEndpoints, RemoteNetworkEndpoints,
};
use flotilla_core::{NetworkId, ValidationError};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::time::Instant;

/// The longest a watch is held (under a region's call timeout).
const MAX_WAIT: u64 = 8;
/// How often a held watch reads again, to see reports another server of the central took.
const RECHECK: Duration = Duration::from_secs(1);

/// The calling region's endpoints on the global networks named, each network's whole set; the
/// fixed addresses it recorded there and no longer uses are freed.
#[utoipa::path(post, path = "/v1/federation/endpoints", tag = "federation", security(("region_credential" = [])),
    request_body = EndpointReport,
    responses((status = 200, body = EndpointReportAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn report(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<EndpointReport>,
) -> Result<Json<EndpointReportAnswer>, ApiError> {
    let settled = flotilla_core::now() - chrono::Duration::seconds(FIXED_IP_SETTLE_SECS as i64);
    let mut unsettled_fixed_ips = 0;
    for network in &body.networks {
        let in_use = network
            .addresses
            .iter()
            .enumerate()
            .map(|(i, a)| a.parse().map_err(|_| ValidationError::new(format!("networks.addresses[{i}]"), a, "must be an IPv4 address")))
            .collect::<Result<BTreeSet<Ipv4Addr>, _>>()?;
        unsettled_fixed_ips += state.store.release_unused_global_ips(NetworkId(network.network_id), caller.id, &in_use, settled).await?;
    }
    let reports: BTreeMap<NetworkId, _> =
        body.networks.into_iter().map(|n| (NetworkId(n.network_id), n.endpoints.into_iter().map(store_endpoint).collect())).collect();
    let changed = state.store.record_region_endpoints(caller.id, &reports).await?;
    if !changed.is_empty() {
        tracing::info!(region = %caller.name, networks = changed.len(), "a region's endpoints on global networks changed");
        state.endpoints.notify_waiters();
    }
    Ok(Json(EndpointReportAnswer { unsettled_fixed_ips }))
}

/// Names an answer: the SHA-256 of its JSON.
fn digest(networks: &[RemoteNetworkEndpoints], routers: &[GlobalRouter]) -> String {
    let json = serde_json::to_vec(&(networks, routers)).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The other regions' endpoints (and each network's VNI) on the global networks named, once they
/// differ from the answer `since` names, or when `wait` seconds (at most 8) have passed.
#[utoipa::path(post, path = "/v1/federation/endpoints/watch", tag = "federation", security(("region_credential" = [])),
    request_body = EndpointWatch,
    responses((status = 200, body = RemoteEndpoints), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not a central")))]
pub async fn watch(
    State(state): State<AppState>,
    caller: RegionCaller,
    ApiJson(body): ApiJson<EndpointWatch>,
) -> Result<Json<RemoteEndpoints>, ApiError> {
    let networks: Vec<NetworkId> = body.networks.iter().map(|n| NetworkId(*n)).collect();
    let deadline = Instant::now() + Duration::from_secs(body.wait.unwrap_or(WATCH_WAIT).min(MAX_WAIT));
    loop {
        let notified = state.endpoints.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let answer: Vec<RemoteNetworkEndpoints> =
            state.store.endpoints_for_region(caller.id, &networks).await?.into_iter().map(wire_network).collect();
        let routers = super::global_routers::joining(&state, &networks).await?;
        let digest = digest(&answer, &routers);
        if body.since.as_deref() != Some(digest.as_str()) || Instant::now() >= deadline {
            return Ok(Json(RemoteEndpoints { digest, networks: answer, routers }));
        }
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep_until(deadline.min(Instant::now() + RECHECK)) => {}
            () = state.shutdown.cancelled() => return Ok(Json(RemoteEndpoints { digest, networks: answer, routers })),
        }
    }
}
