//! Placement inside a write transaction: the region's hosts read once (with what is claimed on
//! each) into the scheduler's `Fleet`, then any number of containers placed against it, each claim
//! applied to its host at once (re-filing that host alone), each quota checked against usage kept
//! up to date, each row written. Many placements in one transaction cost one read of the hosts
//! and one scan per request shape.

use crate::codec::{get_id, get_json};
use crate::hosts::bump_revisions;
use crate::ports::{Allocator, allocate_ports, wanted_networks, write_ports};
use crate::quotas::{quota_in, usage_in};
use crate::tallies;
use crate::volumes::{Mount, insert_mounts, resolve_mounts};
use crate::{Backend, Store, StoreError, Tx};
use flotilla_core::container::{Container, ContainerStatus};
use flotilla_core::network::Port;
use flotilla_core::quota::{Quota, Usage};
use flotilla_core::scheduler::{self, Fleet, HostView, Request, Settings};
use flotilla_core::{ClusterId, ContainerId, HostId, ProjectId, ValidationError};
use sqlx::Row;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

/// Serialises placements region-wide on PostgreSQL (SQLite already has one writer), so two
/// engines never claim the same capacity.
pub(crate) async fn lock_placement(backend: Backend, tx: &mut Tx) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7041)").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Every host as `host_view` shows it, its allocations summed in one pass over the tallies:
/// the view sums them host by host (three lookups per host, 270 ms for 1,000 hosts on PostgreSQL
/// with 20 tally rows each, against 13 ms here), which suits reading one host, not all of them.
const REGION_HOSTS: &str = "SELECT h.*, r.revision, COALESCE(t.cpu_millis, 0) AS alloc_cpu_millis,
    COALESCE(t.memory_mib, 0) AS alloc_memory_mib, COALESCE(t.containers, 0) AS container_count
    FROM hosts h JOIN host_revisions r ON r.host_id = h.id
    LEFT JOIN (SELECT host_id, CAST(SUM(cpu_millis) AS BIGINT) AS cpu_millis, CAST(SUM(memory_mib) AS BIGINT) AS memory_mib,
               CAST(SUM(containers) AS BIGINT) AS containers FROM host_tallies GROUP BY host_id) t ON t.host_id = h.id";

/// The scheduler's view of the region inside one transaction, kept current as it places.
pub(crate) struct RegionView {
    /// Each host's id, by its index in `fleet`.
    ids: Vec<HostId>,
    /// Each host's name, by id.
    names: HashMap<HostId, String>,
    /// The hosts as the scheduler sees them, with each cluster's members per host (read on first use).
    fleet: Fleet,
    /// Per project, its quota and usage (read on first use).
    quotas: HashMap<ProjectId, (Quota, Usage)>,
    /// Hosts whose assignments changed: their agents must wake.
    touched: BTreeSet<HostId>,
    /// The store: where default networks come from (and whether they are routed).
    store: Store,
    /// The addresses handed out so far.
    addresses: Allocator,
    /// The containers placed, their ports and their mounts, not yet written
    /// ([`RegionView::write_placed`]).
    containers: Vec<Container>,
    ports: Vec<Port>,
    mounts: Vec<(Container, Vec<Mount>)>,
}

