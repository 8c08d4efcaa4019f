//! The overlay's rows: VNIs handed to networks at create, the remote endpoints a host's
//! assignments carry (the containers on other hosts with a tunnel address of its networks and of
//! those routers join to them, and other regions' on its global networks), and the wake-up of the
//! hosts that carry a network when one of its containers comes, moves or goes (their endpoints and
//! names change).

use crate::codec::{bind_all, get_id, in_list};
use crate::hosts::bump_revisions;
use crate::{Backend, Store, StoreError, Tx};
use flotilla_core::overlay::VniRange;
use flotilla_core::{ContainerId, HostId, NetworkId};
use sqlx::Row;
use std::collections::{BTreeSet, HashMap};

/// A container on another host with a tunnel address, as a host's overlay reaches it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RemoteEndpoint {
    pub ip: String,
    pub mac: String,
    /// Its host's tunnel address.
    pub tunnel_address: String,
    /// The names it answers to (its container's, and its cluster's while it runs) when it is an
    /// endpoint of a global network reported across regions; empty in a host's assignments, whose
    /// names come with its networks.
    pub names: Vec<String>,
}

/// The next free VNI of `range` (a region's own networks, or the central's global ones). On
/// PostgreSQL an advisory lock serialises network creates until commit (SQLite has one writer);
/// the unique index is the last word.
pub(crate) async fn allocate_vni(backend: Backend, tx: &mut Tx, range: VniRange) -> Result<u32, StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7043)").execute(&mut **tx).await?;
    }
    let (first, last) = (i64::from(range.first), i64::from(range.last));
    let highest: Option<i64> = sqlx::query("SELECT MAX(vni) AS highest FROM networks WHERE vni >= $1 AND vni <= $2")
        .bind(first)
        .bind(last)
        .fetch_one(&mut **tx)
        .await?
        .try_get("highest")?;
    if let Some(vni) = range.next(highest.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32)) {
        return Ok(vni);
    }
    // The range is used up to its end: the lowest gap left by deleted networks.
    let first_taken = sqlx::query("SELECT 1 AS taken FROM networks WHERE vni = $1").bind(first).fetch_optional(&mut **tx).await?;
    if first_taken.is_none() {
        return Ok(range.first);
    }
    let gap: Option<i64> = sqlx::query(
        "SELECT MIN(n.vni + 1) AS gap FROM networks n
         WHERE n.vni >= $1 AND n.vni < $2 AND NOT EXISTS (SELECT 1 FROM networks m WHERE m.vni = n.vni + 1)",
    )
    .bind(first)
    .bind(last)
    .fetch_one(&mut **tx)
    .await?
    .try_get("gap")?;
    gap.map(|g| g as u32).ok_or_else(|| StoreError::Conflict(format!("no VXLAN id left ({}..={} are all in use)", range.first, range.last)))
}

/// Whose networks changed: some containers', or those of every container on one host.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Around<'a> {
    Containers(&'a [ContainerId]),
    Host(HostId),
}

/// Bumps the revision of every host with a tunnel address that carries a network of `around`
/// (its containers', or one a router joins to them: their remote endpoints and names change), in
/// host id order; nothing when `around`'s host has no tunnel address. Hosts without a tunnel
/// address reach no other host's containers, so only their own changes wake them (each bump
/// locks a host row: waking every host carrying a network deadlocked concurrent writers on
/// PostgreSQL). Called before a change with the rows as they were, and after it with the rows as
/// they are. On a federated region it also queues the report of `around`'s global networks'
/// endpoints to the central (`global_endpoints::queue_reports`).
pub(crate) async fn wake_peers(store: &Store, tx: &mut Tx, around: Around<'_>) -> Result<(), StoreError> {
    let mut hosts = BTreeSet::new();
    match around {
        Around::Containers(ids) => {
            for chunk in ids.chunks(crate::codec::rows_per_statement(tx, 1)) {
                hosts.extend(peers_of(store, tx, Around::Containers(chunk)).await?);
            }
        }
        Around::Host(_) => hosts.extend(peers_of(store, tx, around).await?),
    }
    bump_revisions(tx, &hosts).await
}

