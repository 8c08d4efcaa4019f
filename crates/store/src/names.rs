//! The names each network answers: its containers' names, and its clusters' names for their
//! running members (on a global network, other regions' too, as they reported them) (the hosts carrying a network are woken by `overlay::wake_peers`).

use crate::codec::{get_id, get_json};
use crate::{StoreError, Tx};
use flotilla_core::container::ContainerStatus;
use flotilla_core::{HostId, NetworkId};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// A name and the addresses it resolves to on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRecord {
    pub name: String,
    pub addresses: Vec<Ipv4Addr>,
}

/// The names of every network `host` carries (any container of it there has a port on it), each
/// from the ports of every host: a container's name → its address there (whatever its status),
/// a cluster's name → the addresses of its running members. Sorted by name.
pub(crate) async fn names_on(tx: &mut Tx, host: HostId) -> Result<HashMap<NetworkId, Vec<NameRecord>>, StoreError> {
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
        let text: String = r.try_get("ip_address")?;
        let ip: Ipv4Addr = text.parse().map_err(|_| StoreError::Corrupt(format!("ip_address = {text:?}")))?;
        let network = names.entry(get_id(r, "network_id")?).or_default();
        for name in get_json::<Vec<String>>(r, "names")? {
            network.entry(name).or_default().insert(ip);
        }
    }
    for r in &rows {
        let text: String = r.try_get("ip_address")?;
        let ip: Ipv4Addr = text.parse().map_err(|_| StoreError::Corrupt(format!("ip_address = {text:?}")))?;
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
