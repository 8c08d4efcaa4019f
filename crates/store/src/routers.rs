//! Routers and their interfaces: a router joins networks of its project, each network at most one
//! router (the key of `router_interfaces` is the last word); a router keeps its interfaces until
//! they are removed, and a joined network (or its subnet) is not deleted.

use crate::codec::{get_bool, get_id, get_name, get_time, millis, now_millis};
use crate::list::Filter;
use crate::{Scope, Store, StoreError, Tx};
use flotilla_core::ipam::Cidr;
use flotilla_core::router::Router;
use flotilla_core::{HostId, ListParams, Name, NetworkId, Page, RouterId, ValidationError};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::net::Ipv4Addr;

/// A router with the networks it joins.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterRow {
    pub router: Router,
    pub interfaces: Vec<RouterInterface>,
}

/// A network joined to a router, through its subnet's gateway address.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterInterface {
    pub network_id: NetworkId,
    pub network: Name,
    pub cidr: Cidr,
    pub gateway: Ipv4Addr,
    /// The network's VXLAN id (a host carrying it over the overlay needs it).
    pub vni: u32,
}

pub(crate) fn decode_router(row: &AnyRow) -> Result<Router, StoreError> {
    Ok(Router {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        global: get_bool(row, "is_global")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn decode_interface(row: &AnyRow) -> Result<RouterInterface, StoreError> {
    let subnet = crate::networks::decode_subnet(row)?;
    Ok(RouterInterface {
        network_id: subnet.network_id,
        network: Name::parse("network", &row.try_get::<String, _>("network_name")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        cidr: subnet.plan.cidr,
        gateway: subnet.plan.gateway,
        vni: u32::try_from(row.try_get::<i64, _>("vni")?).map_err(|e| StoreError::Corrupt(format!("vni: {e}")))?,
    })
}

/// SQL of the networks `networks` (a query of network ids) names, and of every network a router
/// joins to one of them: the networks a host carries when `networks` are those of its containers
/// (it routes to the others locally, so it carries their bridges and remote endpoints too).
pub(crate) fn with_routed(networks: &str) -> String {
    format!(
        "{networks} UNION SELECT ri2.network_id FROM router_interfaces ri1 JOIN router_interfaces ri2 ON ri2.router_id = ri1.router_id
         WHERE ri1.network_id IN ({networks})"
    )
}

/// The interfaces of `router`, by network name.
async fn interfaces_of(tx: &mut Tx, router: RouterId) -> Result<Vec<RouterInterface>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.*, n.name AS network_name, n.vni FROM router_interfaces ri JOIN networks n ON n.id = ri.network_id
         JOIN subnets s ON s.network_id = ri.network_id WHERE ri.router_id = $1 ORDER BY n.name",
    )
    .bind(router.to_string())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(decode_interface).collect()
}

/// A 409 when `network` is joined to a router: `what` (deleting the network, its subnet) waits
/// until the interface is removed.
pub(crate) async fn refuse_while_joined(tx: &mut Tx, network: NetworkId, what: &str) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT r.name FROM router_interfaces ri JOIN routers r ON r.id = ri.router_id WHERE ri.network_id = $1")
        .bind(network.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = row {
        let router: String = row.try_get("name")?;
        return Err(StoreError::Conflict(format!("{what}: the network is joined to router {router}; remove that interface first")));
    }
    Ok(())
}

/// A router joining a network of a host: the host routes between all of its networks.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRouter {
    pub id: RouterId,
    pub name: Name,
    pub interfaces: Vec<RouterInterface>,
}

/// The routers joining a network `host` carries (a container of it there has a port on it), each
/// with all of its networks.
pub(crate) async fn routers_on(conn: &mut sqlx::AnyConnection, host: HostId) -> Result<Vec<HostRouter>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.id AS router_id, r.name AS router_name, s.*, n.name AS network_name, n.vni
         FROM routers r JOIN router_interfaces ri ON ri.router_id = r.id JOIN networks n ON n.id = ri.network_id
         JOIN subnets s ON s.network_id = ri.network_id
         WHERE r.id IN (SELECT ri2.router_id FROM router_interfaces ri2 WHERE ri2.network_id IN
           (SELECT q.network_id FROM ports q JOIN containers d ON d.id = q.container_id WHERE d.host_id = $1))
         ORDER BY r.id, n.name",
    )
    .bind(host.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut routers: Vec<HostRouter> = Vec::new();
    for r in &rows {
        let id: RouterId = get_id(r, "router_id")?;
        if routers.last().is_none_or(|last| last.id != id) {
            let name: String = r.try_get("router_name")?;
            let name = Name::parse("name", &name).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            routers.push(HostRouter { id, name, interfaces: Vec::new() });
        }
        if let Some(router) = routers.last_mut() {
            router.interfaces.push(decode_interface(r)?);
        }
    }
    Ok(routers)
}

