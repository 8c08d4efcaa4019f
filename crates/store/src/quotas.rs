//! Quotas: per-project limits (a missing row is unlimited) and the usage they are checked against.

use crate::tallies::{self, FOLD_PAST};
use crate::{Store, StoreError};
use flotilla_core::ProjectId;
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::quota::{Quota, QuotaExceeded, Resource, Usage};
use sqlx::Row;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The audit event of setting project `id`'s quota to `q`: every limit in the metadata.
fn quota_event(id: ProjectId, name: &str, q: &Quota) -> Event {
    let limits = [
        ("containers", q.containers),
        ("cpu_millis", q.cpu_millis),
        ("memory_mib", q.memory_mib),
        ("image_bytes", q.image_bytes),
        ("networks", q.networks),
        ("ports", q.ports),
    ];
    let event = Event::new(ObjectType::Quota, id.0, name, EventAction::QuotaUpdate, END).by(Some(id), None);
    limits.into_iter().fold(event, |e, (key, limit)| e.meta(key, limit.map_or_else(|| "unlimited".to_owned(), |l| l.to_string())))
}

fn limit(value: i64) -> Option<u64> {
    u64::try_from(value).ok()
}

fn column(value: Option<u64>) -> i64 {
    value.map_or(-1, |v| v as i64)
}

/// The project's quota, read inside a write so the check and the write that follows are atomic.
pub(crate) async fn quota_in(tx: &mut Tx, project: ProjectId) -> Result<Quota, StoreError> {
    let row = sqlx::query("SELECT * FROM quotas WHERE project_id = $1").bind(project.to_string()).fetch_optional(&mut **tx).await?;
    Ok(match row {
        Some(row) => Quota {
            containers: limit(row.try_get("containers")?),
            cpu_millis: limit(row.try_get("cpu_millis")?),
            memory_mib: limit(row.try_get("memory_mib")?),
            image_bytes: limit(row.try_get("image_bytes")?),
            networks: limit(row.try_get("networks")?),
            ports: limit(row.try_get("ports")?),
        },
        None => Quota::default(),
    })
}

/// What the project holds now. Inside a write holding the placement lock (`writing`), its tallies
/// of containers and of ports are folded when their rows have piled up (placements add rows and
/// fold nothing else); a read leaves them.
pub(crate) async fn usage_in(tx: &mut Tx, project: ProjectId, writing: bool) -> Result<Usage, StoreError> {
    let containers = match container_tally(tx, project).await? {
        (_, tallies) if writing && tallies > FOLD_PAST => fold_container_tally(tx, project).await?,
        (used, _) => used,
    };
    let images = sqlx::query("SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM images WHERE project_id = $1")
        .bind(project.to_string())
        .fetch_one(&mut **tx)
        .await?;
    Ok(Usage {
        image_bytes: images.try_get::<i64, _>("bytes")?.max(0) as u64,
        networks: count_in(tx, Counted::Networks, project).await?.0,
        ports: match count_in(tx, Counted::Ports, project).await? {
            (_, tallies) if writing && tallies > FOLD_PAST => fold_port_tally(tx, project).await?,
            (used, _) => used,
        },
        ..containers
    })
}

/// The project's containers, CPU and memory summed from their tally (migration 0034: a row per
/// container written, resized or deleted since the last fold), and over how many tally rows.
async fn container_tally(tx: &mut Tx, project: ProjectId) -> Result<(Usage, i64), StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(containers), 0) AS BIGINT) AS n, CAST(COALESCE(SUM(cpu_millis), 0) AS BIGINT) AS cpu,
         CAST(COALESCE(SUM(memory_mib), 0) AS BIGINT) AS memory, CAST(COUNT(*) AS BIGINT) AS tallies
         FROM project_tallies WHERE project_id = $1",
    )
    .bind(project.to_string())
    .fetch_one(&mut **tx)
    .await?;
    Ok((container_usage(&row)?, row.try_get("tallies")?))
}

/// The containers, CPU and memory of a tally's sums (`n`, `cpu`, `memory`).
fn container_usage(row: &sqlx::any::AnyRow) -> Result<Usage, StoreError> {
    let get = |c: &str| row.try_get::<i64, _>(c).map(|v| v.max(0) as u64);
    Ok(Usage { containers: get("n")?, cpu_millis: get("cpu")?, memory_mib: get("memory")?, ..Default::default() })
}

/// Folds the project's tally of containers into one row and answers it (callers hold the
/// placement lock).
async fn fold_container_tally(tx: &mut Tx, project: ProjectId) -> Result<Usage, StoreError> {
    let sums = tallies::PROJECT_CONTAINERS.fold(tx, &project.to_string()).await?;
    let get = |i: usize| sums[i].max(0) as u64;
    Ok(Usage { containers: get(0), cpu_millis: get(1), memory_mib: get(2), ..Default::default() })
}

