//! Containers: placement with quota and claims in one transaction, desired-state changes,
//! agents' observations, and the per-host assignment sets.

use crate::codec::{
    bind_all, get_id, get_json, get_name, get_opt_id, get_opt_time, get_time, metadata_json, millis, now_millis, opt_float, to_json,
};
use crate::group_commit::Batched;
use crate::hosts::{bump_revision, bump_revisions};
use crate::list::Filter;
use crate::overlay::{Around, RemoteEndpoint, wake_peers};
use crate::placement::RegionView;
use crate::ports::Address;
use crate::quotas::check_quota;
use crate::routers::HostRouter;
use crate::volumes::Mount;
use crate::{Backend, Scope, Store, StoreError, Tx};
use flotilla_core::container::{Container, ContainerHealth, ContainerStatus, DesiredState};
use flotilla_core::event::Event;
use flotilla_core::profile::ContainerProperties;
use flotilla_core::quota::Usage;
use flotilla_core::scheduler::{Request, Settings};
use flotilla_core::volume::Volume;
use flotilla_core::{ClusterId, ContainerId, HostId, ImageId, ListParams, Metadata, Name, NetworkId, NodeId, Page};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeSet, HashMap};

/// A container with its host's name and address, as lists and shows need them.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRow {
    pub container: Container,
    pub host_name: Option<String>,
    pub host_advertise: Option<String>,
    /// Its addresses on Flotilla networks.
    pub addresses: Vec<Address>,
}

/// What a host must hold (see [`Store::assignments`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostAssignments {
    pub revision: u64,
    pub containers: Vec<AssignedContainer>,
    pub volumes: Vec<Volume>,
    /// The routers joining a network of the host, each with all its networks.
    pub routers: Vec<HostRouter>,
    /// Set when the host has a tunnel address: the remote endpoints of each network it carries
    /// (a network missing from the map has none). `None`: no overlay, the networks stay local.
    pub overlay: Option<HashMap<NetworkId, Vec<RemoteEndpoint>>>,
}

/// A container on a host, with its networks (in the order it joined them), the alias it answers
/// to in its engine's DNS (its name) and its mounts.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedContainer {
    pub container: Container,
    /// Docker's id of the Flotilla image it runs (`container.image_id`'s): what the agent runs.
    pub image_digest: Option<String>,
    pub networks: Vec<Attachment>,
    pub aliases: Vec<String>,
    pub mounts: Vec<Mount>,
}

/// A container's place on a network, as its host's runtime needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub network_id: NetworkId,
    pub network_name: String,
    pub cidr: String,
    pub gateway: String,
    /// The network's VXLAN id.
    pub vni: u32,
    pub ip: String,
    pub mac: String,
}

/// A new node's container to place (see [`Store::create_node_containers`]).
#[derive(Debug, Clone)]
pub struct NodePlacement {
    pub node: NodeId,
    /// The node's cluster: the scheduler spreads its members.
    pub cluster: Option<ClusterId>,
    pub container: Container,
    pub request: Request,
}

/// What a change to a container may touch; each `Some` is written.
#[derive(Debug, Clone, Default)]
pub struct ContainerChanges {
    pub name: Option<Name>,
    pub cpu: Option<f64>,
    pub memory: Option<u64>,
    pub stop_timeout: Option<u32>,
    pub metadata: Option<Metadata>,
    /// A new spec and its image (rolling updates); the agent replaces the runtime container.
    pub spec: Option<(ContainerProperties, Option<ImageId>)>,
    pub desired: Option<DesiredState>,
    pub status: Option<(ContainerStatus, String)>,
    /// Rebuild: the agent replaces the runtime container.
    pub bump_generation: bool,
}

/// Filters of a container list.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilters<'a> {
    pub name: Option<&'a str>,
    pub status: Option<&'a str>,
    pub host: Option<HostId>,
}

