//! Endpoints of global networks across regions (migration 0018). A region reports its containers
//! on each global network (address, MAC, its host's tunnel address, the names it answers to) to the central by an
//! [`ENDPOINT_SYNC`] job per network, queued with the port change that needs it; the central keeps
//! every region's; a region keeps the other regions' as the central last answered them (kept while
//! it cannot be reached), and its hosts' assignments carry them (`overlay::remote_endpoints`).

use crate::codec::{get_id, get_json, to_json};
use crate::hosts::bump_revision;
use crate::overlay::{Around, RemoteEndpoint, around_condition};
use crate::{Store, StoreError, Tx};
use flotilla_core::container::ContainerStatus;
use flotilla_core::overlay::parse_tunnel_address;
use flotilla_core::{HostId, NetworkId, ProjectId, ValidationError};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use uuid::Uuid;

/// The job type reporting a region's endpoints on one global network to the central.
pub const ENDPOINT_SYNC: &str = "endpoint_sync";

/// An endpoint of a global network in some region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlobalEndpoint {
    pub region_id: Uuid,
    pub endpoint: RemoteEndpoint,
}

/// What the central answers a region for one global network: its VNI and its endpoints in the
/// other regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkEndpoints {
    pub network_id: NetworkId,
    pub vni: u32,
    pub endpoints: Vec<GlobalEndpoint>,
}

/// `e`'s address as its 32-bit value, after checking its address and tunnel address (a 400 naming
/// the field and value).
fn checked_ip(e: &RemoteEndpoint) -> Result<i64, StoreError> {
    let ip: Ipv4Addr =
        e.ip.parse().map_err(|_| StoreError::Invalid(ValidationError::new("endpoints.ip_address", &e.ip, "must be an IPv4 address")))?;
    parse_tunnel_address("endpoints.tunnel_address", &e.tunnel_address)?;
    for name in &e.names {
        flotilla_core::Name::parse("endpoints.names", name)?;
    }
    Ok(i64::from(u32::from(ip)))
}

/// On a federated region, queues an [`ENDPOINT_SYNC`] job for each global network a port of
/// `around` is on (coalesced with one waiting), inside the write that changes them.
pub(crate) async fn queue_reports(store: &Store, tx: &mut Tx, around: Around<'_>) -> Result<(), StoreError> {
    if !store.route_sync {
        return Ok(());
    }
    let (containers, keys) = around_condition(around, "c");
    let rows = crate::codec::bind_all(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT n.id, n.project_id FROM networks n JOIN ports p ON p.network_id = n.id JOIN containers c ON c.id = p.container_id
             WHERE n.is_global = 1 AND {containers} ORDER BY n.id"
        ))),
        keys,
    )
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        let (network, project): (Uuid, ProjectId) = (get_id(row, "id")?, get_id(row, "project_id")?);
        store.enqueue(tx, ENDPOINT_SYNC, network, Some(project)).await?;
    }
    Ok(())
}

/// The hosts with a tunnel address carrying `network`: a container on it, or on a network a router
/// joins to it.
pub(crate) async fn hosts_carrying(tx: &mut Tx, network: NetworkId) -> Result<Vec<HostId>, StoreError> {
    let networks = crate::routers::with_routed("SELECT n0.id FROM networks n0 WHERE n0.id = $1");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT h.id FROM hosts h JOIN containers c ON c.host_id = h.id JOIN ports p ON p.container_id = c.id
         WHERE h.tunnel_address IS NOT NULL AND p.network_id IN ({networks}) ORDER BY h.id"
    )))
    .bind(network.to_string())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| get_id(r, "id")).collect()
}

/// The endpoints of `network` kept here (at a region: the other regions').
async fn kept(tx: &mut Tx, network: NetworkId) -> Result<BTreeSet<GlobalEndpoint>, StoreError> {
    let rows = sqlx::query("SELECT region_id, ip_address, mac, tunnel_address, names FROM global_endpoints WHERE network_id = $1")
        .bind(network.to_string())
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(GlobalEndpoint {
                region_id: get_id(r, "region_id")?,
                endpoint: RemoteEndpoint {
                    ip: r.try_get("ip_address")?,
                    mac: r.try_get("mac")?,
                    tunnel_address: r.try_get("tunnel_address")?,
                    names: get_json(r, "names")?,
                },
            })
        })
        .collect()
}