/// How many networks or ports the project holds (its networks counted, its ports summed from
/// their tally, migration 0033: a row per port written or deleted since the last fold, so the
/// cost does not grow with the project's addresses), and over how many tally rows.
async fn count_in(tx: &mut Tx, counted: Counted, project: ProjectId) -> Result<(u64, i64), StoreError> {
    let sql = match counted {
        Counted::Networks => "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(0 AS BIGINT) AS tallies FROM networks WHERE project_id = $1",
        Counted::Ports => {
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, CAST(COUNT(*) AS BIGINT) AS tallies FROM port_tallies WHERE project_id = $1"
        }
    };
    let row = sqlx::query(sql).bind(project.to_string()).fetch_one(&mut **tx).await?;
    Ok((row.try_get::<i64, _>("n")?.max(0) as u64, row.try_get("tallies")?))
}

/// Folds the project's tally of ports into one row and answers it (callers hold the placement
/// lock).
async fn fold_port_tally(tx: &mut Tx, project: ProjectId) -> Result<u64, StoreError> {
    Ok(tallies::PORTS.fold(tx, &project.to_string()).await?[0].max(0) as u64)
}

/// The objects quotas limit by their count of rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counted {
    Networks,
    Ports,
}

/// Refuses one more network or port (address) past the project's quota. Callers hold the
/// placement lock (SQLite: the writer), so the count and the insert after it are atomic across
/// servers; writers of ports take it before locking a subnet's row (placements count their ports
/// in their view instead, under the same lock).
pub(crate) async fn check_one_more(tx: &mut Tx, project: ProjectId, counted: Counted) -> Result<(), StoreError> {
    if let Counted::Ports = counted {
        return port_room(tx, project).await?.take_one();
    }
    let Some(limit) = quota_in(tx, project).await?.networks else { return Ok(()) };
    let (used, _) = count_in(tx, counted, project).await?;
    if used >= limit {
        return Err(StoreError::Quota(QuotaExceeded { resource: Resource::Networks, limit, used, requested: 1 }));
    }
    Ok(())
}

/// A project's quota of ports and the ports it holds, read once inside a write (placement lock
/// held) and counted on as that write adds ports.
pub(crate) struct PortRoom {
    limit: Option<u64>,
    used: u64,
}

impl PortRoom {
    /// Counts one more port, or refuses it past the quota.
    pub(crate) fn take_one(&mut self) -> Result<(), StoreError> {
        if let Some(limit) = self.limit.filter(|limit| self.used >= *limit) {
            return Err(StoreError::Quota(QuotaExceeded { resource: Resource::Ports, limit, used: self.used, requested: 1 }));
        }
        self.used += 1;
        Ok(())
    }

    /// Counts one port fewer: one taken whose address could not be had.
    pub(crate) fn give_back(&mut self) {
        self.used = self.used.saturating_sub(1);
    }
}

/// Project `project`'s [`PortRoom`]: its quota of ports (the default without a quota row) and
/// its tally of ports, in one statement (the tally folded when its rows pile up).
pub(crate) async fn port_room(tx: &mut Tx, project: ProjectId) -> Result<PortRoom, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT ports FROM quotas WHERE project_id = $1) AS quota, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n,
         CAST(COUNT(*) AS BIGINT) AS tallies FROM port_tallies WHERE project_id = $1",
    )
    .bind(project.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let limit = row.try_get::<Option<i64>, _>("quota")?.map_or(Quota::default().ports, limit);
    let used = match row.try_get::<i64, _>("tallies")? {
        tallies if tallies > FOLD_PAST => fold_port_tally(tx, project).await?,
        _ => row.try_get::<i64, _>("n")?.max(0) as u64,
    };
    Ok(PortRoom { limit, used })
}

/// Refuses `add` when it would take `project` past its quota. Callers hold the placement lock
/// (or SQLite's writer), so the check and the write after it are atomic.
pub(crate) async fn check_quota(tx: &mut Tx, project: ProjectId, add: &Usage) -> Result<(), StoreError> {
    let quota = quota_in(tx, project).await?;
    let used = usage_in(tx, project, true).await?;
    quota.check(&used, add).map_err(StoreError::Quota)
}

impl Store {
    /// The project's limits and what it uses.
    pub async fn quota(&self, project: ProjectId) -> Result<(Quota, Usage), StoreError> {
        let mut tx = self.pool.begin().await?;
        let quota = quota_in(&mut tx, project).await?;
        let usage = usage_in(&mut tx, project, false).await?;
        tx.commit().await?;
        Ok((quota, usage))
    }

    pub async fn set_quota(&self, project: ProjectId, quota: Quota) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM quotas WHERE project_id = $1").bind(project.to_string()).execute(&mut *w.tx).await?;
        sqlx::query(
            "INSERT INTO quotas (project_id, containers, cpu_millis, memory_mib, image_bytes, networks, ports)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project.to_string())
        .bind(column(quota.containers))
        .bind(column(quota.cpu_millis))
        .bind(column(quota.memory_mib))
        .bind(column(quota.image_bytes))
        .bind(column(quota.networks))
        .bind(column(quota.ports))
        .execute(&mut *w.tx)
        .await?;
        let name: String = sqlx::query("SELECT name FROM projects WHERE id = $1")
            .bind(project.to_string())
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { kind: "project", key: project.to_string() })?
            .try_get("name")?;
        self.audit(&mut w.tx, quota_event(project, &name, &quota)).await?;
        w.tx.commit().await?;
        Ok(())
    }
}