pub(crate) fn decode_container(row: &AnyRow) -> Result<Container, StoreError> {
    let desired: String = row.try_get("desired")?;
    let status: String = row.try_get("status")?;
    let health: String = row.try_get("health")?;
    let health_reason: String = row.try_get("health_reason")?;
    Ok(Container {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        spec: get_json(row, "spec")?,
        image_id: get_opt_id(row, "image_id")?,
        host_id: get_opt_id(row, "host_id")?,
        desired: DesiredState::parse(&desired).ok_or_else(|| StoreError::Corrupt(format!("desired = {desired:?}")))?,
        generation: row.try_get::<i64, _>("generation")? as u64,
        status: ContainerStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status = {status:?}")))?,
        status_reason: row.try_get("status_reason")?,
        runtime_id: row.try_get("runtime_id")?,
        exit_code: row.try_get("exit_code")?,
        health: ContainerHealth::parse(&health, &health_reason).ok_or_else(|| StoreError::Corrupt(format!("health = {health:?}")))?,
        cpu_percent: row.try_get("cpu_percent")?,
        observed_at: get_opt_time(row, "observed_at")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(crate) fn decode(row: &AnyRow) -> Result<ContainerRow, StoreError> {
    Ok(ContainerRow {
        container: decode_container(row)?,
        host_name: row.try_get("host_name")?,
        host_advertise: row.try_get("host_advertise")?,
        addresses: Vec::new(),
    })
}

/// The host ports a spec publishes, as the scheduler compares them.
fn host_ports(container: &Container) -> Vec<(u16, String)> {
    container.spec.ports.iter().filter_map(|p| p.host.map(|h| (h, p.protocol.clone()))).collect()
}

/// Deletes the rows of containers `ids`, leaving a tombstone of each for the engine's watch: two
/// statements per many.
pub(crate) async fn delete_rows(tx: &mut Tx, ids: &[ContainerId]) -> Result<(), StoreError> {
    let now = now_millis();
    for chunk in ids.chunks(crate::codec::rows_per_statement(tx, 2)) {
        let keys = || chunk.iter().map(ToString::to_string);
        let sql = format!("DELETE FROM containers WHERE id IN ({})", crate::codec::in_list(chunk.len()));
        bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), keys()).execute(&mut **tx).await?;
        let sql = format!(
            "INSERT INTO container_tombstones (id, deleted_at) VALUES {} ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at",
            crate::codec::value_rows(chunk.len(), 2)
        );
        keys().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(id).bind(now)).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A placement's error as the answer for its one container when it refuses that container
/// (quota, bad input, conflict, no addresses left), else the error of the whole batch.
pub(crate) fn refusal(e: StoreError) -> Result<StoreError, StoreError> {
    match e {
        refused @ (StoreError::Quota(_) | StoreError::Invalid(_) | StoreError::Conflict(_) | StoreError::BlocksExhausted { .. }) => {
            Ok(refused)
        }
        e => Err(e),
    }
}

/// The event a create writes with its container: made from the container as placed and the name
/// of its host (`None`: no host fits).
pub type CreateEvent = Box<dyn Fn(&Container, Option<&str>) -> Event + Send + Sync>;

/// One `create_container` call, written with the others made at once.
pub(crate) struct ContainerCreate {
    store: Store,
    container: Container,
    request: Request,
    settings: Settings,
    event: Option<CreateEvent>,
}

impl Batched for ContainerCreate {
    type Answer = Container;
    const WHAT: &'static str = "container create";

    /// Places each request over one view of the region (each sees the claims of those before
    /// it); a refused one (quota, volumes) is answered its error and writes nothing.
    async fn run_together(requests: &[Self]) -> Result<Vec<Result<Container, StoreError>>, StoreError> {
        let store = &requests[0].store;
        let mut w = store.begin_write().await?;
        let mut region = RegionView::load(store, &mut w.tx).await?;
        let mut answers = Vec::with_capacity(requests.len());
        for r in requests {
            answers.push(match region.place(&mut w.tx, r.container.clone(), &r.request, &r.settings, None).await {
                Ok(container) => {
                    store.sync_route(&mut w.tx, container.id.0, container.project_id).await?;
                    Ok(container)
                }
                Err(e) => Err(refusal(e)?),
            });
        }
        // A refused request may have made its project's default network here: nothing of it is
        // kept. Alone, it is answered and rolled back; among others, they are all written again
        // one by one (the transaction's error says so to `group_commit`).
        if answers.iter().any(Result::is_err) {
            return crate::group_commit::refused(answers);
        }
        let events: Vec<Event> = requests
            .iter()
            .zip(&answers)
            .filter_map(|(r, placed)| Some((r.event.as_ref()?, placed.as_ref().ok()?)))
            .map(|(event, c)| event(c, c.host_id.and_then(|host| region.host_name(host))))
            .collect();
        region.finish(&mut w.tx).await?;
        crate::events::insert_all(&mut w.tx, &events).await?;
        w.tx.commit().await?;
        Ok(answers)
    }
}

/// One `update_container` call, written with the others made at once.
pub(crate) struct ContainerUpdate {
    store: Store,
    id: ContainerId,
    changes: ContainerChanges,
    event: Option<Event>,
}

impl Batched for ContainerUpdate {
    type Answer = ();
    const WHAT: &'static str = "container update";

    /// Locks every request's row first, in id order (after the placement lock when one resizes or
    /// respecifies its container: placements take that lock before the rows they write), applies
    /// each in turn (a container named twice sees the first change), then wakes each host once.
    /// A refused one (gone, over quota, a name taken) is answered its error alone; among others,
    /// they are all written again one by one.
    async fn run_together(requests: &[Self]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let store = &requests[0].store;
        let mut w = store.begin_write().await?;
        if requests.iter().any(|r| r.changes.moves_claims()) {
            crate::placement::lock_placement(store.backend, &mut w.tx).await?;
        }
        let ids: BTreeSet<ContainerId> = requests.iter().map(|r| r.id).collect();
        let ids: Vec<ContainerId> = ids.into_iter().collect();
        let mut rows: HashMap<ContainerId, Container> = lock_containers(&mut w.tx, &ids).await?.into_iter().map(|c| (c.id, c)).collect();
        let mut woken = BTreeSet::new();
        let mut answers = Vec::with_capacity(requests.len());
        for r in requests {
            let Some(c) = rows.get_mut(&r.id) else {
                answers.push(Err(StoreError::NotFound { kind: "container", key: r.id.to_string() }));
                continue;
            };
            answers.push(match apply_changes(store, &mut w.tx, c, r.changes.clone()).await {
                Ok(wakes_host) => {
                    woken.extend(c.host_id.filter(|_| wakes_host));
                    Ok(())
                }
                Err(e) => Err(e),
            });
        }
        if answers.iter().any(Result::is_err) {
            return crate::group_commit::refused(answers);
        }
        bump_revisions(&mut w.tx, &woken.iter().map(ToString::to_string).collect()).await?;
        let events: Vec<Event> = requests.iter().filter_map(|r| r.event.clone()).collect();
        crate::events::insert_all(&mut w.tx, &events).await?;
        w.tx.commit().await?;
        Ok(answers)
    }
}

impl ContainerChanges {
    /// Whether these changes move the container's claims or addresses (a resize, a new spec):
    /// written under the placement lock, as placements are.
    fn moves_claims(&self) -> bool {
        self.cpu.is_some() || self.memory.is_some() || self.spec.is_some()
    }

    /// Whether these change what the container's host must run (its agent is woken).
    fn wakes_host(&self, c: &Container) -> bool {
        self.desired.is_some_and(|d| d != c.desired)
            || self.bump_generation
            || self.cpu.is_some()
            || self.memory.is_some()
            || self.stop_timeout.is_some()
            || self.spec.is_some()
    }
}

/// Applies `changes` to `c` (its row locked in `tx`) and writes it; answers whether its host must
/// be woken.
async fn apply_changes(store: &Store, tx: &mut Tx, c: &mut Container, changes: ContainerChanges) -> Result<bool, StoreError> {
    let wakes_host = changes.wakes_host(c);
    let spec_changed = changes.spec.is_some();
    if changes.cpu.is_some() || changes.memory.is_some() {
        let resized = ContainerProperties { cpu: changes.cpu.or(c.spec.cpu), memory: changes.memory.or(c.spec.memory), ..c.spec.clone() };
        let add = Usage {
            containers: 0,
            cpu_millis: resized.cpu_millis().saturating_sub(c.spec.cpu_millis()),
            memory_mib: resized.memory_mib().saturating_sub(c.spec.memory_mib()),
            ..Default::default()
        };
        check_quota(tx, c.project_id, &add).await?;
    }
    if let Some(name) = changes.name {
        c.name = name;
    }
    if let Some(cpu) = changes.cpu {
        c.spec.cpu = Some(cpu);
    }
    if let Some(memory) = changes.memory {
        c.spec.memory = Some(memory);
    }
    if let Some(timeout) = changes.stop_timeout {
        c.spec.stop_timeout = Some(timeout);
    }
    if let Some(metadata) = changes.metadata {
        c.metadata = metadata;
    }
    if let Some(desired) = changes.desired {
        c.desired = desired;
    }
    if let Some((spec, image)) = changes.spec {
        c.spec = spec;
        c.image_id = image;
        c.generation += 1;
        c.health = ContainerHealth::Unknown;
        c.cpu_percent = None;
    }
    if let Some((status, reason)) = changes.status {
        c.status = status;
        c.status_reason = reason;
    }
    if changes.bump_generation {
        // A new runtime container: nothing is known of its health or use yet.
        c.generation += 1;
        c.health = ContainerHealth::Unknown;
        c.cpu_percent = None;
    }
    c.updated_at = flotilla_core::now();
    sqlx::query(
        "UPDATE containers SET name = $2, spec = $3, cpu_millis = $4, memory_mib = $5, desired = $6, generation = $7, status = $8,
         status_reason = $9, metadata = $10, updated_at = $11, health = $12, health_reason = $13, cpu_percent = NULLIF($14, -1),
         image = $15, image_id = $16, host_ports = $17 WHERE id = $1",
    )
    .bind(c.id.to_string())
    .bind(c.name.to_string())
    .bind(to_json(&c.spec))
    .bind(c.spec.cpu_millis() as i64)
    .bind(c.spec.memory_mib() as i64)
    .bind(c.desired.as_str())
    .bind(c.generation as i64)
    .bind(c.status.as_str())
    .bind(c.status_reason.clone())
    .bind(metadata_json(&c.metadata))
    .bind(millis(c.updated_at))
    .bind(c.health.as_str())
    .bind(c.health.reason().to_owned())
    .bind(opt_float(c.cpu_percent))
    .bind(flotilla_core::image::normalize_reference(&c.spec.image))
    .bind(c.image_id.map(|i| i.to_string()))
    .bind(to_json(&host_ports(c)))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::on_insert("container", c.name.as_str()))?;
    if spec_changed {
        crate::ports::sync_ports(store, tx, c).await?;
        let (mounts, _) = crate::volumes::resolve_mounts(tx, c).await?;
        crate::volumes::insert_mounts(tx, c, &mounts, false).await?;
    }
    Ok(wakes_host)
}

impl Store {
    /// Writes a new container placed by the scheduler, its quota checked and its host's claim
    /// taken in the same transaction. When no host fits, the container is written in ERROR with
    /// the scheduler's explanation. Creates made at once are written together (`group_commit.rs`:
    /// one read of the region's hosts, one placement lock, one commit).
    pub async fn create_container(&self, container: Container, request: &Request, settings: &Settings) -> Result<ContainerRow, StoreError> {
        self.create_container_recorded(container, request, settings, None).await
    }

    /// [`Store::create_container`], writing `event`'s event (when given) in the same transaction.
    pub async fn create_container_recorded(
        &self,
        container: Container,
        request: &Request,
        settings: &Settings,
        event: Option<CreateEvent>,
    ) -> Result<ContainerRow, StoreError> {
        let id = container.id;
        let create = ContainerCreate { store: self.clone(), container, request: request.clone(), settings: *settings, event };
        self.container_creates.submit(create).await?;
        self.container(Scope::All, &id.to_string()).await
    }

    /// Writes the containers of new nodes, each placed by the scheduler with its quota checked,
    /// and records each on its node (then CREATING), all in one transaction over one read of the region's hosts
    /// (a scale-out of thousands of nodes places them in batches). Answers each container as
    /// written (ERROR when no host fits), or why it was refused (quota).
    pub async fn create_node_containers(
        &self,
        placements: Vec<NodePlacement>,
        settings: &Settings,
    ) -> Result<Vec<Result<Container, StoreError>>, StoreError> {
        let mut w = self.begin_write().await?;
        let mut region = RegionView::load(self, &mut w.tx).await?;
        let mut answers = Vec::with_capacity(placements.len());
        let mut on_nodes = Vec::with_capacity(placements.len());
        for p in placements {
            match region.place(&mut w.tx, p.container, &p.request, settings, p.cluster).await {
                Ok(container) => {
                    self.sync_route(&mut w.tx, container.id.0, container.project_id).await?;
                    on_nodes.push((p.node, container.id, container.host_id));
                    answers.push(Ok(container));
                }
                Err(e) => answers.push(Err(refusal(e)?)),
            }
        }
        record_on_nodes(&mut w.tx, &on_nodes).await?;
        region.finish(&mut w.tx).await?;
        w.tx.commit().await?;
        Ok(answers)
    }

    /// The containers deleted at `since` (epoch milliseconds) or later, as far as tombstones last.
    pub async fn containers_deleted_since(&self, since: i64) -> Result<Vec<ContainerId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM container_tombstones WHERE deleted_at >= $1").bind(since).fetch_all(&self.pool).await?;
        rows.iter().map(|row| get_id(row, "id")).collect()
    }

    /// Forgets the tombstones of containers deleted before `before` (epoch milliseconds).
    pub async fn purge_container_tombstones(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM container_tombstones WHERE deleted_at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// The container whose id or name is `key`, seen from `scope`.
    pub async fn container(&self, scope: Scope, key: &str) -> Result<ContainerRow, StoreError> {
        let row = decode(&self.find_one("container", "container_view", Some(scope), key).await?)?;
        Ok(self.with_addresses(vec![row]).await?.remove(0))
    }

    /// The containers this region runs for the clusters of `home_region` (its hosted members),
    /// in id order.
    pub async fn hosted_member_containers(&self, home_region: &str) -> Result<Vec<ContainerRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.* FROM container_view v JOIN hosted_members m ON m.container_id = v.id WHERE m.home_region = $1 ORDER BY v.id",
        )
        .bind(home_region.to_owned())
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        self.with_addresses(rows).await
    }

    async fn with_addresses(&self, mut rows: Vec<ContainerRow>) -> Result<Vec<ContainerRow>, StoreError> {
        let ids: Vec<ContainerId> = rows.iter().map(|r| r.container.id).collect();
        let mut addresses = self.addresses(&ids).await?;
        for row in &mut rows {
            row.addresses = addresses.remove(&row.container.id).unwrap_or_default();
        }
        Ok(rows)
    }

    pub async fn list_containers(
        &self,
        scope: Scope,
        filters: ContainerFilters<'_>,
        params: &ListParams,
    ) -> Result<Page<ContainerRow>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(name) = filters.name {
            f.push(Filter::eq("name", name));
        }
        if let Some(status) = filters.status {
            f.push(Filter::eq("status", status.to_ascii_uppercase()));
        }
        if let Some(host) = filters.host {
            f.push(Filter::eq("host_id", host));
        }
        let page = self.list_labelled("container_view", "metadata", f, params, decode).await?;
        Ok(Page { items: self.with_addresses(page.items).await?, next: page.next })
    }

    /// Applies `changes`; the container's host is woken when what it must run changed. On SQLite
    /// (one writer), updates made at once are written together (`group_commit.rs`: one
    /// transaction, each host woken once).
    pub async fn update_container(&self, id: ContainerId, changes: ContainerChanges) -> Result<ContainerRow, StoreError> {
        self.update_container_recorded(id, changes, None).await
    }

    /// [`Store::update_container`], writing `event` (when given) in the same transaction.
    pub async fn update_container_recorded(
        &self,
        id: ContainerId,
        changes: ContainerChanges,
        event: Option<Event>,
    ) -> Result<ContainerRow, StoreError> {
        let update = ContainerUpdate { store: self.clone(), id, changes, event };
        match self.backend {
            // PostgreSQL writes updates of different rows side by side: in one batch, each would
            // wait for every row lock the others wait for.
            Backend::Postgres => crate::group_commit::alone(&update).await?,
            Backend::Sqlite => self.container_updates.submit(update).await?,
        }
        self.container(Scope::All, &id.to_string()).await
    }

    /// Forgets a container at once (its host, if it returns, removes what is left).
    pub async fn delete_container(&self, id: ContainerId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "container", "containers", &id.to_string()).await?;
        let host: Option<String> = row.try_get("host_id")?;
        wake_peers(self, &mut w.tx, Around::Containers(&[id])).await?;
        delete_rows(&mut w.tx, &[id]).await?;
        self.sync_route(&mut w.tx, id.0, get_id(&row, "project_id")?).await?;
        if let Some(host) = host {
            bump_revision(&mut w.tx, &host).await?;
        }
        w.tx.commit().await?;
        Ok(())
    }

    /// Moves a container to the host the scheduler picks for `request` (whose `avoid_hosts` holds
    /// the old host), as a new generation, and records the new host on the node managing it, in
    /// the same transaction. Answers the new host, or the scheduler's refusal (the container is kept).
    pub async fn move_container(
        &self,
        id: ContainerId,
        request: &Request,
        settings: &Settings,
    ) -> Result<Result<HostId, String>, StoreError> {
        let mut w = self.begin_write().await?;
        let mut region = RegionView::load(self, &mut w.tx).await?;
        let row = crate::crud::row_for_update(&mut w.tx, "container", "containers", &id.to_string()).await?;
        let old: Option<String> = row.try_get("host_id")?;
        let host = match region.choose(request, settings) {
            Ok(host) => host,
            Err(no_fit) => return Ok(Err(no_fit.to_string())),
        };
        // The old host's peers lose its endpoints (the new host's get them from `sync_ports`).
        wake_peers(self, &mut w.tx, Around::Containers(&[id])).await?;
        sqlx::query(
            "UPDATE containers SET host_id = $2, generation = generation + 1, status = 'CREATING', status_reason = $3, runtime_id = NULL,
             health = '', health_reason = '', cpu_percent = NULL, updated_at = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(host.to_string())
        .bind(format!("moved off host {}", old.as_deref().unwrap_or("(none)")))
        .bind(now_millis())
        .execute(&mut *w.tx)
        .await?;
        // New addresses too (as a rescheduled pod gets): the old copy may still hold the old ones
        // on its host until its agent returns and removes it.
        sqlx::query("DELETE FROM ports WHERE container_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        crate::ports::sync_ports(self, &mut w.tx, &decode_container(&row)?).await?;
        let mounts = crate::volumes::mounts_of(&mut w.tx, &id.to_string()).await?;
        crate::volumes::record_on_host(&mut w.tx, host, &mounts).await?;
        sqlx::query("UPDATE nodes SET host_id = $2, updated_at = $3 WHERE physical_id = $1")
            .bind(id.to_string())
            .bind(host.to_string())
            .bind(now_millis())
            .execute(&mut *w.tx)
            .await?;
        bump_revision(&mut w.tx, &host.to_string()).await?;
        if let Some(old) = old {
            bump_revision(&mut w.tx, &old).await?;
        }
        w.tx.commit().await?;
        Ok(Ok(host))
    }

    /// What `host` must hold, at its revision: the containers placed on it (those being deleted
    /// too: the agent removes them and says so) with their networks and mounts, and the volumes
    /// it keeps without a container (its pool's, and those made there before).
    pub async fn assignments(&self, host: HostId) -> Result<HostAssignments, StoreError> {
        match self.backend {
            // One snapshot for every read of the set.
            Backend::Sqlite => {
                let mut tx = self.pool.begin().await?;
                let assigned = read_assignments(&mut tx, host).await?;
                tx.commit().await?;
                Ok(assigned)
            }
            // Read committed gives each statement a snapshot of its own inside a transaction too:
            // its BEGIN and COMMIT would be two round trips for nothing (a set read per container
            // placed in a scale-out).
            Backend::Postgres => read_assignments(&mut *self.pool.acquire().await?, host).await,
        }
    }

    /// Ids of the containers on `host`, for drains.
    pub async fn containers_on(&self, host: HostId) -> Result<Vec<ContainerId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM containers WHERE host_id = $1 AND desired != 'deleted' ORDER BY id")
            .bind(host.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| get_id(r, "id")).collect()
    }
}

