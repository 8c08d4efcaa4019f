//! Global routers across regions (migration 0024): the central answers the global routers joining
//! the global networks a region carries, each with every network it joins; the region keeps a
//! copy of exactly those (same id), so its hosts carry the routers' other networks and route to
//! them as they do for a region's own routers.

use crate::codec::{get_id, millis};
use crate::global_endpoints::hosts_carrying;
use crate::hosts::bump_revision;
use crate::routers::decode_router;
use crate::{Store, StoreError, Tx};
use flotilla_core::router::Router;
use flotilla_core::{HostId, NetworkId, RouterId};
use std::collections::{BTreeMap, BTreeSet};

/// A global router and the networks it joins.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalRouterRow {
    pub router: Router,
    pub networks: Vec<NetworkId>,
}

/// The global routers kept here, each with the networks it joins, by id.
async fn kept(tx: &mut Tx) -> Result<BTreeMap<RouterId, BTreeSet<NetworkId>>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.id, ri.network_id FROM routers r LEFT JOIN router_interfaces ri ON ri.router_id = r.id WHERE r.is_global = 1",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut kept: BTreeMap<RouterId, BTreeSet<NetworkId>> = BTreeMap::new();
    for row in &rows {
        let networks = kept.entry(get_id(row, "id")?).or_default();
        if let Some(network) = sqlx::Row::try_get::<Option<String>, _>(row, "network_id")? {
            networks.insert(network.parse().map_err(|_| StoreError::Corrupt(format!("router interface network id {network:?}")))?);
        }
    }
    Ok(kept)
}

/// The hosts carrying any of `networks` (directly or through a router), in id order.
async fn hosts_of(tx: &mut Tx, networks: &BTreeSet<NetworkId>) -> Result<BTreeSet<HostId>, StoreError> {
    let mut hosts = BTreeSet::new();
    for network in networks {
        hosts.extend(hosts_carrying(tx, *network).await?);
    }
    Ok(hosts)
}

impl Store {
    /// At the central: the global routers joining any of `networks`, each with every network it
    /// joins (by id), in id order.
    pub async fn global_routers_for(&self, networks: &[NetworkId]) -> Result<Vec<GlobalRouterRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let asked: BTreeSet<NetworkId> = networks.iter().copied().collect();
        let mut answer = Vec::new();
        for (id, joined) in kept(&mut tx).await? {
            if joined.is_disjoint(&asked) {
                continue;
            }
            let row = sqlx::query("SELECT * FROM routers WHERE id = $1").bind(id.to_string()).fetch_one(&mut *tx).await?;
            answer.push(GlobalRouterRow { router: decode_router(&row)?, networks: joined.into_iter().collect() });
        }
        tx.commit().await?;
        Ok(answer)
    }

    /// At a region: the global routers kept here become exactly `routers` (the central's answer
    /// for the networks this region carries; their networks already copied here): copies made,
    /// renamed, their interfaces set, and those not named deleted. A network joined here to a
    /// region's own router keeps that one (a network joins at most one router). The hosts carrying
    /// a network whose router changed, before or after, get a new revision (after the placement
    /// lock, in host id order); answers them, to be woken.
    pub async fn apply_global_routers(&self, routers: &[GlobalRouterRow]) -> Result<Vec<HostId>, StoreError> {
        let mut w = self.begin_write().await?;
        crate::placement::lock_placement(self.backend, &mut w.tx).await?;
        let have = kept(&mut w.tx).await?;
        let wanted: BTreeMap<RouterId, &GlobalRouterRow> = routers.iter().map(|r| (r.router.id, r)).collect();
        let mut touched: BTreeSet<NetworkId> = BTreeSet::new();
        for (id, networks) in &have {
            let same = wanted.get(id).is_some_and(|r| r.networks.iter().copied().collect::<BTreeSet<_>>() == *networks);
            if !same {
                touched.extend(networks);
            }
        }
        for r in routers {
            if have.get(&r.router.id).is_none_or(|n| *n != r.networks.iter().copied().collect()) {
                touched.extend(&r.networks);
            }
        }
        let mut hosts = hosts_of(&mut w.tx, &touched).await?;
        for (id, networks) in &have {
            for network in networks {
                if !wanted.get(id).is_some_and(|r| r.networks.contains(network)) {
                    sqlx::query("DELETE FROM router_interfaces WHERE router_id = $1 AND network_id = $2")
                        .bind(id.to_string())
                        .bind(network.to_string())
                        .execute(&mut *w.tx)
                        .await?;
                }
            }
            if !wanted.contains_key(id) {
                sqlx::query("DELETE FROM routers WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
            }
        }
        for r in routers {
            sqlx::query(
                "INSERT INTO routers (id, name, project_id, is_global, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            )
            .bind(r.router.id.to_string())
            .bind(r.router.name.to_string())
            .bind(r.router.project_id.to_string())
            .bind(millis(r.router.created_at))
            .bind(millis(r.router.updated_at))
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::on_insert("router", r.router.name.as_str()))?;
            for network in &r.networks {
                sqlx::query(
                    "INSERT INTO router_interfaces (network_id, router_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (network_id) DO NOTHING",
                )
                .bind(network.to_string())
                .bind(r.router.id.to_string())
                .bind(millis(r.router.updated_at))
                .execute(&mut *w.tx)
                .await?;
            }
        }
        hosts.extend(hosts_of(&mut w.tx, &touched).await?);
        for host in &hosts {
            bump_revision(&mut w.tx, &host.to_string()).await?;
        }
        w.tx.commit().await?;
        Ok(hosts.into_iter().collect())
    }
}