/// The hosts [`wake_peers`] wakes for `around` (whose containers, if any, fill one statement's
/// parameters), after queueing its global networks' reports.
async fn peers_of(store: &Store, tx: &mut Tx, around: Around<'_>) -> Result<Vec<String>, StoreError> {
    crate::global_endpoints::queue_reports(store, tx, around).await?;
    let (containers, keys) = around_condition(around, "c0");
    // Most hosts have no tunnel address: one indexed look, not the join over the network's ports.
    let tunnelled = bind_all(
        crate::codec::batch_query(format!(
            "SELECT 1 AS one FROM containers c0 JOIN hosts h0 ON h0.id = c0.host_id WHERE {containers} AND h0.tunnel_address IS NOT NULL LIMIT 1"
        )),
        keys.clone(),
    )
    .fetch_optional(&mut **tx)
    .await?;
    if tunnelled.is_none() {
        return Ok(Vec::new());
    }
    // The networks of `around`, and those routers join to them (hosts carry those too).
    let networks = crate::routers::with_routed(&format!(
        "SELECT p0.network_id FROM ports p0 JOIN containers c0 ON c0.id = p0.container_id JOIN hosts h0 ON h0.id = c0.host_id
         WHERE {containers} AND h0.tunnel_address IS NOT NULL"
    ));
    let hosts = bind_all(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT h.id FROM hosts h JOIN containers c ON c.host_id = h.id JOIN ports p ON p.container_id = c.id
             WHERE h.tunnel_address IS NOT NULL AND p.network_id IN ({networks})"
        ))),
        keys,
    )
    .fetch_all(&mut **tx)
    .await?;
    hosts.iter().map(|row| Ok(row.try_get("id")?)).collect()
}

/// The SQL condition on `{alias}` (a container) for `around`, and the ids it binds as `$1`, `$2`, ...
/// (`around` names at least one container).
pub(crate) fn around_condition(around: Around<'_>, alias: &str) -> (String, Vec<String>) {
    match around {
        Around::Containers(ids) => (format!("{alias}.id IN ({})", in_list(ids.len())), ids.iter().map(ToString::to_string).collect()),
        Around::Host(id) => (format!("{alias}.host_id = $1"), vec![id.to_string()]),
    }
}

/// The remote endpoints of each network `host` carries (its containers', and those routers join
/// to them): the containers on it placed on other hosts that have a tunnel address, and (a global
/// network) those other regions have on it, as learned from the central. Empty when `host` has
/// none itself.
pub(crate) async fn remote_endpoints(
    conn: &mut sqlx::AnyConnection,
    host: HostId,
) -> Result<HashMap<NetworkId, Vec<RemoteEndpoint>>, StoreError> {
    let carried = crate::routers::with_routed(
        "SELECT p0.network_id FROM ports p0 JOIN containers c0 ON c0.id = p0.container_id WHERE c0.host_id = $1",
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT p.network_id, p.ip, p.ip_address, p.mac, h.tunnel_address FROM ports p JOIN containers c ON c.id = p.container_id
         JOIN hosts h ON h.id = c.host_id
         WHERE h.tunnel_address IS NOT NULL AND c.host_id != $1
           AND EXISTS (SELECT 1 FROM hosts me WHERE me.id = $1 AND me.tunnel_address IS NOT NULL)
           AND p.network_id IN ({carried})
         UNION ALL
         SELECT g.network_id, g.ip, g.ip_address, g.mac, g.tunnel_address FROM global_endpoints g
         WHERE EXISTS (SELECT 1 FROM hosts me WHERE me.id = $1 AND me.tunnel_address IS NOT NULL)
           AND g.network_id IN ({carried})
         ORDER BY network_id, ip"
    )))
    .bind(host.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut remotes: HashMap<NetworkId, Vec<RemoteEndpoint>> = HashMap::new();
    for r in &rows {
        remotes.entry(get_id(r, "network_id")?).or_default().push(RemoteEndpoint {
            ip: r.try_get("ip_address")?,
            mac: r.try_get("mac")?,
            tunnel_address: r.try_get("tunnel_address")?,
            names: Vec::new(),
        });
    }
    Ok(remotes)
}
