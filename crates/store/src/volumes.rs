//! Volumes: named storage, the containers mounting each (a volume is not deleted while mounted)
//! and the hosts each was made on (its data stays there until the volume is deleted; a pool
//! volume is on every host of its pool).

use crate::codec::{get_id, get_json, get_name, get_time, metadata_json, millis, to_json};
use crate::hosts::bump_revisions;
use crate::list::Filter;
use crate::{Scope, Store, StoreError, Tx};
use flotilla_core::container::Container;
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::volume::Volume;
use flotilla_core::{HostId, ListParams, Page, ValidationError, VolumeId};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeSet, HashMap};

/// A volume and the names of the containers that mount it.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeRow {
    pub volume: Volume,
    pub mounted_by: Vec<String>,
}

/// A container's mount of a volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub volume: Volume,
    pub target: String,
    pub read_only: bool,
}

pub(crate) fn decode_volume(row: &AnyRow) -> Result<Volume, StoreError> {
    let pool: Option<String> = row.try_get("pool")?;
    Ok(Volume {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        driver: row.try_get("driver")?,
        driver_opts: get_json(row, "driver_opts")?,
        size_mib: row.try_get::<Option<i64>, _>("size_mib")?.map(|s| s as u64),
        pool: pool.filter(|p| !p.is_empty()),
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The volumes `c`'s spec mounts, from its project; an unknown one is a 400 naming
/// `spec.volumes[i].volume`. Answers the mounts and the one host pool they need, if any.
pub(crate) async fn resolve_mounts(tx: &mut Tx, c: &Container) -> Result<(Vec<Mount>, Option<String>), StoreError> {
    let mut mounts = Vec::with_capacity(c.spec.volumes.len());
    let mut pool: Option<String> = None;
    for (i, m) in c.spec.volumes.iter().enumerate() {
        let field = format!("spec.volumes[{i}].volume");
        let column = if crate::codec::is_id(&m.volume) { "id" } else { "name" };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM volumes WHERE {column} = $1 AND project_id = $2")))
            .bind(m.volume.clone())
            .bind(c.project_id.to_string())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::Invalid(ValidationError::new(&field, &m.volume, "no volume of the project has this id or name")))?;
        let volume = decode_volume(&row)?;
        if let Some(p) = &volume.pool {
            match &pool {
                Some(other) if other != p => {
                    return Err(StoreError::Invalid(ValidationError::new(
                        field,
                        &m.volume,
                        format!("lives on host pool {p}, another mount's on {other}: a container runs in one pool"),
                    )));
                }
                _ => pool = Some(p.clone()),
            }
        }
        mounts.push(Mount { volume, target: m.target.clone(), read_only: m.read_only });
    }
    Ok((mounts, pool))
}

/// Records `c`'s mounts (in place of those it had unless it is `new`), and that their volumes now
/// exist on `host`.
pub(crate) async fn insert_mounts(tx: &mut Tx, c: &Container, mounts: &[Mount], new: bool) -> Result<(), StoreError> {
    if !new {
        sqlx::query("DELETE FROM container_volumes WHERE container_id = $1").bind(c.id.to_string()).execute(&mut **tx).await?;
    }
    for m in mounts {
        sqlx::query("INSERT INTO container_volumes (container_id, volume_id, target, read_only) VALUES ($1, $2, $3, $4)")
            .bind(c.id.to_string())
            .bind(m.volume.id.to_string())
            .bind(m.target.clone())
            .bind(i64::from(m.read_only))
            .execute(&mut **tx)
            .await?;
    }
    if let Some(host) = c.host_id {
        record_on_host(tx, host, mounts).await?;
    }
    Ok(())
}

/// Remembers that `mounts`' volumes were made on `host`.
pub(crate) async fn record_on_host(tx: &mut Tx, host: HostId, mounts: &[Mount]) -> Result<(), StoreError> {
    for m in mounts {
        sqlx::query("INSERT INTO host_volumes (host_id, volume_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(host.to_string())
            .bind(m.volume.id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The mounts of container `id`, as recorded.
pub(crate) async fn mounts_of(tx: &mut Tx, id: &str) -> Result<Vec<Mount>, StoreError> {
    let rows = sqlx::query(
        "SELECT v.*, cv.target, cv.read_only FROM container_volumes cv JOIN volumes v ON v.id = cv.volume_id
         WHERE cv.container_id = $1 ORDER BY cv.target",
    )
    .bind(id.to_owned())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok(Mount { volume: decode_volume(r)?, target: r.try_get("target")?, read_only: r.try_get::<i64, _>("read_only")? != 0 }))
        .collect()
}

/// The mounts of every container placed on `host`, by container id, in one read.
pub(crate) async fn mounts_on_host(conn: &mut sqlx::AnyConnection, host: &str) -> Result<HashMap<String, Vec<Mount>>, StoreError> {
    let rows = sqlx::query(
        "SELECT v.*, cv.container_id, cv.target, cv.read_only FROM container_volumes cv JOIN volumes v ON v.id = cv.volume_id
         JOIN containers c ON c.id = cv.container_id WHERE c.host_id = $1 ORDER BY cv.container_id, cv.target",
    )
    .bind(host.to_owned())
    .fetch_all(&mut *conn)
    .await?;
    let mut mounts: HashMap<String, Vec<Mount>> = HashMap::new();
    for r in &rows {
        let mount = Mount { volume: decode_volume(r)?, target: r.try_get("target")?, read_only: r.try_get::<i64, _>("read_only")? != 0 };
        mounts.entry(r.try_get("container_id")?).or_default().push(mount);
    }
    Ok(mounts)
}

/// Wakes the hosts that hold `volume`, or must: those it was made on and those of its pool.
async fn wake_volume_hosts(tx: &mut Tx, volume: &Volume) -> Result<(), StoreError> {
    let mut hosts = BTreeSet::new();
    for row in sqlx::query("SELECT host_id FROM host_volumes WHERE volume_id = $1").bind(volume.id.to_string()).fetch_all(&mut **tx).await?
    {
        hosts.insert(row.try_get::<String, _>("host_id")?);
    }
    if let Some(pool) = &volume.pool {
        for row in sqlx::query("SELECT id FROM hosts WHERE pool = $1").bind(pool.clone()).fetch_all(&mut **tx).await? {
            hosts.insert(row.try_get::<String, _>("id")?);
        }
    }
    bump_revisions(tx, &hosts).await
}

/// The audit event of a change to volume `v`, in its project.
fn volume_event(v: &Volume, action: EventAction) -> Event {
    Event::new(ObjectType::Volume, v.id.0, v.name.as_str(), action, END).by(Some(v.project_id), None)
}

impl Store {
    /// Writes a volume; the hosts of its pool, if any, make it at once.
    pub async fn create_volume(&self, v: &Volume) -> Result<VolumeRow, StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO volumes (id, name, project_id, driver, driver_opts, size_mib, pool, metadata, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(v.id.to_string())
        .bind(v.name.to_string())
        .bind(v.project_id.to_string())
        .bind(v.driver.clone())
        .bind(to_json(&v.driver_opts))
        .bind(v.size_mib.map(|s| s as i64))
        .bind(v.pool.clone())
        .bind(metadata_json(&v.metadata))
        .bind(millis(v.created_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("volume", v.name.as_str()))?;
        self.sync_route(&mut w.tx, v.id.0, v.project_id).await?;
        if v.pool.is_some() {
            wake_volume_hosts(&mut w.tx, v).await?;
        }
        let event = volume_event(v, EventAction::VolumeCreate).meta("driver", &v.driver).meta("pool", v.pool.as_deref().unwrap_or(""));
        self.audit(&mut w.tx, event).await?;
        w.tx.commit().await?;
        self.volume(Scope::All, &v.id.to_string()).await
    }

    pub async fn volume(&self, scope: Scope, key: &str) -> Result<VolumeRow, StoreError> {
        let volume = decode_volume(&self.find_one("volume", "volumes", Some(scope), key).await?)?;
        self.with_mounts(volume).await
    }

    async fn with_mounts(&self, volume: Volume) -> Result<VolumeRow, StoreError> {
        let rows = sqlx::query(
            "SELECT c.name FROM container_volumes cv JOIN containers c ON c.id = cv.container_id WHERE cv.volume_id = $1 ORDER BY c.name",
        )
        .bind(volume.id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mounted_by = rows.iter().map(|r| r.try_get("name")).collect::<Result<_, _>>()?;
        Ok(VolumeRow { volume, mounted_by })
    }

    pub async fn list_volumes(&self, scope: Scope, name: Option<&str>, params: &ListParams) -> Result<Page<VolumeRow>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(name) = name {
            f.push(Filter::eq("name", name));
        }
        let page = self.list_labelled("volumes", "metadata", f, params, decode_volume).await?;
        let mut rows = Vec::with_capacity(page.items.len());
        for volume in page.items {
            rows.push(self.with_mounts(volume).await?);
        }
        Ok(Page { items: rows, next: page.next })
    }

    /// Deletes a volume, refused (409) while a container mounts it; its hosts remove it.
    pub async fn delete_volume(&self, id: VolumeId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "volume", "volumes", &id.to_string()).await?;
        let volume = decode_volume(&row)?;
        let mounted = sqlx::query(
            "SELECT c.name FROM container_volumes cv JOIN containers c ON c.id = cv.container_id WHERE cv.volume_id = $1 ORDER BY c.name",
        )
        .bind(id.to_string())
        .fetch_all(&mut *w.tx)
        .await?;
        if !mounted.is_empty() {
            let names: Vec<String> = mounted.iter().map(|r| r.try_get("name")).collect::<Result<_, _>>()?;
            return Err(StoreError::Conflict(format!(
                "volume {} is mounted by container(s) {}: delete or change them first",
                volume.name,
                names.join(", ")
            )));
        }
        wake_volume_hosts(&mut w.tx, &volume).await?;
        sqlx::query("DELETE FROM host_volumes WHERE volume_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        sqlx::query("DELETE FROM volumes WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        self.sync_route(&mut w.tx, id.0, volume.project_id).await?;
        self.audit(&mut w.tx, volume_event(&volume, EventAction::VolumeDelete)).await?;
        w.tx.commit().await?;
        Ok(())
    }
}
