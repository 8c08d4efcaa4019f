//! Flotilla's persistence: one `Store` over SQLite or PostgreSQL (sqlx, runtime queries),
//! with each backend's migrations applied on connect. The only crate that knows SQL.

// The integration tests' fixtures, for the unit tests of batched writes (they name this crate).
#[cfg(test)]
extern crate self as flotilla_store;
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;

mod action_ends;
mod actions;
mod blocks;
mod central_link;
mod clusters;
mod codec;
mod containers;
mod crud;
mod error;
mod events;
mod gathered_reads;
mod gauges;
mod global_endpoints;
mod global_routers;
mod group_commit;
mod hosts;
mod idempotency;
mod images;
mod jobs;
mod list;
mod maintenance;
mod names;
mod networks;
mod node_statuses;
mod nodes;
mod observations;
mod overlay;
mod placement;
mod plans;
mod policies;
mod port_creates;
mod ports;
mod profiles;
mod projects;
mod quotas;
mod receivers;
mod regions;
mod remote_members;
mod retention;
mod roles;
mod routers;
mod routes;
mod routings;
mod stamps;
mod tallies;
mod tokens;
mod ui_secrets;
mod users;
mod volumes;

pub use actions::ActionFilters;
pub use blocks::AddressBlock;
pub use central_link::{CentralCredential, VouchedIdentity};
pub use clusters::{ClusterChanges, ClusterFilters};
pub use containers::{
    AssignedContainer, Attachment, ContainerChanges, ContainerFilters, ContainerRow, CreateEvent, HostAssignments, NodePlacement,
};
pub use error::StoreError;
pub use events::EventFilters;
pub use gauges::{RegionCounts, SubnetUse};
pub use global_endpoints::{ENDPOINT_SYNC, GlobalEndpoint, NetworkEndpoints};
pub use global_routers::GlobalRouterRow;
pub use hosts::{Callback, HostHeartbeat, HostRegistration, HostRevision, JoinGrant, JoinProof, Registered};
pub use idempotency::{IdempotencyClaim, IdempotentAnswer};
pub use jobs::{Job, JobFilters, JobStatus};
pub use list::Filter;
pub use maintenance::Migration;
pub use names::NameRecord;
pub use networks::{NetworkRow, SubnetRow};
pub use nodes::{NodeChanges, NodeFilters};
pub use observations::ObservationChanges;
pub use overlay::RemoteEndpoint;
pub use policies::{Binding, Policy};
pub use ports::{Address, PortFilters, PortRow};
pub use profiles::ProfileChanges;
pub use projects::ProjectChanges;
pub use receivers::Receiver;
pub use regions::{RegionJoined, RegionProof, RegionRegistration, RegionRow};
pub use remote_members::{MemberDesire, MemberObservation, NewRemoteMember, PeerRegion, REMOTE_MEMBER, RemoteAddress, RemoteMember};
pub use routers::{HostRouter, RouterInterface, RouterRow};
pub use routes::{Located, ROUTE_SYNC};
pub use routings::{Routing, RoutingFilters};
pub use stamps::ContainerStamp;
pub use tokens::TokenHolder;
pub use ui_secrets::{UiSecret, UiSecretKind};
pub use users::UserChanges;
pub use volumes::{Mount, VolumeRow};

use flotilla_core::network::RegionPool;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Which projects a query may see: one, or (admins only) all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Project(flotilla_core::ProjectId),
    All,
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer: multi-statement writes take this lock instead of failing busy.
    sqlite_writer: Arc<Mutex<()>>,
    /// Where projects' default networks are carved from.
    region_pool: RegionPool,
    /// Notified when a job is queued.
    jobs_waker: Arc<tokio::sync::Notify>,
    /// A federated region's: objects created or deleted queue a job reporting them to the central.
    route_sync: bool,
    /// Who the audit events of this handle's writes name (`None`: Flotilla itself).
    actor: Option<Arc<flotilla_core::audit::Actor>>,
    /// Told of every placement and no-fit (the server's metrics).
    scheduler_observer: Option<Arc<dyn flotilla_core::scheduler::Observer>>,
    /// `create_port` calls waiting to be written together.
    port_creates: Arc<group_commit::Queue<port_creates::PortCreate>>,
    /// `create_container` calls waiting to be written together.
    container_creates: Arc<group_commit::Queue<containers::ContainerCreate>>,
    /// `update_container` calls waiting to be written together.
    container_updates: Arc<group_commit::Queue<containers::ContainerUpdate>>,
    /// `record_events` calls waiting to be written together.
    event_records: Arc<group_commit::Queue<events::EventRecord>>,
    /// `finish_action` calls waiting to be written together.
    action_ends: Arc<group_commit::Queue<action_ends::ActionEnd>>,
    /// `container_now` calls waiting to be read together.
    container_reads: Arc<group_commit::Queue<gathered_reads::PointRead<flotilla_core::container::Container>>>,
    /// `node_now` calls waiting to be read together.
    node_reads: Arc<group_commit::Queue<gathered_reads::PointRead<flotilla_core::node::Node>>>,
    /// `apply_observations` calls waiting to be written together.
    reports: Arc<group_commit::Queue<observations::Report>>,
    /// `set_node_status` calls waiting to be written together.
    node_statuses: Arc<group_commit::Queue<node_statuses::NodeStatusWrite>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// How long a pooled connection sits idle before it is tested (pinged) on its next checkout.
