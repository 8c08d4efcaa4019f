//! Networks and subnets: creation with the region-wide overlap check, visibility (own and shared
//! networks), deletion refused while ports hold addresses, and each project's default network,
//! carved from the region's pool on first use and grown by another subnet of it when full.

use crate::codec::{get_bool, get_id, get_json, get_name, get_time, metadata_json, millis, to_json};
use crate::list::Filter;
use crate::{Backend, Scope, Store, StoreError, Tx};
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::ipam::{Cidr, Pool, SubnetPlan};
use flotilla_core::network::{DEFAULT_NETWORK, Network, RegionPool, Subnet};
use flotilla_core::overlay::{GLOBAL_VNIS, REGION_VNIS};
use flotilla_core::{ListParams, Metadata, Name, NetworkId, Page, ProjectId, SubnetId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::net::Ipv4Addr;

/// A network with its subnets.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkRow {
    pub network: Network,
    pub subnets: Vec<SubnetRow>,
    /// Its VXLAN id: the region's, or for a global network the central's (the same everywhere).
    pub vni: u32,
}

/// A subnet and how many of its addresses are taken.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetRow {
    pub subnet: Subnet,
    pub used: u64,
}

fn decode_network(row: &AnyRow) -> Result<Network, StoreError> {
    Ok(Network {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        shared: get_bool(row, "shared")?,
        is_default: get_bool(row, "is_default")?,
        global: get_bool(row, "is_global")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn parse_ip(column: &str, text: &str) -> Result<Ipv4Addr, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {text:?}")))
}

pub(crate) fn decode_subnet(row: &AnyRow) -> Result<Subnet, StoreError> {
    let cidr: String = row.try_get("cidr")?;
    let cidr = Cidr::parse("cidr", &cidr).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let gateway: String = row.try_get("gateway")?;
    let pools: Vec<(String, String)> = get_json(row, "pools")?;
    let reserved: Vec<String> = get_json(row, "reserved")?;
    Ok(Subnet {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        network_id: get_id(row, "network_id")?,
        project_id: get_id(row, "project_id")?,
        plan: SubnetPlan {
            cidr,
            gateway: parse_ip("gateway", &gateway)?,
            pools: pools
                .iter()
                .map(|(start, end)| Ok(Pool { start: parse_ip("pools", start)?, end: parse_ip("pools", end)? }))
                .collect::<Result<_, StoreError>>()?,
            reserved: reserved.iter().map(|a| parse_ip("reserved", a)).collect::<Result<_, _>>()?,
        },
        created_at: get_time(row, "created_at")?,
    })
}

/// Serialises changes to the region's address space on PostgreSQL (SQLite has one writer), so two
/// overlapping subnets are never both written.
async fn lock_address_space(backend: Backend, tx: &mut Tx) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7042)").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Writes network `n` within its project's quota of networks, with VNI `vni` (a region's copy of a
/// global network: the central's) or else the next of its range (global networks: the central's
/// range, others the region's).
async fn insert_network(backend: Backend, tx: &mut Tx, n: &Network, vni: Option<u32>) -> Result<(), StoreError> {
    crate::placement::lock_placement(backend, tx).await?;
    crate::quotas::check_one_more(tx, n.project_id, crate::quotas::Counted::Networks).await?;
    let vni = match vni {
        Some(vni) => vni,
        None => crate::overlay::allocate_vni(backend, tx, if n.global { GLOBAL_VNIS } else { REGION_VNIS }).await?,
    };
    sqlx::query(
        "INSERT INTO networks (id, name, project_id, shared, is_default, is_global, metadata, created_at, updated_at, vni)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(n.id.to_string())
    .bind(n.name.to_string())
    .bind(n.project_id.to_string())
    .bind(i64::from(n.shared))
    .bind(i64::from(n.is_default))
    .bind(i64::from(n.global))
    .bind(metadata_json(&n.metadata))
    .bind(millis(n.created_at))
    .bind(millis(n.updated_at))
    .bind(i64::from(vni))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::on_insert("network", n.name.as_str()))?;
    Ok(())
}

/// Writes `s` after checking its network has no subnet yet and no subnet of the region overlaps it
/// (a user's network has one subnet; only a default network grows more, see [`grow_default_network`]).
async fn insert_subnet(backend: Backend, tx: &mut Tx, s: &Subnet) -> Result<(), StoreError> {
    lock_address_space(backend, tx).await?;
    if let Some(row) =
        sqlx::query("SELECT name, cidr FROM subnets WHERE network_id = $1").bind(s.network_id.to_string()).fetch_optional(&mut **tx).await?
    {
        let (name, cidr): (String, String) = (row.try_get("name")?, row.try_get("cidr")?);
        return Err(StoreError::Conflict(format!("the network already has subnet {name} ({cidr}); a network has one subnet")));
    }
    write_subnet(backend, tx, s).await
}

/// Writes `s` after checking no subnet of the region overlaps it.
async fn write_subnet(backend: Backend, tx: &mut Tx, s: &Subnet) -> Result<(), StoreError> {
    lock_address_space(backend, tx).await?;
    let cidr = s.plan.cidr;
    // The project's own subnet first: only that one may be named (another project's subnet, its
    // id and its CIDR are not the caller's to learn).
    if let Some(row) = sqlx::query(
        "SELECT s.id, s.name, s.cidr, s.project_id, n.name AS network_name FROM subnets s JOIN networks n ON n.id = s.network_id
         WHERE s.first_ip <= $1 AND s.last_ip >= $2 ORDER BY CASE WHEN s.project_id = $3 THEN 0 ELSE 1 END LIMIT 1",
    )
    .bind(i64::from(cidr.last()))
    .bind(i64::from(cidr.first()))
    .bind(s.project_id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    {
        let (id, name, other, network): (String, String, String, String) =
            (row.try_get("id")?, row.try_get("name")?, row.try_get("cidr")?, row.try_get("network_name")?);
        let own = get_id::<ProjectId>(&row, "project_id")? == s.project_id;
        return Err(StoreError::Conflict(if own {
            format!("cidr {cidr} overlaps subnet {name} ({id}, {other}) of network {network}; subnets of a region never overlap")
        } else {
            format!("cidr {cidr} overlaps a subnet you cannot see; subnets of a region never overlap: choose other addresses")
        }));
    }
    let plan = &s.plan;
    let pools: Vec<(String, String)> = plan.pools.iter().map(|p| (p.start.to_string(), p.end.to_string())).collect();
    let reserved: Vec<String> = plan.reserved.iter().map(ToString::to_string).collect();
    sqlx::query(
        "INSERT INTO subnets (id, name, network_id, project_id, cidr, first_ip, last_ip, gateway, pools, reserved, next_ip, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(s.id.to_string())
    .bind(s.name.to_string())
    .bind(s.network_id.to_string())
    .bind(s.project_id.to_string())
    .bind(cidr.to_string())
    .bind(i64::from(cidr.first()))
    .bind(i64::from(cidr.last()))
    .bind(plan.gateway.to_string())
    .bind(to_json(&pools))
    .bind(to_json(&reserved))
    .bind(i64::from(cidr.first()))
    .bind(millis(s.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `network` is a global network (false for an unknown one).
pub(crate) async fn is_global(tx: &mut Tx, network: NetworkId) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT is_global FROM networks WHERE id = $1").bind(network.to_string()).fetch_optional(&mut **tx).await?;
    row.map_or(Ok(false), |r| get_bool(&r, "is_global"))
}

/// The network `key` (id or name) as `project` sees it: its own first, then a shared one.
pub(crate) async fn visible_network(tx: &mut Tx, project: ProjectId, key: &str) -> Result<Option<Network>, StoreError> {
    let column = if crate::codec::is_id(key) { "id" } else { "name" };
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT * FROM networks WHERE {column} = $1 AND (project_id = $2 OR shared = 1)
         ORDER BY CASE WHEN project_id = $2 THEN 0 ELSE 1 END LIMIT 1"
    )))
    .bind(key.to_owned())
    .bind(project.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(decode_network).transpose()
}

/// The project's default network, made on first use with a subnet carved from the store's region
/// pool (and routed like any network made).
/// The audit event of a change to network `n`, in its project.
fn network_event(n: &Network, action: EventAction) -> Event {
    Event::new(ObjectType::Network, n.id.0, n.name.as_str(), action, END).by(Some(n.project_id), None)
}

/// The audit event of a change to subnet `s` (its CIDR and network in the metadata).
fn subnet_event(s: &Subnet, action: EventAction) -> Event {
    Event::new(ObjectType::Subnet, s.id.0, s.name.as_str(), action, END)
        .by(Some(s.project_id), None)
        .meta("cidr", s.plan.cidr)
        .meta("network_id", s.network_id)
}

pub(crate) async fn default_network(store: &Store, tx: &mut Tx, project: ProjectId) -> Result<Network, StoreError> {
    let (backend, pool) = (store.backend, store.region_pool);
    let find = "SELECT * FROM networks WHERE project_id = $1 AND is_default = 1";
    if let Some(row) = sqlx::query(find).bind(project.to_string()).fetch_optional(&mut **tx).await? {
        return decode_network(&row);
    }
    lock_address_space(backend, tx).await?;
    if let Some(row) = sqlx::query(find).bind(project.to_string()).fetch_optional(&mut **tx).await? {
        return decode_network(&row);
    }
    let cidr = carve(backend, tx, pool, "a default network").await?;
    let now = flotilla_core::now();
    let name = Name::parse("name", DEFAULT_NETWORK).expect("a valid name");
    let network = Network {
        id: NetworkId::new(),
        name: name.clone(),
        project_id: project,
        shared: false,
        is_default: true,
        global: false,
        metadata: Metadata::default(),
        created_at: now,
        updated_at: now,
    };
    insert_network(backend, tx, &network, None).await?;
    store.sync_route(tx, network.id.0, project).await?;
    let plan = SubnetPlan::new("", cidr, None, Vec::new(), Default::default()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let subnet = Subnet { id: SubnetId::new(), name, network_id: network.id, project_id: project, plan, created_at: now };
    insert_subnet(backend, tx, &subnet).await?;
    store
        .audit(
            tx,
            network_event(&network, EventAction::NetworkCreate)
                .meta("cidr", cidr)
                .reason("the project's default network, made on first use"),
        )
        .await?;
    Ok(network)
}

/// The first free `/prefix` of the region's pool `pool` (under the address-space lock, held until
/// the transaction ends); a 409 naming the pool and `what` it was for when none is left.
async fn carve(backend: Backend, tx: &mut Tx, pool: RegionPool, what: &str) -> Result<Cidr, StoreError> {
    lock_address_space(backend, tx).await?;
    let taken = sqlx::query("SELECT cidr FROM subnets WHERE first_ip <= $1 AND last_ip >= $2")
        .bind(i64::from(pool.cidr.last()))
        .bind(i64::from(pool.cidr.first()))
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Cidr::parse("cidr", &r.try_get::<String, _>("cidr")?).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    pool.carve(&taken).ok_or_else(|| {
        StoreError::Conflict(format!("the region's network pool {} has no free /{} left for {what}", pool.cidr, pool.prefix))
    })
}

/// Grows default network `network` of `project` by one subnet of the region pool's prefix, carved
/// under the address-space lock in the caller's transaction (the one writing the port that needs
/// it). Its name is the network's with the subnet's number (`default-2`, `default-3`, ...).
pub(crate) async fn grow_default_network(store: &Store, tx: &mut Tx, network: NetworkId, project: ProjectId) -> Result<Subnet, StoreError> {
    let cidr = carve(store.backend, tx, store.region_pool, "another subnet of a full default network").await?;
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM subnets WHERE network_id = $1")
        .bind(network.to_string())
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let name = Name::parse("name", &format!("{DEFAULT_NETWORK}-{}", count + 1)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let plan = SubnetPlan::new("", cidr, None, Vec::new(), Default::default()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let subnet = Subnet { id: SubnetId::new(), name, network_id: network, project_id: project, plan, created_at: flotilla_core::now() };
    write_subnet(store.backend, tx, &subnet).await?;
    store.audit(tx, subnet_event(&subnet, EventAction::SubnetCreate).reason("the default network was full")).await?;
    Ok(subnet)
}

impl Store {
    /// Writes a network, and its first subnet when given, in one transaction.
    pub async fn create_network(&self, network: &Network, subnet: Option<&Subnet>) -> Result<NetworkRow, StoreError> {
        self.write_network(network, subnet, None).await
    }

    /// At a region: writes its copy of global network `network` (and its subnet) under the VNI
    /// `vni` the central gave it, in one transaction.
    pub async fn copy_global_network(&self, network: &Network, subnet: Option<&Subnet>, vni: u32) -> Result<NetworkRow, StoreError> {
        if !GLOBAL_VNIS.contains(vni) {
            let reason = format!("must lie in the central's range {}..={}", GLOBAL_VNIS.first, GLOBAL_VNIS.last);
            return Err(StoreError::Invalid(flotilla_core::ValidationError::new("vni", vni, reason)));
        }
        self.write_network(network, subnet, Some(vni)).await
    }

    async fn write_network(&self, network: &Network, subnet: Option<&Subnet>, vni: Option<u32>) -> Result<NetworkRow, StoreError> {
        let mut w = self.begin_write().await?;
        insert_network(self.backend, &mut w.tx, network, vni).await?;
        self.sync_route(&mut w.tx, network.id.0, network.project_id).await?;
        let mut event = network_event(network, EventAction::NetworkCreate).meta("shared", network.shared).meta("global", network.global);
        if let Some(subnet) = subnet {
            insert_subnet(self.backend, &mut w.tx, subnet).await?;
            event = event.meta("cidr", subnet.plan.cidr);
        }
        self.audit(&mut w.tx, event).await?;
        w.tx.commit().await?;
        self.network(Scope::All, &network.id.to_string()).await
    }

    pub async fn create_subnet(&self, subnet: &Subnet) -> Result<SubnetRow, StoreError> {
        let mut w = self.begin_write().await?;
        insert_subnet(self.backend, &mut w.tx, subnet).await?;
        self.audit(&mut w.tx, subnet_event(subnet, EventAction::SubnetCreate)).await?;
        w.tx.commit().await?;
        self.subnet(Scope::All, subnet.id).await
    }

    /// The network `key` (id or name) as `scope` sees it (a project: its own first, then shared ones).
    pub async fn network(&self, scope: Scope, key: &str) -> Result<NetworkRow, StoreError> {
        let network = match scope {
            Scope::All => decode_network(&self.find_one("network", "networks", None, key).await?)?,
            Scope::Project(project) => {
                let mut tx = self.pool.begin().await?;
                let found = visible_network(&mut tx, project, key).await?;
                tx.commit().await?;
                found.ok_or_else(|| StoreError::NotFound { kind: "network", key: key.to_owned() })?
            }
        };
        self.row_of(network).await
    }

    pub async fn list_networks(&self, scope: Scope, name: Option<&str>, params: &ListParams) -> Result<Page<NetworkRow>, StoreError> {
        let mut filters = Vec::new();
        if let Scope::Project(project) = scope {
            filters.push(Filter::scope("visible_to", project));
        }
        if let Some(name) = name {
            filters.push(Filter::eq("name", name));
        }
        let table = if matches!(scope, Scope::All) { "networks" } else { "network_visibility_view" };
        let page = self.list_labelled(table, "metadata", filters, params, decode_network).await?;
        let mut rows = Vec::with_capacity(page.items.len());
        for network in page.items {
            rows.push(self.row_of(network).await?);
        }
        Ok(Page { items: rows, next: page.next })
    }

    /// `network` with its subnets and VNI.
    async fn row_of(&self, network: Network) -> Result<NetworkRow, StoreError> {
        let vni: i64 = sqlx::query("SELECT vni FROM networks WHERE id = $1")
            .bind(network.id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound { kind: "network", key: network.id.to_string() })?
            .try_get("vni")?;
        let vni = u32::try_from(vni).map_err(|e| StoreError::Corrupt(format!("vni: {e}")))?;
        Ok(NetworkRow { subnets: self.subnets_of(network.id).await?, network, vni })
    }

    async fn subnets_of(&self, network: NetworkId) -> Result<Vec<SubnetRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.*, (SELECT COUNT(*) FROM ports p WHERE p.subnet_id = s.id) AS used FROM subnets s WHERE s.network_id = $1 ORDER BY s.id",
        )
        .bind(network.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(SubnetRow { subnet: decode_subnet(r)?, used: r.try_get::<i64, _>("used")? as u64 })).collect()
    }

    /// The subnet `id`, when `scope` sees its network.
    pub async fn subnet(&self, scope: Scope, id: SubnetId) -> Result<SubnetRow, StoreError> {
        let not_found = || StoreError::NotFound { kind: "subnet", key: id.to_string() };
        let row = sqlx::query("SELECT network_id FROM subnets WHERE id = $1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        let network: NetworkId = get_id(&row.ok_or_else(not_found)?, "network_id")?;
        let network = self.network(scope, &network.to_string()).await.map_err(|_| not_found())?;
        network.subnets.into_iter().find(|s| s.subnet.id == id).ok_or_else(not_found)
    }

    /// Deletes a network and its subnet; refused while any port holds one of its addresses, a
    /// router joins it, or (a global network) regions hold blocks or fixed addresses of it.
    pub async fn delete_network(&self, id: NetworkId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        refuse_while_ports(&mut w.tx, "network_id", &id.to_string(), "network").await?;
        crate::blocks::refuse_while_held(&mut w.tx, id).await?;
        crate::routers::refuse_while_joined(&mut w.tx, id, "the network is not deleted").await?;
        sqlx::query("DELETE FROM subnets WHERE network_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        let gone = sqlx::query("DELETE FROM networks WHERE id = $1 RETURNING project_id, name")
            .bind(id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        let gone = gone.ok_or_else(|| StoreError::NotFound { kind: "network", key: id.to_string() })?;
        let project = get_id(&gone, "project_id")?;
        self.sync_route(&mut w.tx, id.0, project).await?;
        let name: String = gone.try_get("name")?;
        let event = Event::new(ObjectType::Network, id.0, &name, EventAction::NetworkDelete, END).by(Some(project), None);
        self.audit(&mut w.tx, event).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Deletes a subnet; refused while any port holds one of its addresses or a router joins its network.
    pub async fn delete_subnet(&self, id: SubnetId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        refuse_while_ports(&mut w.tx, "subnet_id", &id.to_string(), "subnet").await?;
        if let Some(row) =
            sqlx::query("SELECT network_id FROM subnets WHERE id = $1").bind(id.to_string()).fetch_optional(&mut *w.tx).await?
        {
            crate::routers::refuse_while_joined(&mut w.tx, get_id(&row, "network_id")?, "the subnet is not deleted").await?;
        }
        let gone = sqlx::query("DELETE FROM subnets WHERE id = $1 RETURNING *").bind(id.to_string()).fetch_optional(&mut *w.tx).await?;
        let subnet = decode_subnet(&gone.ok_or_else(|| StoreError::NotFound { kind: "subnet", key: id.to_string() })?)?;
        self.audit(&mut w.tx, subnet_event(&subnet, EventAction::SubnetDelete)).await?;
        w.tx.commit().await?;
        Ok(())
    }
}

/// A 409 naming how many ports (and one holder) a network or subnet still has.
async fn refuse_while_ports(tx: &mut Tx, column: &'static str, id: &str, kind: &str) -> Result<(), StoreError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT ip_address, container_name, (SELECT COUNT(*) FROM ports q WHERE q.{column} = $1) AS n FROM port_view WHERE {column} = $1 LIMIT 1"
    )))
    .bind(id.to_owned())
    .fetch_all(&mut **tx)
    .await?;
    if let Some(row) = rows.first() {
        let (ip, holder, n): (String, Option<String>, i64) =
            (row.try_get("ip_address")?, row.try_get("container_name")?, row.try_get("n")?);
        let holder = holder.map_or_else(|| "a reservation".to_owned(), |c| format!("container {c}"));
        return Err(StoreError::Conflict(format!(
            "the {kind} still has {n} port(s) (e.g. {ip}, held by {holder}): disconnect or delete them first"
        )));
    }
    Ok(())
}