async fn insert(tx: &mut Tx, network: NetworkId, e: &GlobalEndpoint) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO global_endpoints (network_id, region_id, ip, ip_address, mac, tunnel_address, names)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (network_id, region_id, ip) DO UPDATE SET ip_address = excluded.ip_address, mac = excluded.mac,
         tunnel_address = excluded.tunnel_address, names = excluded.names",
    )
    .bind(network.to_string())
    .bind(e.region_id.to_string())
    .bind(checked_ip(&e.endpoint)?)
    .bind(e.endpoint.ip.clone())
    .bind(e.endpoint.mac.clone())
    .bind(e.endpoint.tunnel_address.clone())
    .bind(to_json(&e.endpoint.names))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes the endpoints of `network` kept here (of region `only`, else of every region) exactly
/// `wanted`; answers whether anything changed.
async fn replace(tx: &mut Tx, network: NetworkId, only: Option<Uuid>, wanted: &BTreeSet<GlobalEndpoint>) -> Result<bool, StoreError> {
    let have: BTreeSet<GlobalEndpoint> = kept(tx, network).await?.into_iter().filter(|e| only.is_none_or(|r| e.region_id == r)).collect();
    if &have == wanted {
        return Ok(false);
    }
    let delete = match only {
        Some(region) => sqlx::query("DELETE FROM global_endpoints WHERE network_id = $1 AND region_id = $2")
            .bind(network.to_string())
            .bind(region.to_string()),
        None => sqlx::query("DELETE FROM global_endpoints WHERE network_id = $1").bind(network.to_string()),
    };
    delete.execute(&mut **tx).await?;
    for e in wanted {
        insert(tx, network, e).await?;
    }
    Ok(true)
}

impl Store {
    /// At a region: this region's endpoints on each of `networks` (its containers on the network
    /// whose host has a tunnel address), every network named, empty when it has none or is not a
    /// global network here.
    pub async fn own_global_endpoints(&self, networks: &[NetworkId]) -> Result<BTreeMap<NetworkId, Vec<RemoteEndpoint>>, StoreError> {
        let mut found: BTreeMap<NetworkId, Vec<RemoteEndpoint>> = networks.iter().map(|n| (*n, Vec::new())).collect();
        for network in networks {
            let rows = sqlx::query(
                "SELECT p.ip_address, p.mac, h.tunnel_address, c.name AS container_name, c.status, cl.name AS cluster_name
                 FROM ports p JOIN containers c ON c.id = p.container_id
                 JOIN hosts h ON h.id = c.host_id JOIN networks n ON n.id = p.network_id
                 LEFT JOIN nodes nd ON nd.physical_id = c.id LEFT JOIN clusters cl ON cl.id = nd.cluster_id
                 WHERE p.network_id = $1 AND n.is_global = 1 AND h.tunnel_address IS NOT NULL ORDER BY p.ip",
            )
            .bind(network.to_string())
            .fetch_all(&self.pool)
            .await?;
            let entry = found.entry(*network).or_default();
            for r in &rows {
                let mut names = vec![r.try_get::<String, _>("container_name")?];
                let running = r.try_get::<String, _>("status")? == ContainerStatus::Running.as_str();
                if let (Some(cluster), true) = (r.try_get::<Option<String>, _>("cluster_name")?, running) {
                    names.push(cluster);
                }
                entry.push(RemoteEndpoint {
                    ip: r.try_get("ip_address")?,
                    mac: r.try_get("mac")?,
                    tunnel_address: r.try_get("tunnel_address")?,
                    names,
                });
            }
        }
        Ok(found)
    }

