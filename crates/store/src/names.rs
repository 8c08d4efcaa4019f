//! The names each network answers: its containers' names, and its clusters' names for their
//! running members (on a global network, other regions' too, as they reported them). An agent
//! asks for one name at a time ([`Store::name_on`]); older agents get every name of every network
//! they carry with their assignments ([`Store::host_names`]).

use crate::codec::{get_id, get_json};
use crate::{Store, StoreError, Tx};
use flotilla_core::container::ContainerStatus;
use flotilla_core::{HostId, Name, NetworkId};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// A name and the addresses it resolves to on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRecord {
    pub name: String,
    pub addresses: Vec<Ipv4Addr>,
}

impl Store {
    /// What `name` (any case) answers on `network`, which `host` carries (a container of it there
    /// has a port on it): the addresses there of the containers so named and, for a cluster so
    /// named, of its running members; on a global network also those other regions reported.
    /// Empty: no name of the network (also for a name no object could have).
    pub async fn name_on(&self, host: HostId, network: NetworkId, name: &str) -> Result<Vec<Ipv4Addr>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let carried = sqlx::query(
            "SELECT 1 AS one FROM ports p JOIN containers c ON c.id = p.container_id WHERE c.host_id = $1 AND p.network_id = $2 LIMIT 1",
        )
        .bind(host.to_string())
        .bind(network.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if carried.is_none() {
            return Err(StoreError::NotFound { kind: "network carried by this host", key: network.to_string() });
        }
        let name = name.to_ascii_lowercase();
        if Name::parse("name", &name).is_err() {
            return Ok(Vec::new());
        }
        // On the `lower(name)` indexes: a container's port, or a cluster member's (kept when it runs).
        let rows = sqlx::query(
            "SELECT p.ip_address, NULL AS status FROM containers c JOIN ports p ON p.container_id = c.id
             WHERE lower(c.name) = $2 AND p.network_id = $1
             UNION ALL
             SELECT p.ip_address, c.status FROM clusters cl JOIN nodes n ON n.cluster_id = cl.id
             JOIN containers c ON c.id = n.physical_id JOIN ports p ON p.container_id = c.id
             WHERE lower(cl.name) = $2 AND p.network_id = $1",
        )
        .bind(network.to_string())
        .bind(name.clone())
        .fetch_all(&mut *tx)
        .await?;
        let mut addresses = BTreeSet::new();
        for r in &rows {
            let member_status: Option<String> = r.try_get("status")?;
            if member_status.is_none_or(|status| status == ContainerStatus::Running.as_str()) {
                addresses.insert(address(r)?);
            }
        }
        // A name only prefilters (`_` matches any character there); the list decides.
        let far = sqlx::query("SELECT ip_address, names FROM global_endpoints WHERE network_id = $1 AND lower(names) LIKE $2")
            .bind(network.to_string())
            .bind(format!("%\"{name}\"%"))
            .fetch_all(&mut *tx)
            .await?;
        for r in &far {
            if get_json::<Vec<String>>(r, "names")?.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                addresses.insert(address(r)?);
            }
        }
        tx.commit().await?;
        Ok(addresses.into_iter().collect())
    }

    /// Every name of every network `host` carries, by network: what an agent that does not ask
    /// name by name gets with its assignments.
    pub async fn host_names(&self, host: HostId) -> Result<HashMap<NetworkId, Vec<NameRecord>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let names = names_on(&mut tx, host).await?;
        tx.commit().await?;
        Ok(names)
    }
}

/// The `ip_address` of row `r`.
fn address(r: &sqlx::any::AnyRow) -> Result<Ipv4Addr, StoreError> {
    let text: String = r.try_get("ip_address")?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("ip_address = {text:?}")))
}

/// The names of every network `host` carries (any container of it there has a port on it), each
/// from the ports of every host: a container's name → its address there (whatever its status),
/// a cluster's name → the addresses of its running members. Sorted by name.
async fn names_on(tx: &mut Tx, host: HostId) -> Result<HashMap<NetworkId, Vec<NameRecord>>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.network_id, p.ip_address, c.name AS container_name, c.status, cl.name AS cluster_name
         FROM ports p JOIN containers c ON c.id = p.container_id
         LEFT JOIN nodes n ON n.physical_id = c.id LEFT JOIN clusters cl ON cl.id = n.cluster_id
         WHERE p.network_id IN (SELECT q.network_id FROM ports q JOIN containers d ON d.id = q.container_id WHERE d.host_id = $1)",
    )
    .bind(host.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut names: HashMap<NetworkId, BTreeMap<String, BTreeSet<Ipv4Addr>>> = HashMap::new();
    // Other regions' containers on the global networks carried here, as their regions reported them.
    let far = sqlx::query(
        "SELECT g.network_id, g.ip_address, g.names FROM global_endpoints g
         WHERE g.network_id IN (SELECT q.network_id FROM ports q JOIN containers d ON d.id = q.container_id WHERE d.host_id = $1)",
    )
    .bind(host.to_string())
    .fetch_all(&mut **tx)
    .await?;
    for r in &far {
        let ip = address(r)?;
        let network = names.entry(get_id(r, "network_id")?).or_default();
        for name in get_json::<Vec<String>>(r, "names")? {
            network.entry(name).or_default().insert(ip);
        }
    }
    for r in &rows {
        let ip = address(r)?;
        let network = names.entry(get_id(r, "network_id")?).or_default();
        network.entry(r.try_get("container_name")?).or_default().insert(ip);
        let running = r.try_get::<String, _>("status")? == ContainerStatus::Running.as_str();
        if let (Some(cluster), true) = (r.try_get::<Option<String>, _>("cluster_name")?, running) {
            network.entry(cluster).or_default().insert(ip);
        }
    }
    Ok(names
        .into_iter()
        .map(|(network, records)| {
            let records = records.into_iter().map(|(name, addresses)| NameRecord { name, addresses: addresses.into_iter().collect() });
            (network, records.collect())
        })
        .collect())
}
