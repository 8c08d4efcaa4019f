//! Ports: addresses handed out from a network's subnets, never twice. Allocation runs inside a
//! write transaction (on PostgreSQL the network's subnet rows are locked first; SQLite has one
//! writer) and the `(subnet_id, ip)` key backs it; a full default network grows by a subnet.
//! `create_port` calls made at once are written together (`port_creates.rs`). A container's ports
//! follow its spec's networks; an address is released when its port goes (with its container, or
//! deleted).

use crate::codec::{get_bool, get_id, get_opt_id, get_time, millis, now_millis, to_json};
use crate::hosts::bump_revision;
use crate::list::Filter;
use crate::networks::{decode_subnet, default_network, visible_network};
use crate::{Backend, Scope, Store, StoreError, Tx};
use flotilla_core::container::{Container, ContainerStatus};
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::ipam::SubnetPlan;
use flotilla_core::network::{Port, PortStatus, Subnet, mac_for};
use flotilla_core::profile::NetworkRef;
use flotilla_core::{ContainerId, ListParams, NetworkId, Page, PortId, ProjectId, SubnetId, ValidationError};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// A port with what its list shows: its network's name, its container and host, its status.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRow {
    pub port: Port,
    pub network_name: String,
    pub container_name: Option<String>,
    pub host_name: Option<String>,
    pub status: PortStatus,
}

/// Filters of a port list.
#[derive(Debug, Clone, Default)]
pub struct PortFilters {
    pub network: Option<NetworkId>,
    pub container: Option<ContainerId>,
}

/// A container's address on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub network_id: NetworkId,
    pub network_name: String,
    pub ip: Ipv4Addr,
    pub mac: String,
}

fn parse_ip(text: &str) -> Result<Ipv4Addr, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("ip_address = {text:?}")))
}

fn decode_port(row: &AnyRow) -> Result<Port, StoreError> {
    Ok(Port {
        id: get_id(row, "id")?,
        name: row.try_get("name")?,
        project_id: get_id(row, "project_id")?,
        network_id: get_id(row, "network_id")?,
        subnet_id: get_id(row, "subnet_id")?,
        ip: parse_ip(&row.try_get::<String, _>("ip_address")?)?,
        mac: row.try_get("mac")?,
        container_id: get_opt_id(row, "container_id")?,
        created_at: get_time(row, "created_at")?,
    })
}

fn decode_row(row: &AnyRow) -> Result<PortRow, StoreError> {
    let container_status: Option<String> = row.try_get("container_status")?;
    Ok(PortRow {
        port: decode_port(row)?,
        network_name: row.try_get("network_name")?,
        container_name: row.try_get("container_name")?,
        host_name: row.try_get("host_name")?,
        status: PortStatus::of(container_status.as_deref().and_then(ContainerStatus::parse)),
    })
}

/// One subnet as an allocation sees it: its plan, the addresses taken (as far as read), where to
/// look next (and where it looked when read); for a global network, the plan narrowed to the
/// blocks this region holds.
struct SubnetState {
    id: SubnetId,
    plan: SubnetPlan,
    held: Option<SubnetPlan>,
    taken: Taken,
    cursor: Ipv4Addr,
    read_cursor: Ipv4Addr,
}

impl SubnetState {
    fn new(subnet: Subnet, cursor: Ipv4Addr, held: Option<SubnetPlan>) -> Self {
        SubnetState { id: subnet.id, plan: subnet.plan, held, taken: Taken::new(subnet.id), cursor, read_cursor: cursor }
    }
}

/// A network as an allocation sees it: its subnets in the order they were made, and whether it is
/// its project's default network (which grows by another subnet when every one is full).
struct NetworkState {
    project: ProjectId,
    name: String,
    is_default: bool,
    subnets: Vec<SubnetState>,
}

