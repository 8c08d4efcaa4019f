//! A federated region's view of the other regions, kept current every second (every 100 ms while
//! a member is being made): the central's list
//! (UP/DOWN, API URLs) and, for each region this region's clusters have members in, their status
//! there. A region the central lists DOWN, or that this region cannot reach past the grace period,
//! is down: its members turn UNKNOWN and the health policy moves them. When it answers again the
//! members let go meanwhile are removed there (the fence), members it runs that this region no
//! longer wants are removed too, and the waiting jobs run at once.

use super::DEFAULT_REGION_GRACE_PERIOD;
use super::link::CentralLink;
use flotilla_api::region::{MemberList, PeerRegionList, Region};
use flotilla_core::ContainerId;
use flotilla_core::container::ContainerStatus;
use flotilla_store::{MemberDesire, MemberObservation, PeerRegion, REMOTE_MEMBER, RemoteAddress, Store, StoreError};
use reqwest::Method;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the regions are looked at.
const TICK: Duration = Duration::from_secs(1);
/// How often while a member is being made (its node action waits for it to run).
const FAST_TICK: Duration = Duration::from_millis(100);

/// What a member's region says of it, as this region records it.
pub(crate) fn observation(c: &flotilla_api::Container) -> MemberObservation {
    MemberObservation {
        container_id: ContainerId(c.id),
        status: ContainerStatus::parse(&c.status).unwrap_or(ContainerStatus::Unknown),
        status_reason: c.status_reason.clone(),
        host: c.host.clone(),
        addresses: c
            .addresses
            .iter()
            .map(|a| RemoteAddress { network: a.network.clone(), ip: a.ip_address.clone(), mac: a.mac_address.clone() })
            .collect(),
    }
}

/// How long a wanted member may be missing from its region's list before it counts as gone.
const GONE_AFTER: Duration = Duration::from_secs(10);

/// Whether `row`'s member has not been seen (its row unchanged) for [`GONE_AFTER`].
fn missing_long(row: &flotilla_store::RemoteMember) -> bool {
    (flotilla_core::now() - row.updated_at).to_std().is_ok_and(|missing| missing >= GONE_AFTER)
}

/// What the loop remembers between ticks.
#[derive(Default)]
struct Seen {
    /// The central's last list.
    listed: Vec<Region>,
    /// Regions whose calls fail, since when and why.
    failing: HashMap<String, (Instant, String)>,
    /// Whether each region was up at the last tick.
    was_up: BTreeMap<String, bool>,
    /// What was last written to the store (name, URL, up, reason): it is written again only when
    /// it changes, not at every tick.
    written: Vec<(String, String, bool, String)>,
}

/// Until aborted: one look every second.
pub(crate) async fn run(store: Store, link: Arc<CentralLink>) {
    let mut seen = Seen::default();
    let mut last = Instant::now();
    loop {
        tokio::time::sleep(FAST_TICK).await;
        let hurried = match store.remote_members_pending().await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the members being made");
                false
            }
        };
        if !hurried && last.elapsed() < TICK {
            continue;
        }
        last = Instant::now();
        if let Err(e) = tick(&store, &link, &mut seen).await {
            tracing::warn!(error = %e, "looking at the other regions failed");
        }
    }
}