impl RegionView {
    /// Takes the placement lock and reads every host with what is claimed on it.
    pub(crate) async fn load(store: &Store, tx: &mut Tx) -> Result<Self, StoreError> {
        lock_placement(store.backend, tx).await?;
        let hosts = sqlx::query(REGION_HOSTS).fetch_all(&mut **tx).await?;
        let mut ports: HashMap<String, BTreeSet<(u16, String)>> = HashMap::new();
        // Only the containers that take host ports (a partial index of them, migration 0034).
        for row in sqlx::query("SELECT host_id, host_ports FROM containers WHERE host_id IS NOT NULL AND host_ports != '[]'")
            .fetch_all(&mut **tx)
            .await?
        {
            let host: String = row.try_get("host_id")?;
            let taken: Vec<(u16, String)> = get_json(&row, "host_ports")?;
            ports.entry(host).or_default().extend(taken);
        }
        let mut ids = Vec::with_capacity(hosts.len());
        let mut names = HashMap::with_capacity(hosts.len());
        let mut views = Vec::with_capacity(hosts.len());
        for row in &hosts {
            let host = crate::hosts::decode(row)?;
            ids.push(host.id);
            names.insert(host.id, host.name.clone());
            views.push(HostView {
                state: host.state(),
                host_ports: ports.remove(&host.id.to_string()).unwrap_or_default(),
                name: host.name,
                zone: host.zone,
                pool: host.pool,
                labels: host.labels,
                capacity: host.capacity,
                allocated: host.allocated,
                cpu_utilisation: host.utilisation.cpu_percent / 100.0,
                cluster_members: 0, // the fleet counts members per cluster itself
                containers: host.container_count as u32,
                images: host.images.into_iter().collect(),
            });
        }
        Ok(Self {
            ids,
            names,
            fleet: Fleet::new(views),
            quotas: HashMap::new(),
            touched: BTreeSet::new(),
            store: store.clone(),
            addresses: Allocator::default(),
            containers: Vec::new(),
            ports: Vec::new(),
            mounts: Vec::new(),
        })
    }

    /// The host the scheduler picks for `request`, or why none fits.
    pub(crate) fn choose(&mut self, request: &Request, settings: &Settings) -> Result<HostId, scheduler::NoFit> {
        self.decide(request, settings, None).map(|i| self.ids[i])
    }

    /// The fleet's choice for `request` (the index of its host), told to the store's observer.
    fn decide(&mut self, request: &Request, settings: &Settings, cluster: Option<ClusterId>) -> Result<usize, scheduler::NoFit> {
        let started = std::time::Instant::now();
        let chosen = self.fleet.place(request, settings, cluster);
        if let Some(observer) = &self.store.scheduler_observer {
            match &chosen {
                Ok(_) => observer.placed(started.elapsed()),
                Err(no_fit) => observer.no_fit(no_fit, started.elapsed()),
            }
        }
        chosen
    }

    /// Shows the scheduler how many members of `cluster` each host holds: read once per
    /// transaction, then counted as members are placed.
    async fn count_members(&mut self, tx: &mut Tx, cluster: ClusterId) -> Result<(), StoreError> {
        if self.fleet.knows_members(cluster) {
            return Ok(());
        }
        let rows = sqlx::query(
            "SELECT host_id, CAST(COUNT(*) AS BIGINT) AS n FROM nodes WHERE cluster_id = $1 AND host_id IS NOT NULL GROUP BY host_id",
        )
        .bind(cluster.to_string())
        .fetch_all(&mut **tx)
        .await?;
        let index: HashMap<HostId, usize> = self.ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut counts = HashMap::new();
        for row in &rows {
            if let Some(&at) = index.get(&get_id(row, "host_id")?) {
                counts.insert(at, row.try_get::<i64, _>("n")? as u32);
            }
        }
        self.fleet.set_members(cluster, counts);
        Ok(())
    }