impl NetworkState {
    /// The next free address of the newest subnet that has one (the newest is where growth left
    /// room; older ones still hand out the addresses released in them), with the subnet's index.
    async fn next_free(&mut self, tx: &mut Tx) -> Result<Option<(usize, Ipv4Addr)>, StoreError> {
        for (i, s) in self.subnets.iter_mut().enumerate().rev() {
            let plan = s.held.as_ref().unwrap_or(&s.plan);
            if let Some(ip) = s.taken.next_free(tx, plan, s.cursor).await? {
                return Ok(Some((i, ip)));
            }
        }
        Ok(None)
    }

    /// Why network `network` (named `name`) has no address left: a global network's blocks here
    /// are full, or every address of its subnets is taken (each named).
    fn exhausted(&self, network: NetworkId, name: &str) -> StoreError {
        if self.subnets.iter().any(|s| s.held.is_some()) {
            return StoreError::BlocksExhausted { network, name: name.to_owned() };
        }
        let capacity: usize = self.subnets.iter().map(|s| s.plan.capacity()).sum();
        let cidrs: Vec<String> = self.subnets.iter().map(|s| s.plan.cidr.to_string()).collect();
        let subnets = if cidrs.len() == 1 { "subnet" } else { "subnets" };
        StoreError::Conflict(format!(
            "network {name} has no free address: all {capacity} addresses of {subnets} {} are taken",
            cidrs.join(", ")
        ))
    }
}

/// Addresses read per look at a subnet's taken ones (on the `(subnet_id, ip)` key).
const WINDOW: u32 = 256;

/// A subnet's taken addresses, read a window at a time from where the search is: an allocation
/// reads what lies just past the cursor, not every address of the subnet, so it costs the same
/// in an empty subnet and in a nearly full one.
struct Taken {
    subnet: SubnetId,
    /// The ranges read so far (first and last address, inclusive).
    read: Vec<(u32, u32)>,
    addresses: BTreeSet<u32>,
}

impl Taken {
    fn new(subnet: SubnetId) -> Self {
        Taken { subnet, read: Vec::new(), addresses: BTreeSet::new() }
    }

    /// Reads the taken addresses in `first..=last` that no earlier read covered, a whole window
    /// at least: a search moving one address past what was read reads the next window once, not
    /// a window shifted by one per allocation.
    async fn read(&mut self, tx: &mut Tx, mut first: u32, last: u32) -> Result<(), StoreError> {
        while let Some(&(_, end)) = self.read.iter().find(|(a, b)| *a <= first && first <= *b) {
            if end >= last {
                return Ok(());
            }
            first = end + 1;
        }
        let last = last.max(first.saturating_add(WINDOW - 1));
        let rows = sqlx::query("SELECT ip FROM ports WHERE subnet_id = $1 AND ip >= $2 AND ip <= $3")
            .bind(self.subnet.to_string())
            .bind(i64::from(first))
            .bind(i64::from(last))
            .fetch_all(&mut **tx)
            .await?;
        for row in &rows {
            self.addresses.insert(row.try_get::<i64, _>("ip")? as u32);
        }
        self.read.push((first, last));
        Ok(())
    }

    async fn contains(&mut self, tx: &mut Tx, ip: Ipv4Addr) -> Result<bool, StoreError> {
        let ip = u32::from(ip);
        self.read(tx, ip, ip).await?;
        Ok(self.addresses.contains(&ip))
    }

    fn insert(&mut self, ip: Ipv4Addr) {
        self.addresses.insert(u32::from(ip));
    }

    /// The first address of `plan`'s pools at or after `from` that is free (wrapping around, as
    /// [`SubnetPlan::next_free_from`]), reading the taken ones a window at a time.
    async fn next_free(&mut self, tx: &mut Tx, plan: &SubnetPlan, from: Ipv4Addr) -> Result<Option<Ipv4Addr>, StoreError> {
        for (start, end) in plan.search_order(from) {
            let mut first = start;
            loop {
                let last = end.min(first.saturating_add(WINDOW - 1));
                self.read(tx, first, last).await?;
                let free = (first..=last).find(|a| plan.assignable(Ipv4Addr::from(*a)) && !self.addresses.contains(a));
                if let Some(free) = free {
                    return Ok(Some(Ipv4Addr::from(free)));
                }
                if last == end {
                    break;
                }
                first = last + 1;
            }
        }
        Ok(None)
    }
}