const PING_WHEN_IDLE: Duration = Duration::from_secs(1);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The backend a database URL names: `sqlite:...` or `postgres:...`.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

impl Store {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://...` and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::open(url, true).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to `sqlite://PATH` (created when `create`, else it must exist) or
    /// `postgres://...`, and leaves the schema as it is.
    pub async fn open(url: &str, create: bool) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = backend_of(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode={}", if url.contains('?') { '&' } else { '?' }, if create { "rwc" } else { "rw" })
            }
            _ => url.to_owned(),
        };
        // A connection is tested before use only after it sat idle (where a restarted database
        // leaves it dead): sqlx's default pings it on every checkout, a round trip per statement
        // run outside a transaction (and it pings again on every release, which cannot be turned off).
        let options =
            AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30)).test_before_acquire(false).before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        let options = match backend {
            Backend::Sqlite => options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
                    )
                    .await?;
                    Ok(())
                })
            }),
            // No JIT: its compile time (10–90 ms) is paid by every read of the whole region
            // (`host_view`, costed above `jit_above_cost` at 1,000 hosts) that runs in 20 ms.
            Backend::Postgres => options.max_connections(16).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET jit = off").await?;
                    Ok(())
                })
            }),
        };
        let pool = options.connect(&url).await.map_err(|source| StoreError::Connect { url: redact(&url), source })?;
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            region_pool: RegionPool::default(),
            jobs_waker: Arc::default(),
            route_sync: false,
            actor: None,
            scheduler_observer: None,
            port_creates: Arc::default(),
            container_creates: Arc::default(),
            container_updates: Arc::default(),
            event_records: Arc::default(),
            action_ends: Arc::default(),
            container_reads: Arc::default(),
            node_reads: Arc::default(),
            node_statuses: Arc::default(),
            reports: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store, carving projects' default networks from `pool` (default: [`RegionPool::default`]).
    pub fn with_region_pool(self, pool: RegionPool) -> Self {
        Self { region_pool: pool, ..self }
    }

    /// The store of a federated region: creating or deleting a container, cluster, node, network
    /// or volume queues a [`ROUTE_SYNC`] job in the same transaction, and a change of its
    /// containers on a global network an [`ENDPOINT_SYNC`] job.
    pub fn with_route_sync(self) -> Self {
        Self { route_sync: true, ..self }
    }

    /// The store, telling `observer` of every scheduling decision it makes.
    pub fn with_scheduler_observer(self, observer: Arc<dyn flotilla_core::scheduler::Observer>) -> Self {
        Self { scheduler_observer: Some(observer), ..self }
    }

    /// A handle whose identity, network, volume and quota changes record `actor` in their audit
    /// events (written in the change's transaction).
    pub fn acting(&self, actor: flotilla_core::audit::Actor) -> Self {
        Self { actor: Some(Arc::new(actor)), ..self.clone() }
    }

    /// Where projects' default networks are carved from.
    pub fn region_pool(&self) -> RegionPool {
        self.region_pool
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a transaction that will write. On SQLite it first takes the single-writer lock,
    /// held until the returned guard drops.
    async fn begin_write(&self) -> Result<WriteTx<'_>, StoreError> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Sqlite {
            // Take SQLite's write lock first (a write that changes nothing): a transaction that
            // read first and wrote later would fail with SQLITE_BUSY_SNAPSHOT (517) whenever a
            // single-statement write outside this lock committed in between.
            sqlx::query("DELETE FROM join_tokens WHERE 1 = 0").execute(&mut *tx).await?;
        }
        Ok(WriteTx { tx, _guard: guard })
    }
}

/// A transaction of the pool.
pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

struct WriteTx<'a> {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<tokio::sync::MutexGuard<'a, ()>>,
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Creates an empty database named `name` on the PostgreSQL server of `server_url` and returns
/// its URL. For operators' tooling and tests that need a database of their own.
pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<String, StoreError> {
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(StoreError::Conflict(format!("database name {name:?} must be lowercase letters, digits and '_'")));
    }
    let mut conn =
        sqlx::PgConnection::connect(server_url).await.map_err(|source| StoreError::Connect { url: redact(server_url), source })?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await?;
    let base = server_url.rsplit_once('/').map_or(server_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://a:secret@h:5/db"), "postgres://a:***@h:5/db");
        assert_eq!(super::redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