    /// Checks `container`'s project quota, resolves its networks (allocating an address on each)
    /// and volumes (a pool volume pins it to that pool), places it (ERROR with the scheduler's
    /// explanation when nothing fits) and applies its claim to the view; it is written with its
    /// ports and mounts by [`RegionView::write_placed`]. Answers it as it will be written; a
    /// refusal writes nothing.
    pub(crate) async fn place(
        &mut self,
        tx: &mut Tx,
        mut container: Container,
        request: &Request,
        settings: &Settings,
        cluster: Option<ClusterId>,
    ) -> Result<Container, StoreError> {
        let wanted = wanted_networks(&self.store, tx, &mut self.addresses, &container).await?;
        let add = Usage {
            containers: 1,
            cpu_millis: container.spec.cpu_millis(),
            memory_mib: container.spec.memory_mib(),
            ports: wanted.len() as u64,
            ..Default::default()
        };
        let project = container.project_id;
        if let Entry::Vacant(slot) = self.quotas.entry(project) {
            let quota = quota_in(tx, project).await?;
            slot.insert((quota, usage_in(tx, project, true).await?));
        }
        let (quota, used) = self.quotas.get_mut(&project).expect("just read");
        quota.check(used, &add).map_err(StoreError::Quota)?;
        let (mounts, pool) = resolve_mounts(tx, &container).await?;
        let pinned;
        let request = match pool {
            Some(pool) if request.pool.as_ref().is_some_and(|p| *p != pool) => {
                return Err(StoreError::Invalid(ValidationError::new(
                    "spec.volumes",
                    &pool,
                    format!("a mounted volume lives on host pool {pool}, the container asks for {}", request.pool.as_deref().unwrap_or("")),
                )));
            }
            Some(pool) => {
                pinned = Request { pool: Some(pool), ..request.clone() };
                &pinned
            }
            None => request,
        };
        let ports = allocate_ports(&self.store, tx, &mut self.addresses, &container, &wanted).await?;
        if let Some(cluster) = cluster {
            self.count_members(tx, cluster).await?;
        }
        match self.decide(request, settings, cluster) {
            Ok(index) => {
                let host = self.ids[index];
                self.fleet.update(index, |view| {
                    view.allocated.cpu_millis = view.allocated.cpu_millis.saturating_add(add.cpu_millis);
                    view.allocated.memory_mib = view.allocated.memory_mib.saturating_add(add.memory_mib);
                    view.containers += 1;
                    view.host_ports.extend(container.spec.ports.iter().filter_map(|p| p.host.map(|h| (h, p.protocol.clone()))));
                });
                if let Some(cluster) = cluster {
                    self.fleet.add_member(cluster, index);
                }
                container.host_id = Some(host);
                self.touched.insert(host);
            }
            Err(no_fit) => {
                container.host_id = None;
                container.status = ContainerStatus::Error;
                container.status_reason = no_fit.to_string();
            }
        }
        let (_, used) = self.quotas.get_mut(&project).expect("just read");
        used.containers += add.containers;
        used.cpu_millis = used.cpu_millis.saturating_add(add.cpu_millis);
        used.memory_mib = used.memory_mib.saturating_add(add.memory_mib);
        used.ports = used.ports.saturating_add(add.ports);
        self.containers.push(container.clone());
        self.ports.extend(ports);
        if !mounts.is_empty() {
            self.mounts.push((container.clone(), mounts));
        }
        Ok(container)
    }

    /// The name of host `id`, as read with the view.
    pub(crate) fn host_name(&self, id: HostId) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    /// Writes the containers placed so far with their ports and mounts (a statement per many
    /// containers, one per many ports), then wakes the peers of those placed on a host (which read
    /// their ports; a few statements per many containers). Nothing placed later needed them: its host's claims, its quota and its
    /// addresses are counted in the view.
    pub(crate) async fn write_placed(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        let containers = std::mem::take(&mut self.containers);
        crate::containers::insert_all(tx, &containers).await?;
        write_ports(tx, &std::mem::take(&mut self.ports)).await?;
        for (container, mounts) in std::mem::take(&mut self.mounts) {
            insert_mounts(tx, &container, &mounts, true).await?;
        }
        let placed: Vec<ContainerId> = containers.iter().filter(|c| c.host_id.is_some()).map(|c| c.id).collect();
        crate::overlay::wake_peers(&self.store, tx, crate::overlay::Around::Containers(&placed)).await
    }

    /// Writes what was placed, saves where address allocation goes on, and bumps the revision of
    /// every host that got a container, once each, folding the tallies of those whose rows piled
    /// up: the end of a batch of placements.
    pub(crate) async fn finish(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        self.write_placed(tx).await?;
        self.addresses.save(tx).await?;
        let touched: BTreeSet<String> = self.touched.iter().map(ToString::to_string).collect();
        bump_revisions(tx, &touched).await?;
        let touched: Vec<String> = touched.into_iter().collect();
        for host in tallies::HOST_CONTAINERS.piled(tx, &touched).await? {
            tallies::HOST_CONTAINERS.fold(tx, &host).await?;
        }
        Ok(())
    }
}