/// Hands out addresses inside one write transaction; each network's subnets are read (and on
/// PostgreSQL locked) once, with the addresses taken in the window at each subnet's cursor, so a
/// batch of placements costs one read per network (and one more per window it moves past). A full default
/// network grows by a subnet carved from the region's pool in the same transaction (every writer
/// of ports holds the placement lock, so one need never carves two).
#[derive(Default)]
pub(crate) struct Allocator {
    networks: HashMap<NetworkId, NetworkState>,
    /// The networks specs' keys named, per project ("" for its default network), as resolved.
    resolved: HashMap<(ProjectId, String), Wanted>,
}

impl Allocator {
    /// Network `network` as allocations see it, read (on PostgreSQL its subnet rows locked) on
    /// first use in the transaction: one statement, the network's name with its subnets.
    async fn network(&mut self, backend: Backend, tx: &mut Tx, network: NetworkId) -> Result<&mut NetworkState, StoreError> {
        if let Entry::Vacant(slot) = self.networks.entry(network) {
            let lock = if backend == Backend::Postgres { " FOR UPDATE OF s" } else { "" };
            // Each subnet with the addresses taken in the window at its cursor (a row each): where
            // its next allocation looks, so it needs no read of its own.
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT s.*, n.name AS network_name, n.is_global, n.is_default, p.ip AS taken
                 FROM subnets s JOIN networks n ON n.id = s.network_id
                 LEFT JOIN ports p ON p.subnet_id = s.id AND p.ip >= s.next_ip AND p.ip < s.next_ip + {WINDOW}
                 WHERE s.network_id = $1 ORDER BY s.created_at, s.id{lock}"
            )))
            .bind(network.to_string())
            .fetch_all(&mut **tx)
            .await?;
            let Some(first) = rows.first() else {
                let name: String = sqlx::query("SELECT name FROM networks WHERE id = $1")
                    .bind(network.to_string())
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound { kind: "network", key: network.to_string() })?
                    .try_get("name")?;
                return Err(StoreError::Conflict(format!("network {name} has no subnet: create one first")));
            };
            let blocks = if get_bool(first, "is_global")? { Some(crate::blocks::blocks_in(tx, network).await?) } else { None };
            let mut subnets: Vec<SubnetState> = Vec::new();
            for row in &rows {
                let id: SubnetId = get_id(row, "id")?;
                if subnets.last().is_none_or(|s| s.id != id) {
                    let subnet = decode_subnet(row)?;
                    let cursor = Ipv4Addr::from(row.try_get::<i64, _>("next_ip")? as u32);
                    let held = blocks.as_ref().map(|blocks| {
                        let cidrs: Vec<_> = blocks.iter().map(|b| b.cidr).collect();
                        subnet.plan.within(&cidrs, blocks.iter().flat_map(|b| b.reserved.iter().copied()))
                    });
                    let mut state = SubnetState::new(subnet, cursor, held);
                    let at = u32::from(cursor);
                    state.taken.read.push((at, at.saturating_add(WINDOW - 1)));
                    subnets.push(state);
                }
                if let Some(taken) = row.try_get::<Option<i64>, _>("taken")? {
                    subnets.last_mut().expect("just pushed").taken.addresses.insert(taken as u32);
                }
            }
            let (project, name) = (get_id(first, "project_id")?, first.try_get("network_name")?);
            slot.insert(NetworkState { project, name, is_default: get_bool(first, "is_default")?, subnets });
        }
        Ok(self.networks.get_mut(&network).expect("just read"))
    }

    /// The name of network `network` (NotFound when there is none; a 409 when it has no subnet),
    /// its subnets read for the allocations that follow.
    pub(crate) async fn network_name(&mut self, backend: Backend, tx: &mut Tx, network: NetworkId) -> Result<String, StoreError> {
        Ok(self.network(backend, tx, network).await?.name.clone())
    }

    /// An address on `network` (named `name` in errors): `fixed` when it is free and assignable in
    /// one of its subnets (errors name `field`), else the next free one; when every subnet is full
    /// a default network grows by another subnet, any other network is a 409 naming its subnets.
    /// On a global network a dynamic address comes from the blocks this region holds
    /// ([`StoreError::BlocksExhausted`] when they are full), and a fixed one must not be reserved
    /// in them (fixed in another region before the block came here).
    pub(crate) async fn allocate(
        &mut self,
        store: &Store,
        tx: &mut Tx,
        (network, name): (NetworkId, &str),
        fixed: Option<(Ipv4Addr, &str)>,
    ) -> Result<(SubnetId, Ipv4Addr), StoreError> {
        let n = self.network(store.backend, tx, network).await?;
        let (at, ip) = match fixed {
            Some((ip, field)) => {
                let Some(at) = n.subnets.iter().position(|s| s.plan.cidr.contains(ip) && s.plan.assignable(ip)) else {
                    let plans: Vec<String> =
                        n.subnets.iter().map(|s| format!("{} (gateway {}, reserved excluded)", s.plan.cidr, s.plan.gateway)).collect();
                    let reason = format!("is not an assignable address of {}", plans.join(" or "));
                    return Err(StoreError::Invalid(ValidationError::new(field, ip, reason)));
                };
                let s = &mut n.subnets[at];
                if s.taken.contains(tx, ip).await? {
                    return Err(StoreError::Conflict(format!("{field} {ip} is already in use on network {name}")));
                }
                if s.held.as_ref().is_some_and(|held| held.reserved.contains(&ip)) {
                    return Err(StoreError::Conflict(format!("{field} {ip} is already in use on global network {name} in another region")));
                }
                (at, ip)
            }
            None => match n.next_free(tx).await? {
                Some(found) => found,
                None if n.is_default => {
                    let subnet = crate::networks::grow_default_network(store, tx, network, n.project).await?;
                    let cursor = Ipv4Addr::from(subnet.plan.cidr.first());
                    n.subnets.push(SubnetState::new(subnet, cursor, None));
                    n.next_free(tx).await?.ok_or_else(|| n.exhausted(network, name))?
                }
                None => return Err(n.exhausted(network, name)),
            },
        };
        let s = &mut n.subnets[at];
        s.taken.insert(ip);
        if fixed.is_none() {
            s.cursor = Ipv4Addr::from(u32::from(ip).saturating_add(1));
        }
        Ok((s.id, ip))
    }

    /// Writes where each subnet's next allocation starts (those whose start moved).
    pub(crate) async fn save(&self, tx: &mut Tx) -> Result<(), StoreError> {
        for s in self.networks.values().flat_map(|n| &n.subnets).filter(|s| s.cursor != s.read_cursor) {
            sqlx::query("UPDATE subnets SET next_ip = $2 WHERE id = $1")
                .bind(s.id.to_string())
                .bind(i64::from(u32::from(s.cursor)))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// Writes port `p` within its project's quota of ports (callers hold the placement lock).
pub(crate) async fn insert_port(tx: &mut Tx, p: &Port) -> Result<(), StoreError> {
    crate::quotas::check_one_more(tx, p.project_id, crate::quotas::Counted::Ports).await?;
    write_port(tx, p).await
}

/// Writes port `p`, its project's quota already checked (placements count ports in their view).
pub(crate) async fn write_port(tx: &mut Tx, p: &Port) -> Result<(), StoreError> {
    write_ports(tx, std::slice::from_ref(p)).await
}

/// Writes `ports`, their projects' quotas already checked: a statement per
/// [`rows_per_statement`](crate::codec::rows_per_statement) of them.
pub(crate) async fn write_ports(tx: &mut Tx, ports: &[Port]) -> Result<(), StoreError> {
    for chunk in ports.chunks(crate::codec::rows_per_statement(tx, 10)) {
        let sql = format!(
            "INSERT INTO ports (id, name, project_id, network_id, subnet_id, ip, ip_address, mac, container_id, created_at) VALUES {}",
            crate::codec::value_rows(chunk.len(), 10)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in chunk {
            query = query
                .bind(p.id.to_string())
                .bind(p.name.clone())
                .bind(p.project_id.to_string())
                .bind(p.network_id.to_string())
                .bind(p.subnet_id.to_string())
                .bind(i64::from(u32::from(p.ip)))
                .bind(p.ip.to_string())
                .bind(p.mac.clone())
                .bind(p.container_id.map(|c| c.to_string()))
                .bind(millis(p.created_at));
        }
        query.execute(&mut **tx).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let ips: Vec<String> = chunk.iter().map(|p| p.ip.to_string()).collect();
                StoreError::Conflict(format!("address {} is already in use", ips.join(" or ")))
            }
            _ => StoreError::Database(e),
        })?;
    }
    Ok(())
}