async fn tick(store: &Store, link: &CentralLink, seen: &mut Seen) -> Result<(), StoreError> {
    // The central out of reach: its last list stands, and this region's own calls decide.
    if let Ok(list) = link.call::<(), PeerRegionList>(Method::GET, "/v1/federation/regions", None).await {
        seen.listed = list.regions;
    }
    let with_members: HashSet<String> = store.remote_member_regions().await?.into_iter().collect();
    for region in seen.listed.iter().filter(|r| with_members.contains(&r.name)) {
        match link.call_region::<(), MemberList>(&region.api_url, Method::GET, "/v1/federation/members", None).await {
            Ok(list) => {
                seen.failing.remove(&region.name);
                if region.status == "UP" {
                    reconcile(store, link, region, list).await?;
                }
            }
            Err(e) => {
                seen.failing.entry(region.name.clone()).or_insert_with(|| (Instant::now(), e.to_string()));
            }
        }
    }
    let now = flotilla_core::now();
    let peers: Vec<PeerRegion> = seen
        .listed
        .iter()
        .map(|r| {
            let cut = seen.failing.get(&r.name).filter(|(since, _)| since.elapsed() >= DEFAULT_REGION_GRACE_PERIOD);
            let reason = match cut {
                _ if r.status != "UP" => "the central lists it DOWN".to_owned(),
                Some((_, why)) => format!("unreachable from here: {why}"),
                None => String::new(),
            };
            PeerRegion { name: r.name.clone(), api_url: r.api_url.clone(), up: reason.is_empty(), reason, checked_at: now }
        })
        .collect();
    let view: Vec<(String, String, bool, String)> =
        peers.iter().map(|p| (p.name.clone(), p.api_url.clone(), p.up, p.reason.clone())).collect();
    if view != seen.written {
        store.set_peer_regions(&peers).await?;
        seen.written = view;
    }
    for peer in &peers {
        if !peer.up && with_members.contains(&peer.name) {
            store.remote_region_unreachable(&peer.name, &format!("region {} is down: {}", peer.name, peer.reason)).await?;
        }
        if peer.up && seen.was_up.get(&peer.name) == Some(&false) {
            let hurried = store.hurry_jobs(REMOTE_MEMBER).await?;
            tracing::info!(region = %peer.name, jobs = hurried, "region up again: its members' jobs run now");
        }
        if seen.was_up.insert(peer.name.clone(), peer.up) == Some(true) && !peer.up {
            tracing::warn!(region = %peer.name, reason = %peer.reason, "region down: its members are moved by their health policies");
        }
    }
    Ok(())
}

/// Brings this region's rows of `region`'s members in line with `list` (read before the rows,
/// so a member created meanwhile is never taken for a stray), and removes there what is not wanted.
async fn reconcile(store: &Store, link: &CentralLink, region: &Region, list: MemberList) -> Result<(), StoreError> {
    let present: HashMap<ContainerId, &flotilla_api::Container> = list.members.iter().map(|c| (ContainerId(c.id), c)).collect();
    let rows = store.remote_members_in(&region.name).await?;
    let mut observed = Vec::new();
    for row in &rows {
        match (row.desired, present.get(&row.container_id)) {
            (MemberDesire::Running, Some(c)) => observed.push(observation(c)),
            // Gone only once it has been missing a while: a member is listed there only after
            // its create answered, so a list read meanwhile may miss it.
            (MemberDesire::Running, None) if row.status != ContainerStatus::Creating && missing_long(row) => {
                observed.push(MemberObservation {
                    container_id: row.container_id,
                    status: ContainerStatus::Error,
                    status_reason: format!("its container is gone from region {}", region.name),
                    host: None,
                    addresses: Vec::new(),
                })
            }
            (MemberDesire::Running, None) => {}
            (MemberDesire::Deleted, None) => store.forget_remote_member(row.container_id).await?,
            (MemberDesire::Deleted, Some(c)) if c.status != ContainerStatus::Deleting.as_str() => {
                store.enqueue_job(REMOTE_MEMBER, row.container_id.0, Some(row.project_id)).await?;
            }
            (MemberDesire::Deleted, Some(_)) => {}
        }
    }
    store.observe_remote_members(&observed).await?;
    let wanted: HashSet<ContainerId> = rows.iter().map(|r| r.container_id).collect();
    for stray in present.keys().filter(|id| !wanted.contains(id)) {
        let path = format!("/v1/federation/members/{stray}");
        match link.call_region_no_reply::<()>(&region.api_url, Method::DELETE, &path, None).await {
            Ok(()) => tracing::info!(region = %region.name, container = %stray, "removed a member this region no longer wants"),
            Err(e) => tracing::warn!(region = %region.name, container = %stray, error = %e, "cannot remove a stray member"),
        }
    }
    Ok(())
}