/// Bumps the revision of every host carrying one of `router`'s networks: call it after an
/// interface comes and before one goes, so the hosts of that network learn too.
pub(crate) async fn wake_router_hosts(tx: &mut Tx, router: RouterId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE host_revisions SET revision = revision + 1 WHERE host_id IN (
           SELECT c.host_id FROM ports p JOIN containers c ON c.id = p.container_id JOIN router_interfaces ri ON ri.network_id = p.network_id
           WHERE ri.router_id = $1 AND c.host_id IS NOT NULL)",
    )
    .bind(router.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves the router's `updated_at`, locking its row until the transaction ends; answers the row.
async fn touch(tx: &mut Tx, router: RouterId) -> Result<AnyRow, StoreError> {
    let row = crate::crud::row_for_update(tx, "router", "routers", &router.to_string()).await?;
    sqlx::query("UPDATE routers SET updated_at = $1 WHERE id = $2").bind(now_millis()).bind(router.to_string()).execute(&mut **tx).await?;
    Ok(row)
}

impl Store {
    pub async fn create_router(&self, router: &Router) -> Result<RouterRow, StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO routers (id, name, project_id, is_global, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(router.id.to_string())
            .bind(router.name.to_string())
            .bind(router.project_id.to_string())
            .bind(i32::from(router.global))
            .bind(millis(router.created_at))
            .bind(millis(router.updated_at))
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::on_insert("router", router.name.as_str()))?;
        w.tx.commit().await?;
        Ok(RouterRow { router: router.clone(), interfaces: Vec::new() })
    }

    /// The router `key` (id or name) as `scope` sees it, with its interfaces.
    pub async fn router(&self, scope: Scope, key: &str) -> Result<RouterRow, StoreError> {
        let router = decode_router(&self.find_one("router", "routers", Some(scope), key).await?)?;
        self.with_interfaces(router).await
    }

    async fn with_interfaces(&self, router: Router) -> Result<RouterRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let interfaces = interfaces_of(&mut tx, router.id).await?;
        tx.commit().await?;
        Ok(RouterRow { router, interfaces })
    }

    pub async fn list_routers(&self, scope: Scope, name: Option<&str>, params: &ListParams) -> Result<Page<RouterRow>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(name) = name {
            f.push(Filter::eq("name", name));
        }
        let page = self.list_page("routers", &f, params, decode_router).await?;
        let mut rows = Vec::with_capacity(page.items.len());
        for router in page.items {
            rows.push(self.with_interfaces(router).await?);
        }
        Ok(Page { items: rows, next: page.next })
    }

    /// Deletes a router; refused (409, naming them) while networks are joined to it.
    pub async fn delete_router(&self, id: RouterId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let router = decode_router(&crate::crud::row_for_update(&mut w.tx, "router", "routers", &id.to_string()).await?)?;
        let interfaces = interfaces_of(&mut w.tx, id).await?;
        if !interfaces.is_empty() {
            let names: Vec<&str> = interfaces.iter().map(|i| i.network.as_str()).collect();
            return Err(StoreError::Conflict(format!(
                "router {} still joins network(s) {}: remove its interfaces first",
                router.name,
                names.join(", ")
            )));
        }
        sqlx::query("DELETE FROM routers WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Joins `network` (named `key` by the caller) to `router`: it needs a subnet (the router
    /// answers on its gateway) and no router yet.
    pub async fn add_router_interface(&self, router: RouterId, network: NetworkId, key: &str) -> Result<RouterRow, StoreError> {
        let mut w = self.begin_write().await?;
        let global = decode_router(&touch(&mut w.tx, router).await?)?.global;
        if global && !crate::networks::is_global(&mut w.tx, network).await? {
            return Err(ValidationError::new(
                "network",
                key,
                "is not a global network: a global router joins global networks only (network create --global)",
            )
            .into());
        }
        let subnets: i64 = sqlx::query("SELECT COUNT(*) FROM subnets WHERE network_id = $1")
            .bind(network.to_string())
            .fetch_one(&mut *w.tx)
            .await?
            .try_get(0)?;
        if subnets == 0 {
            return Err(ValidationError::new("network", key, "has no subnet: a router joins a network through its subnet's gateway").into());
        }
        let joined =
            sqlx::query("SELECT r.id, r.name FROM router_interfaces ri JOIN routers r ON r.id = ri.router_id WHERE ri.network_id = $1")
                .bind(network.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        if let Some(row) = joined {
            let (other, name): (RouterId, String) = (get_id(&row, "id")?, row.try_get("name")?);
            let message = if other == router {
                format!("network {key} is already joined to router {name}")
            } else {
                format!("network {key} is joined to router {name}: a network joins at most one router")
            };
            return Err(StoreError::Conflict(message));
        }
        sqlx::query("INSERT INTO router_interfaces (network_id, router_id, created_at) VALUES ($1, $2, $3)")
            .bind(network.to_string())
            .bind(router.to_string())
            .bind(now_millis())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    StoreError::Conflict(format!("network {key} was joined to a router meanwhile: a network joins at most one router"))
                }
                _ => StoreError::Database(e),
            })?;
        wake_router_hosts(&mut w.tx, router).await?;
        w.tx.commit().await?;
        self.router(Scope::All, &router.to_string()).await
    }

    /// Removes `network`'s interface from `router`; a network the router does not join is a 404.
    pub async fn remove_router_interface(&self, router: RouterId, network: NetworkId, key: &str) -> Result<RouterRow, StoreError> {
        let mut w = self.begin_write().await?;
        touch(&mut w.tx, router).await?;
        wake_router_hosts(&mut w.tx, router).await?;
        let done = sqlx::query("DELETE FROM router_interfaces WHERE router_id = $1 AND network_id = $2")
            .bind(router.to_string())
            .bind(network.to_string())
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "router interface", key: key.to_owned() });
        }
        w.tx.commit().await?;
        self.router(Scope::All, &router.to_string()).await
    }
}