/// A network a container wants: resolved, with the spec's key for errors.
#[derive(Clone)]
pub(crate) struct Wanted {
    pub(crate) network: NetworkId,
    pub(crate) name: String,
}

/// The networks `c`'s spec names (its project's default network when it names none; none with
/// host networking). An unknown network is a 400 naming `spec.networks[i].network`. Each key is
/// resolved once per `alloc` (a batch of placements names the same networks again and again).
pub(crate) async fn wanted_networks(store: &Store, tx: &mut Tx, alloc: &mut Allocator, c: &Container) -> Result<Vec<Wanted>, StoreError> {
    if c.spec.host_network {
        return Ok(Vec::new());
    }
    if c.spec.networks.is_empty() {
        // The key no spec can hold: a project's default network.
        if let Some(known) = alloc.resolved.get(&(c.project_id, String::new())) {
            return Ok(vec![known.clone()]);
        }
        let network = default_network(store, tx, c.project_id).await?;
        let wanted = Wanted { network: network.id, name: network.name.to_string() };
        alloc.resolved.insert((c.project_id, String::new()), wanted.clone());
        return Ok(vec![wanted]);
    }
    let mut wanted: Vec<Wanted> = Vec::with_capacity(c.spec.networks.len());
    for (i, NetworkRef { network: key }) in c.spec.networks.iter().enumerate() {
        let network = match alloc.resolved.get(&(c.project_id, key.clone())) {
            Some(known) => known.clone(),
            None => {
                let network = visible_network(tx, c.project_id, key).await?.ok_or_else(|| {
                    StoreError::Invalid(ValidationError::new(
                        format!("spec.networks[{i}].network"),
                        key,
                        "no network visible to the project has this id or name",
                    ))
                })?;
                let network = Wanted { network: network.id, name: network.name.to_string() };
                alloc.resolved.insert((c.project_id, key.clone()), network.clone());
                network
            }
        };
        if wanted.iter().any(|w| w.network == network.network) {
            return Err(StoreError::Invalid(ValidationError::new(format!("spec.networks[{i}].network"), key, "is named twice")));
        }
        wanted.push(network);
    }
    Ok(wanted)
}

