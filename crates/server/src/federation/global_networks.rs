//! A region's side of global networks: a create forwarded to the central, the local copy made on
//! first use (same id, fetched from the central: Tricircle's lazy pull), another address block
//! asked for when the held ones are full (one ask per network at a time), and fixed addresses
//! outside the held blocks checked at the central. Dynamic addresses never wait on the central
//! while a held block has room.

use super::Federation;
use super::link::{CentralLink, LinkError};
use crate::error::ApiError;
use crate::identity::principal::Principal;
use crate::state::AppState;
use flotilla_api::global_network::{AddressBlock as WireBlock, GlobalFixedIp, GlobalNetworkCreate};
use flotilla_api::{Network as WireNetwork, NetworkCreate, SubnetCreate};
use flotilla_core::ipam::Cidr;
use flotilla_core::network::Network;
use flotilla_core::{Name, NetworkId};
use flotilla_store::{AddressBlock, NetworkRow, Scope, StoreError};
use reqwest::Method;
use std::collections::HashMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many blocks one request may see come before giving up (requests that never found the
/// blocks full keep taking addresses meanwhile).
const MAX_BLOCK_ASKS: usize = 8;

/// How long a failed ask for a block answers the requests queued behind it, so a burst does not
/// wait on an unreachable central once per request.
const FAILED_ASK_HOLDS: Duration = Duration::from_secs(2);

/// A region keeps at least a block's worth of a global network's addresses free in its held
/// blocks, asking for the next block in the background below it: creates seldom wait on the
/// central, and a partition starts with room.
const LOW_WATER: usize = 64;

/// The last ask for a block of one network that the central did not answer: when, and the error.
type FailedAsk = Option<(Instant, String)>;

/// One network's asks for blocks: one at a time, so a burst of requests that find the held blocks
/// full costs one block, not one each.
#[derive(Debug, Default)]
struct Gate {
    /// Blocks received so far: a request that found the blocks full and sees this move tries again
    /// without asking.
    received: AtomicU64,
    ask: tokio::sync::Mutex<FailedAsk>,
}

impl Gate {
    /// Asks the central for the next block (the caller holds `failed`, the ask lock), unless the
    /// last ask failed just now; records the outcome.
    async fn ask(&self, failed: &mut FailedAsk, state: &AppState, network: NetworkId, name: &str) -> Result<(), ApiError> {
        if let Some((at, error)) = failed.as_ref()
            && at.elapsed() < FAILED_ASK_HOLDS
        {
            return Err(ApiError::Unavailable(error.clone()));
        }
        match fetch_block(state, network, name).await {
            Ok(()) => {
                *failed = None;
                self.received.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(e @ ApiError::Unavailable(_)) => {
                *failed = Some((Instant::now(), e.to_string()));
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

/// The gates of a region's global networks.
#[derive(Debug, Default)]
pub struct BlockGates {
    gates: Mutex<HashMap<NetworkId, Arc<Gate>>>,
}

impl BlockGates {
    fn gate(&self, network: NetworkId) -> Arc<Gate> {
        self.gates.lock().unwrap_or_else(|e| e.into_inner()).entry(network).or_default().clone()
    }
}

/// The central's answer as the API's: unreachable is a 503 saying what needed it, a refusal keeps
/// the central's status and message.
pub(crate) fn central_error(link: &CentralLink, error: LinkError, needed: &str) -> ApiError {
    match error {
        LinkError::Unreachable { reason, .. } => {
            ApiError::Unavailable(format!("{needed}, and the central {} cannot be reached: {reason}", link.url()))
        }
        LinkError::NotRegistered => {
            ApiError::Unavailable(format!("{needed}, and this region is not registered with the central {} yet", link.url()))
        }
        LinkError::Refused { status: 400, message } => ApiError::BadRequest(message),
        LinkError::Refused { status: 403, message } => ApiError::Forbidden(message),
        LinkError::Refused { status: 404, message } => ApiError::NotFound(message),
        LinkError::Refused { status: 409, message } => ApiError::Conflict(message),
        LinkError::Refused { status, message } => ApiError::Unavailable(format!("{needed}: the central answered {status}: {message}")),
        LinkError::Decode(e) | LinkError::Client(e) => ApiError::Internal(format!("{needed}: {e}")),
    }
}

fn region_link(state: &AppState) -> Option<&CentralLink> {
    match &state.federation {
        Federation::Region(link) => Some(link),
        _ => None,
    }
}

/// Makes the local copy of global network `wire` (as the central answered it): same id, name,
/// project, subnet and VNI. A copy made meanwhile by another request is fine.
pub(crate) async fn copy_locally(state: &AppState, wire: &WireNetwork) -> Result<NetworkRow, ApiError> {
    let network = Network {
        id: NetworkId(wire.id),
        name: Name::parse("name", &wire.name)?,
        project_id: flotilla_core::ProjectId(wire.project_id),
        shared: wire.shared,
        is_default: false,
        global: true,
        metadata: wire.metadata.clone(),
        created_at: wire.created_at,
        updated_at: wire.updated_at,
    };
    let subnet = match wire.subnets.first() {
        Some(s) => {
            let create = SubnetCreate {
                name: Some(s.name.clone()),
                cidr: s.cidr.clone(),
                gateway: Some(s.gateway.clone()),
                allocation_pools: s.allocation_pools.clone(),
                reserved: s.reserved.clone(),
            };
            let mut subnet = crate::routes::subnet_of(&network, &create, "subnet.")?;
            subnet.id = flotilla_core::SubnetId(s.id);
            subnet.created_at = s.created_at;
            Some(subnet)
        }
        None => None,
    };
    let vni = wire.vni.ok_or_else(|| ApiError::Internal(format!("the central sent global network {} without its VNI", wire.name)))?;
    match state.store.copy_global_network(&network, subnet.as_ref(), vni).await {
        Ok(row) => {
            tracing::info!(network = %network.name, id = %network.id, "local copy of a global network made");
            Ok(row)
        }
        Err(e @ StoreError::NameTaken { .. }) => match state.store.network(Scope::All, &network.id.to_string()).await {
            Ok(row) => Ok(row),
            Err(_) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// At a region, a global network create goes to the central through `link` (synchronously: the
/// network must exist there first); its answer becomes the local copy.
pub async fn forward_create(
    state: &AppState,
    link: &CentralLink,
    caller: &Principal,
    body: &NetworkCreate,
) -> Result<NetworkRow, ApiError> {
    let forwarded = GlobalNetworkCreate { project_id: caller.project_id.0, network: body.clone() };
    let wire: WireNetwork = link
        .call(Method::POST, "/v1/federation/networks", Some(&forwarded))
        .await
        .map_err(|e| central_error(link, e, "a global network is created at the central"))?;
    copy_locally(state, &wire).await
}

/// At a region, makes sure the network `key` names for `caller` exists here: a global network not
/// yet used here is fetched from the central and copied. A key the central does not know either
/// is left for the caller's own lookup to refuse.
pub async fn ensure_local(state: &AppState, caller: &Principal, key: &str) -> Result<(), ApiError> {
    let Some(link) = region_link(state) else { return Ok(()) };
    match state.store.network(Scope::Project(caller.project_id), key).await {
        Err(StoreError::NotFound { .. }) => {}
        other => return other.map(drop).map_err(Into::into),
    }
    let path = format!("/v1/federation/networks/{}?project={}", urlencoding(key), caller.project_id);
    match link.call::<(), WireNetwork>(Method::GET, &path, None).await {
        // The copy belongs to the network's project, whose row a region holds once one of its
        // users called it: a shared global network of a project never seen here cannot be copied.
        Ok(wire) if wire.project_id != caller.project_id.0 && state.store.project(&wire.project_id.to_string()).await.is_err() => {
            Err(ApiError::Conflict(format!(
                "global network {} is shared by another project, unknown in this region until one of its users calls it: it cannot be copied here yet",
                wire.name
            )))
        }
        Ok(wire) => copy_locally(state, &wire).await.map(drop),
        Err(LinkError::Refused { status: 404, .. }) => Ok(()),
        Err(e) => Err(central_error(
            link,
            e,
            &format!("network {key} is not known in this region yet (a global network is fetched from the central)"),
        )),
    }
}

/// Percent-encodes a path segment (names are plain, but a key is the user's).
fn urlencoding(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `attempt` (a store write that allocates addresses); when this region's blocks of a global
/// network are full, gets another from the central and runs it again. One ask per network at a
/// time: requests queued behind it try again as soon as a block came, without asking. Dynamic
/// addresses keep coming from the held blocks while the central is unreachable; when they are
/// full, a 503 naming the central.
pub async fn with_blocks<T, F, Fut>(state: &AppState, mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let (network, name) = match attempt().await {
        Err(StoreError::BlocksExhausted { network, name }) => (network, name),
        other => return other.map_err(Into::into),
    };
    let gate = state.blocks.gate(network);
    // Read after the refusal: a block that came in between is at worst asked for once too often.
    let mut seen = gate.received.load(Ordering::SeqCst);
    for _ in 0..MAX_BLOCK_ASKS {
        {
            let mut failed = gate.ask.lock().await;
            if gate.received.load(Ordering::SeqCst) == seen {
                gate.ask(&mut failed, state, network, &name).await?;
            }
        }
        seen = gate.received.load(Ordering::SeqCst);
        match attempt().await {
            Err(StoreError::BlocksExhausted { .. }) => {}
            other => return other.map_err(Into::into),
        }
    }
    Err(ApiError::Unavailable(format!(
        "the address blocks of global network {name} were used up faster than the central handed them out: try again"
    )))
}

/// After an address of `network` was handed out here: when fewer than [`LOW_WATER`] of the held
/// blocks' addresses are left, asks the central for the next block in the background (not while
/// another ask is under way or one just failed; not before the region holds a first block, which
/// only a dynamic address brings). Nothing at the central or standalone.
pub fn top_up(state: &AppState, network: NetworkId, name: &str) {
    if region_link(state).is_none() {
        return;
    }
    let (state, name) = (state.clone(), name.to_owned());
    tokio::spawn(async move {
        let gate = state.blocks.gate(network);
        let Ok(mut failed) = gate.ask.try_lock() else { return };
        if failed.as_ref().is_some_and(|(at, _)| at.elapsed() < FAILED_ASK_HOLDS) {
            return;
        }
        match state.store.held_free(network).await {
            Ok(Some(free)) if free < LOW_WATER => {}
            Ok(_) => return,
            Err(e) => return tracing::warn!(network = %name, error = %e, "cannot count the held addresses"),
        }
        if let Err(e) = gate.ask(&mut failed, &state, network, &name).await {
            tracing::warn!(network = %name, error = %e, "no address block ahead of need");
        }
    });
}

/// Asks the central for another block of `network` and keeps it.
async fn fetch_block(state: &AppState, network: NetworkId, name: &str) -> Result<(), ApiError> {
    let Some(link) = region_link(state) else {
        return Err(ApiError::Conflict(format!("global network {name} takes its addresses in a region, not here")));
    };
    let needed = format!("the address blocks this region holds of global network {name} are all taken");
    let wire: WireBlock = link
        .call(Method::POST, &format!("/v1/federation/networks/{network}/blocks"), None::<&()>)
        .await
        .map_err(|e| central_error(link, e, &needed))?;
    let block = AddressBlock {
        network_id: network,
        cidr: Cidr::parse("cidr", &wire.cidr)?,
        region_id: wire.region_id,
        reserved: wire
            .reserved
            .iter()
            .map(|a| a.parse().map_err(|_| ApiError::Internal(format!("the central sent a reserved address {a:?}"))))
            .collect::<Result<_, _>>()?,
        created_at: flotilla_core::now(),
    };
    state.store.hold_block(&block).await?;
    tracing::info!(network = %name, block = %block.cidr, "address block received from the central");
    Ok(())
}

/// A fixed address `ip` on `network`: on a global network at a region, outside the blocks it
/// holds, the central records it first (unique in every region; 409 naming it when taken).
pub async fn claim_fixed(state: &AppState, network: &Network, ip: Ipv4Addr) -> Result<(), ApiError> {
    let Some(link) = region_link(state).filter(|_| network.global) else { return Ok(()) };
    if state.store.blocks(network.id).await?.iter().any(|b| b.cidr.contains(ip)) {
        return Ok(());
    }
    let body = GlobalFixedIp { address: ip.to_string() };
    link.call_no_reply(Method::POST, &format!("/v1/federation/networks/{}/fixed-ips", network.id), Some(&body))
        .await
        .map_err(|e| central_error(link, e, &format!("a fixed address on global network {} is checked at the central", network.name)))
}

/// Ports on a global network are made in regions: the central keeps every region's blocks and
/// runs no containers, so it makes none.
pub fn refuse_at_central(state: &AppState, network: &Network) -> Result<(), ApiError> {
    if network.global && matches!(state.federation, Federation::Central(_)) {
        return Err(ApiError::Conflict(format!(
            "global network {} gives addresses in regions: make ports and containers on it in a region",
            network.name
        )));
    }
    Ok(())
}

/// Before a port or container names `key`: at a region the global network is copied here on first
/// use; at the central a global network is refused (see [`refuse_at_central`]).
pub async fn prepare_network(state: &AppState, caller: &Principal, key: &str) -> Result<(), ApiError> {
    ensure_local(state, caller, key).await?;
    if let Federation::Central(_) = state.federation
        && let Ok(row) = state.store.network(Scope::Project(caller.project_id), key).await
    {
        refuse_at_central(state, &row.network)?;
    }
    Ok(())
}

/// A port on a global network at a region whose address lies outside the held blocks was fixed
/// at the central: freed there when the port goes (best effort: logged when the central cannot
/// be reached, the address then stays recorded as this region's).
pub async fn release_fixed(state: &AppState, network: &Network, ip: Ipv4Addr) {
    let Some(link) = region_link(state).filter(|_| network.global) else { return };
    match state.store.blocks(network.id).await {
        Ok(blocks) if blocks.iter().any(|b| b.cidr.contains(ip)) => return,
        Ok(_) => {}
        Err(e) => return tracing::warn!(error = %e, "cannot read the held address blocks"),
    }
    let path = format!("/v1/federation/networks/{}/fixed-ips/{ip}", network.id);
    if let Err(e) = link.call_no_reply::<()>(Method::DELETE, &path, None).await {
        tracing::warn!(network = %network.name, %ip, error = %e, "the central did not free a fixed address of a global network");
    }
}