    /// At the central: `region`'s endpoints on each global network of `reports` become exactly
    /// those reported. Answers the networks whose endpoints changed; networks that are not global
    /// here are left out of it and written nothing.
    pub async fn record_region_endpoints(
        &self,
        region: Uuid,
        reports: &BTreeMap<NetworkId, Vec<RemoteEndpoint>>,
    ) -> Result<Vec<NetworkId>, StoreError> {
        let mut w = self.begin_write().await?;
        let mut changed = Vec::new();
        for (network, endpoints) in reports {
            let global = sqlx::query("SELECT 1 AS one FROM networks WHERE id = $1 AND is_global = 1")
                .bind(network.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
            if global.is_none() {
                continue;
            }
            let wanted = endpoints.iter().map(|e| GlobalEndpoint { region_id: region, endpoint: e.clone() }).collect();
            if replace(&mut w.tx, *network, Some(region), &wanted).await? {
                changed.push(*network);
            }
        }
        w.tx.commit().await?;
        Ok(changed)
    }

    /// At the central: for each of `networks` that is a global network here, its VNI and its
    /// endpoints in regions other than `region`, in a stable order.
    pub async fn endpoints_for_region(&self, region: Uuid, networks: &[NetworkId]) -> Result<Vec<NetworkEndpoints>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut answer = Vec::new();
        for network in networks.iter().collect::<BTreeSet<_>>() {
            let Some(row) = sqlx::query("SELECT vni FROM networks WHERE id = $1 AND is_global = 1")
                .bind(network.to_string())
                .fetch_optional(&mut *tx)
                .await?
            else {
                continue;
            };
            let vni = u32::try_from(row.try_get::<i64, _>("vni")?).map_err(|e| StoreError::Corrupt(format!("vni: {e}")))?;
            let endpoints = kept(&mut tx, *network).await?.into_iter().filter(|e| e.region_id != region).collect();
            answer.push(NetworkEndpoints { network_id: *network, vni, endpoints });
        }
        tx.commit().await?;
        Ok(answer)
    }

    /// At a region: the global networks its hosts carry (a container on a host with a tunnel
    /// address, or a router joining such a container's network to it), whose other regions'
    /// endpoints (and global routers) it asks the central for.
    pub async fn carried_global_networks(&self) -> Result<Vec<NetworkId>, StoreError> {
        let networks = crate::routers::with_routed(
            "SELECT p.network_id FROM ports p JOIN containers c ON c.id = p.container_id
             JOIN hosts h ON h.id = c.host_id WHERE h.tunnel_address IS NOT NULL",
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT n.id FROM networks n WHERE n.is_global = 1 AND n.id IN ({networks}) ORDER BY n.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| get_id(r, "id")).collect()
    }

    /// At a region: keeps the central's `answer` — for each global network in it, the central's
    /// VNI and the other regions' endpoints, exactly; endpoints of networks not in it are dropped.
    /// The hosts carrying a network whose VNI or endpoints changed get a new revision (in host id
    /// order, after the placement lock, as every writer that wakes hosts); answers them, to be woken.
    pub async fn apply_remote_endpoints(&self, answer: &[NetworkEndpoints]) -> Result<Vec<HostId>, StoreError> {
        let mut w = self.begin_write().await?;
        crate::placement::lock_placement(self.backend, &mut w.tx).await?;
        let mut changed: BTreeSet<NetworkId> = BTreeSet::new();
        for n in answer {
            let vni = sqlx::query("UPDATE networks SET vni = $2 WHERE id = $1 AND is_global = 1 AND vni != $2")
                .bind(n.network_id.to_string())
                .bind(i64::from(n.vni))
                .execute(&mut *w.tx)
                .await?;
            let wanted: BTreeSet<GlobalEndpoint> = n.endpoints.iter().cloned().collect();
            if replace(&mut w.tx, n.network_id, None, &wanted).await? || vni.rows_affected() > 0 {
                changed.insert(n.network_id);
            }
        }
        let answered: BTreeSet<NetworkId> = answer.iter().map(|n| n.network_id).collect();
        for row in sqlx::query("SELECT DISTINCT network_id FROM global_endpoints").fetch_all(&mut *w.tx).await? {
            let network: NetworkId = get_id(&row, "network_id")?;
            if !answered.contains(&network) {
                replace(&mut w.tx, network, None, &BTreeSet::new()).await?;
                changed.insert(network);
            }
        }
        let mut hosts = BTreeSet::new();
        for network in changed {
            hosts.extend(hosts_carrying(&mut w.tx, network).await?);
        }
        for host in &hosts {
            bump_revision(&mut w.tx, &host.to_string()).await?;
        }
        w.tx.commit().await?;
        Ok(hosts.into_iter().collect())
    }
}