/// New ports of `container` on each wanted network, addresses allocated (not yet written).
pub(crate) async fn allocate_ports(
    store: &Store,
    tx: &mut Tx,
    alloc: &mut Allocator,
    container: &Container,
    wanted: &[Wanted],
) -> Result<Vec<Port>, StoreError> {
    let mut ports = Vec::with_capacity(wanted.len());
    for w in wanted {
        let (subnet_id, ip) = alloc.allocate(store, tx, (w.network, &w.name), None).await?;
        ports.push(container_port(container, w.network, subnet_id, ip));
    }
    Ok(ports)
}

fn container_port(c: &Container, network: NetworkId, subnet_id: SubnetId, ip: Ipv4Addr) -> Port {
    Port {
        id: PortId::new(),
        name: c.name.to_string(),
        project_id: c.project_id,
        network_id: network,
        subnet_id,
        ip,
        mac: mac_for(ip),
        container_id: Some(c.id),
        created_at: flotilla_core::now(),
    }
}

/// Makes `c`'s ports match its spec's networks: ports on networks it no longer names are deleted
/// (their addresses released), networks it newly names get one.
pub(crate) async fn sync_ports(store: &Store, tx: &mut Tx, c: &Container) -> Result<(), StoreError> {
    let backend = store.backend;
    // The placement lock before any subnet's row: the order every writer of ports keeps.
    crate::placement::lock_placement(backend, tx).await?;
    let mut alloc = Allocator::default();
    let wanted = wanted_networks(store, tx, &mut alloc, c).await?;
    let around = crate::overlay::Around::Containers(&[c.id]);
    crate::overlay::wake_peers(store, tx, around).await?;
    let have: Vec<NetworkId> = sqlx::query("SELECT network_id FROM ports WHERE container_id = $1")
        .bind(c.id.to_string())
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| get_id(r, "network_id"))
        .collect::<Result<_, _>>()?;
    for gone in have.iter().filter(|n| !wanted.iter().any(|w| w.network == **n)) {
        sqlx::query("DELETE FROM ports WHERE container_id = $1 AND network_id = $2")
            .bind(c.id.to_string())
            .bind(gone.to_string())
            .execute(&mut **tx)
            .await?;
    }
    let missing: Vec<Wanted> = wanted.into_iter().filter(|w| !have.contains(&w.network)).collect();
    for port in allocate_ports(store, tx, &mut alloc, c, &missing).await? {
        insert_port(tx, &port).await?;
    }
    alloc.save(tx).await?;
    crate::overlay::wake_peers(store, tx, around).await
}