/// What `host` must hold (see [`Store::assignments`]), read on `conn`.
async fn read_assignments(conn: &mut sqlx::AnyConnection, host: HostId) -> Result<HostAssignments, StoreError> {
    let h = host.to_string();
    // What else to read is known up front or from the ports: volumes kept on the host (its
    // pool's, or made there), mounts (a container naming volumes), routers (a routed network).
    let row = sqlx::query(
        "SELECT r.revision, h.tunnel_address, h.pool,
           CASE WHEN EXISTS (SELECT 1 FROM host_volumes hv WHERE hv.host_id = h.id) THEN 1 ELSE 0 END AS keeps_volumes
         FROM hosts h JOIN host_revisions r ON r.host_id = h.id WHERE h.id = $1",
    )
    .bind(h.clone())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound { kind: "host", key: h.clone() })?;
    let revision = row.try_get::<i64, _>("revision")? as u64;
    let tunnel: Option<String> = row.try_get("tunnel_address")?;
    let keeps_volumes = row.try_get::<i64, _>("keeps_volumes")? != 0 || !row.try_get::<String, _>("pool")?.is_empty();
    let rows = sqlx::query(
        "SELECT c.*, i.docker_id AS image_digest FROM containers c LEFT JOIN images i ON i.id = c.image_id
         WHERE c.host_id = $1 ORDER BY c.id",
    )
    .bind(h.clone())
    .fetch_all(&mut *conn)
    .await?;
    let mut containers: Vec<AssignedContainer> = rows
        .iter()
        .map(|r| {
            Ok(AssignedContainer {
                container: decode_container(r)?,
                image_digest: r.try_get("image_digest")?,
                networks: Vec::new(),
                aliases: Vec::new(),
                mounts: Vec::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let index: HashMap<ContainerId, usize> = containers.iter().enumerate().map(|(i, a)| (a.container.id, i)).collect();
    let attachments = sqlx::query(
        "SELECT p.container_id, p.ip_address, p.mac, n.id AS network_id, n.name AS network_name, n.vni, s.cidr, s.gateway,
           CASE WHEN EXISTS (SELECT 1 FROM router_interfaces ri WHERE ri.network_id = n.id) THEN 1 ELSE 0 END AS routed
         FROM ports p JOIN containers c ON c.id = p.container_id JOIN networks n ON n.id = p.network_id
         JOIN subnets s ON s.id = p.subnet_id WHERE c.host_id = $1 ORDER BY p.created_at, p.id",
    )
    .bind(h.clone())
    .fetch_all(&mut *conn)
    .await?;
    let mut routed = false;
    for r in &attachments {
        routed |= r.try_get::<i64, _>("routed")? != 0;
        let Some(&i) = index.get(&get_id(r, "container_id")?) else { continue };
        containers[i].networks.push(Attachment {
            network_id: get_id(r, "network_id")?,
            network_name: r.try_get("network_name")?,
            cidr: r.try_get("cidr")?,
            gateway: r.try_get("gateway")?,
            vni: u32::try_from(r.try_get::<i64, _>("vni")?).map_err(|e| StoreError::Corrupt(format!("vni: {e}")))?,
            ip: r.try_get("ip_address")?,
            mac: r.try_get("mac")?,
        });
    }
    // Only the container's own name: Docker's embedded DNS answers it without asking, so a
    // cluster's name (all its members, on every host) is left to the agent's name server.
    for a in &mut containers {
        a.aliases.push(a.container.name.to_string());
    }
    // Mounts are made from a container's named volumes only (`resolve_mounts`).
    if containers.iter().any(|a| !a.container.spec.volumes.is_empty()) {
        let mut mounts = crate::volumes::mounts_on_host(conn, &h).await?;
        for a in &mut containers {
            a.mounts = mounts.remove(&a.container.id.to_string()).unwrap_or_default();
        }
    }
    let volumes = match keeps_volumes {
        true => sqlx::query(
            "SELECT v.* FROM volumes v WHERE v.id IN (SELECT volume_id FROM host_volumes WHERE host_id = $1)
             OR v.pool = (SELECT pool FROM hosts WHERE id = $1 AND pool != '') ORDER BY v.id",
        )
        .bind(h.clone())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(crate::volumes::decode_volume)
        .collect::<Result<_, _>>()?,
        false => Vec::new(),
    };
    let routers = match routed {
        true => crate::routers::routers_on(conn, host).await?,
        false => Vec::new(),
    };
    let overlay = match tunnel {
        Some(_) => Some(crate::overlay::remote_endpoints(conn, host).await?),
        None => None,
    };
    Ok(HostAssignments { revision, containers, volumes, routers, overlay })
}

/// The containers of `ids` (sorted) that exist, each row locked until `tx` ends (a concurrent
/// writer of it waits, then reads what this one wrote): a statement per many, in id order, so two
/// writers of several never deadlock.
pub(crate) async fn lock_containers(tx: &mut Tx, ids: &[ContainerId]) -> Result<Vec<Container>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::codec::rows_per_statement(tx, 1)) {
        let sql = format!(
            "SELECT * FROM containers WHERE id IN ({}) ORDER BY id{}",
            crate::codec::in_list(chunk.len()),
            crate::crud::lock_clause(tx)
        );
        let query = bind_all(crate::codec::batch_query(sql), chunk.iter().map(ToString::to_string));
        for row in query.fetch_all(&mut **tx).await? {
            found.push(decode_container(&row)?);
        }
    }
    Ok(found)
}

/// Inserts `containers`: a statement per [`rows_per_statement`](crate::codec::rows_per_statement) of
/// them (a name taken names every container of that statement).
pub(crate) async fn insert_all(tx: &mut Tx, containers: &[Container]) -> Result<(), StoreError> {
    // Each column's parameter; cpu_percent's -1 is NULL (`codec::opt_float`).
    let mut columns = ["?"; 24];
    columns[22] = "NULLIF(?, -1)";
    for chunk in containers.chunks(crate::codec::rows_per_statement(tx, columns.len())) {
        let sql = format!(
            "INSERT INTO containers (id, name, project_id, user_id, spec, image, image_id, host_id, cpu_millis, memory_mib, host_ports,
             desired, generation, status, status_reason, runtime_id, exit_code, metadata, created_at, updated_at, health, health_reason,
             cpu_percent, observed_at) VALUES {}",
            crate::codec::value_rows_of(chunk.len(), &columns)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for c in chunk {
            query = query
                .bind(c.id.to_string())
                .bind(c.name.to_string())
                .bind(c.project_id.to_string())
                .bind(c.user_id.to_string())
                .bind(to_json(&c.spec))
                .bind(flotilla_core::image::normalize_reference(&c.spec.image))
                .bind(c.image_id.map(|i| i.to_string()))
                .bind(c.host_id.map(|h| h.to_string()))
                .bind(c.spec.cpu_millis() as i64)
                .bind(c.spec.memory_mib() as i64)
                .bind(to_json(&host_ports(c)))
                .bind(c.desired.as_str())
                .bind(c.generation as i64)
                .bind(c.status.as_str())
                .bind(c.status_reason.clone())
                .bind(c.runtime_id.clone())
                .bind(c.exit_code)
                .bind(metadata_json(&c.metadata))
                .bind(millis(c.created_at))
                .bind(millis(c.updated_at))
                .bind(c.health.as_str())
                .bind(c.health.reason().to_owned())
                .bind(opt_float(c.cpu_percent))
                .bind(c.observed_at.map(millis));
        }
        let names: Vec<&str> = chunk.iter().map(|c| c.name.as_str()).collect();
        query.execute(&mut **tx).await.map_err(StoreError::on_insert("container", &names.join(", ")))?;
    }
    Ok(())
}

/// Records each `(node, container, host)` of `placed`: the node's container, its host, and that
/// it is CREATING; a statement per [`rows_per_statement`](crate::codec::rows_per_statement) of them.
async fn record_on_nodes(tx: &mut Tx, placed: &[(NodeId, ContainerId, Option<HostId>)]) -> Result<(), StoreError> {
    for chunk in placed.chunks(crate::codec::rows_per_statement(tx, 3)) {
        // The rows' parameters after the first, `$1` (the time).
        let rows: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4)).collect();
        let sql = format!(
            "UPDATE nodes SET physical_id = v.column2, host_id = v.column3, status = 'CREATING', updated_at = $1
             FROM (VALUES {}) AS v WHERE nodes.id = v.column1",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_millis());
        for (node, container, host) in chunk {
            query = query.bind(node.to_string()).bind(container.to_string()).bind(host.map(|h| h.to_string()));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