/// The audit event of reserving or releasing port `p` on network `network` (named by its name,
/// or its address when it has none).
pub(crate) fn port_event(p: &Port, network: &str, action: EventAction) -> Event {
    let name = if p.name.is_empty() { p.ip.to_string() } else { p.name.clone() };
    Event::new(ObjectType::Port, p.id.0, &name, action, END).by(Some(p.project_id), None).meta("network", network).meta("ip", p.ip)
}

impl Store {
    pub async fn port(&self, scope: Scope, id: PortId) -> Result<PortRow, StoreError> {
        decode_row(&self.find_one("port", "port_view", Some(scope), &id.to_string()).await?)
    }

    pub async fn list_ports(&self, scope: Scope, filters: PortFilters, params: &ListParams) -> Result<Page<PortRow>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(network) = filters.network {
            f.push(Filter::eq("network_id", network));
        }
        if let Some(container) = filters.container {
            f.push(Filter::eq("container_id", container));
        }
        self.list_page("port_view", &f, params, decode_row).await
    }

    /// Deletes a reservation; a container's port goes with a disconnect (409 says so).
    pub async fn delete_port(&self, id: PortId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let row = self.find_one("port", "port_view", None, &id.to_string()).await?;
        let port = decode_row(&row)?;
        if let Some(container) = port.container_name {
            return Err(StoreError::Conflict(format!(
                "port {id} is container {container}'s address on network {}: disconnect the container from the network instead",
                port.network_name
            )));
        }
        sqlx::query("DELETE FROM ports WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        self.audit(&mut w.tx, port_event(&port.port, &port.network_name, EventAction::PortDelete)).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The addresses of each of `containers`, in the order they were connected.
    pub async fn addresses(&self, containers: &[ContainerId]) -> Result<HashMap<ContainerId, Vec<Address>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        addresses_on(&mut conn, containers).await
    }

    /// Connects container `id` to `network` (`key` is how the request named it): the network joins
    /// its spec and gets a port (`ip` when given); a running container is connected live.
    pub async fn connect_container(&self, id: ContainerId, network: NetworkId, key: &str, ip: Option<Ipv4Addr>) -> Result<(), StoreError> {
        self.change_networks(
            id,
            |networks, names| {
                if names.contains(&network) {
                    return Err(StoreError::Conflict(format!("container {id} is already connected to network {key}")));
                }
                networks.push(NetworkRef { network: key.to_owned() });
                Ok(())
            },
            ip.map(|ip| (network, ip)),
        )
        .await
    }

    /// Disconnects container `id` from `network`: its port goes, its address is released.
    pub async fn disconnect_container(&self, id: ContainerId, network: NetworkId, key: &str) -> Result<(), StoreError> {
        self.change_networks(
            id,
            |networks, names| {
                let Some(at) = names.iter().position(|n| *n == network) else {
                    return Err(StoreError::Conflict(format!("container {id} is not connected to network {key}")));
                };
                if networks.len() == 1 {
                    return Err(StoreError::Conflict(format!("network {key} is container {id}'s only network: a container keeps one")));
                }
                networks.remove(at);
                Ok(())
            },
            None,
        )
        .await
    }

    /// Rewrites a container's spec networks with `change` (given them and their resolved ids; an
    /// empty spec is first made explicit: the default network), then syncs its ports, a `fixed`
    /// address first, and wakes its host.
    async fn change_networks(
        &self,
        id: ContainerId,
        change: impl FnOnce(&mut Vec<NetworkRef>, &[NetworkId]) -> Result<(), StoreError>,
        fixed: Option<(NetworkId, Ipv4Addr)>,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "container", "containers", &id.to_string()).await?;
        let mut c = crate::containers::decode_container(&row)?;
        crate::placement::lock_placement(self.backend, &mut w.tx).await?;
        if c.spec.host_network {
            return Err(StoreError::Conflict(format!("container {id} uses the host's network: it joins no other")));
        }
        let wanted = wanted_networks(self, &mut w.tx, &mut Allocator::default(), &c).await?;
        if c.spec.networks.is_empty() {
            c.spec.networks = wanted.iter().map(|w| NetworkRef { network: w.name.clone() }).collect();
        }
        let ids: Vec<NetworkId> = wanted.iter().map(|w| w.network).collect();
        change(&mut c.spec.networks, &ids)?;
        if let Some((network, ip)) = fixed {
            let name = c.spec.networks.last().map(|n| n.network.clone()).unwrap_or_default();
            let mut alloc = Allocator::default();
            let (subnet_id, ip) = alloc.allocate(self, &mut w.tx, (network, &name), Some((ip, "ip_address"))).await?;
            insert_port(&mut w.tx, &container_port(&c, network, subnet_id, ip)).await?;
        }
        sync_ports(self, &mut w.tx, &c).await?;
        sqlx::query("UPDATE containers SET spec = $2, updated_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(to_json(&c.spec))
            .bind(now_millis())
            .execute(&mut *w.tx)
            .await?;
        if let Some(host) = c.host_id {
            bump_revision(&mut w.tx, &host.to_string()).await?;
        }
        w.tx.commit().await?;
        Ok(())
    }
}

/// [`Store::addresses`] read on `conn` (inside a transaction: what it wrote too).
pub(crate) async fn addresses_on(
    conn: &mut sqlx::AnyConnection,
    containers: &[ContainerId],
) -> Result<HashMap<ContainerId, Vec<Address>>, StoreError> {
    let mut out: HashMap<ContainerId, Vec<Address>> = HashMap::new();
    for chunk in containers.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT container_id, network_id, network_name, ip_address, mac FROM port_view WHERE container_id IN ({}) ORDER BY created_at, id",
            marks.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id.to_string());
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.entry(get_id(&row, "container_id")?).or_default().push(Address {
                network_id: get_id(&row, "network_id")?,
                network_name: row.try_get("network_name")?,
                ip: parse_ip(&row.try_get::<String, _>("ip_address")?)?,
                mac: row.try_get("mac")?,
            });
        }
    }
    Ok(out)
}
