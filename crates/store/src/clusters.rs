//! Clusters: rows, their exclusive lock (the action holding it), cooldowns, node indexes.

use crate::actions::insert_action;
use crate::codec::{get_id, get_json, get_name, get_time, metadata_json, millis, now_millis, to_json};
use crate::list::Filter;
use crate::{Scope, Store, StoreError, Tx};
use flotilla_core::action::Action;
use flotilla_core::cluster::{Cluster, ClusterConfig, ClusterStatus, MemberCounts};
use flotilla_core::{ActionId, ClusterId, ListParams, Metadata, Name, Page, ProfileId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

/// What a change to a cluster may touch; each `Some` is written.
#[derive(Debug, Clone, Default)]
pub struct ClusterChanges {
    pub name: Option<Name>,
    pub metadata: Option<Metadata>,
    pub timeout: Option<u32>,
    pub profile_id: Option<ProfileId>,
    pub desired_capacity: Option<i64>,
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    pub status: Option<(ClusterStatus, String)>,
    pub cooldown_until: Option<Timestamp>,
}

/// Filters of a cluster list.
#[derive(Debug, Clone, Default)]
pub struct ClusterFilters<'a> {
    pub name: Option<&'a str>,
    pub status: Option<&'a str>,
}

pub(crate) fn decode(row: &AnyRow) -> Result<Cluster, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Cluster {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        profile_id: get_id(row, "profile_id")?,
        desired_capacity: row.try_get("desired_capacity")?,
        min_size: row.try_get("min_size")?,
        max_size: row.try_get("max_size")?,
        timeout: row.try_get::<i64, _>("timeout")? as u32,
        config: get_json::<ClusterConfig>(row, "config")?,
        status: ClusterStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("cluster status = {status:?}")))?,
        status_reason: row.try_get("status_reason")?,
        next_index: row.try_get("next_index")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// `cluster`'s row, locked until `tx` ends; 409 naming the action that holds the cluster's
/// lock, if one does.
pub(crate) async fn lock_free_cluster(tx: &mut Tx, cluster: ClusterId) -> Result<AnyRow, StoreError> {
    let row = crate::crud::row_for_update(tx, "cluster", "clusters", &cluster.to_string()).await?;
    if let Some(holder) = row.try_get::<Option<String>, _>("lock_action")? {
        let name: String = row.try_get("name")?;
        let what = sqlx::query("SELECT kind, status FROM actions WHERE id = $1").bind(holder.clone()).fetch_optional(&mut **tx).await?;
        let what = match what {
            Some(r) => format!("{} ({})", r.try_get::<String, _>("kind")?, r.try_get::<String, _>("status")?),
            None => "an action".to_owned(),
        };
        return Err(StoreError::Locked(format!("cluster {name} is locked by action {holder}, {what}; try again when it ends")));
    }
    Ok(row)
}

/// Takes `cluster`'s lock for `action` inside `tx`, or explains who holds it (409). A scaling
/// action is also refused while the cluster's cooldown runs.
pub(crate) async fn take_cluster_lock(tx: &mut Tx, cluster: ClusterId, action: &Action, respect_cooldown: bool) -> Result<(), StoreError> {
    let row = lock_free_cluster(tx, cluster).await?;
    let name: String = row.try_get("name")?;
    let cooldown_until: i64 = row.try_get("cooldown_until")?;
    if respect_cooldown && cooldown_until > now_millis() {
        let until = chrono::DateTime::from_timestamp_millis(cooldown_until).unwrap_or_default();
        return Err(StoreError::Conflict(format!("cluster {name} is in its scaling cooldown until {}", until.to_rfc3339())));
    }
    let taken = sqlx::query("UPDATE clusters SET lock_action = $2 WHERE id = $1 AND lock_action IS NULL")
        .bind(cluster.to_string())
        .bind(action.id.to_string())
        .execute(&mut **tx)
        .await?;
    if taken.rows_affected() != 1 {
        return Err(StoreError::Locked(format!("cluster {name} was locked by another action; try again")));
    }
    Ok(())
}

impl Store {
    /// Writes a new cluster together with its `CLUSTER_CREATE` action, which holds its lock.
    pub async fn create_cluster(&self, cluster: &Cluster, action: &Action) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO clusters (id, name, project_id, user_id, profile_id, desired_capacity, min_size, max_size, timeout, config, status,
             status_reason, next_index, lock_action, cooldown_until, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15, $16, $17)",
        )
        .bind(cluster.id.to_string())
        .bind(cluster.name.to_string())
        .bind(cluster.project_id.to_string())
        .bind(cluster.user_id.to_string())
        .bind(cluster.profile_id.to_string())
        .bind(cluster.desired_capacity)
        .bind(cluster.min_size)
        .bind(cluster.max_size)
        .bind(cluster.timeout as i64)
        .bind(to_json(&cluster.config))
        .bind(cluster.status.as_str())
        .bind(cluster.status_reason.clone())
        .bind(cluster.next_index)
        .bind(action.id.to_string())
        .bind(metadata_json(&cluster.metadata))
        .bind(millis(cluster.created_at))
        .bind(millis(cluster.updated_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("cluster", cluster.name.as_str()))?;
        insert_action(&mut w.tx, action).await?;
        self.sync_route(&mut w.tx, cluster.id.0, cluster.project_id).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Writes `action` on its cluster, taking the cluster's lock (409 when another action holds
    /// it, or, with `respect_cooldown`, while the scaling cooldown runs).
    pub async fn submit_cluster_action(&self, action: &Action, respect_cooldown: bool) -> Result<(), StoreError> {
        let cluster = action.cluster_id.ok_or_else(|| StoreError::Corrupt(format!("action {} has no cluster", action.id)))?;
        let mut w = self.begin_write().await?;
        take_cluster_lock(&mut w.tx, cluster, action, respect_cooldown).await?;
        insert_action(&mut w.tx, action).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The cluster whose id or name is `key`, seen from `scope`.
    pub async fn cluster(&self, scope: Scope, key: &str) -> Result<Cluster, StoreError> {
        decode(&self.find_one("cluster", "clusters", Some(scope), key).await?)
    }

    /// The action holding `cluster`'s lock, if any.
    pub async fn cluster_lock(&self, cluster: ClusterId) -> Result<Option<ActionId>, StoreError> {
        let row =
            sqlx::query("SELECT lock_action FROM clusters WHERE id = $1").bind(cluster.to_string()).fetch_optional(&self.pool).await?;
        match row {
            Some(row) => crate::codec::get_opt_id(&row, "lock_action"),
            None => Err(StoreError::NotFound { kind: "cluster", key: cluster.to_string() }),
        }
    }

    pub async fn list_clusters(&self, scope: Scope, filters: ClusterFilters<'_>, params: &ListParams) -> Result<Page<Cluster>, StoreError> {
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
        self.list_labelled("clusters", "metadata", f, params, decode).await
    }

    /// Every cluster of the region (the health manager and the autoscaler walk them).
    pub async fn all_clusters(&self) -> Result<Vec<Cluster>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clusters ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(decode).collect()
    }

    pub async fn update_cluster(&self, id: ClusterId, changes: ClusterChanges) -> Result<Cluster, StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "cluster", "clusters", &id.to_string()).await?;
        let mut c = decode(&row)?;
        let mut cooldown_until: i64 = row.try_get("cooldown_until")?;
        if let Some(name) = changes.name {
            c.name = name;
        }
        if let Some(metadata) = changes.metadata {
            c.metadata = metadata;
        }
        if let Some(timeout) = changes.timeout {
            c.timeout = timeout;
        }
        if let Some(profile) = changes.profile_id {
            c.profile_id = profile;
        }
        if let Some(desired) = changes.desired_capacity {
            c.desired_capacity = desired;
        }
        if let Some(min) = changes.min_size {
            c.min_size = min;
        }
        if let Some(max) = changes.max_size {
            c.max_size = max;
        }
        if let Some((status, reason)) = changes.status {
            c.status = status;
            c.status_reason = reason;
        }
        if let Some(until) = changes.cooldown_until {
            cooldown_until = millis(until);
        }
        c.updated_at = flotilla_core::now();
        sqlx::query(
            "UPDATE clusters SET name = $2, metadata = $3, timeout = $4, profile_id = $5, desired_capacity = $6, min_size = $7,
             max_size = $8, status = $9, status_reason = $10, cooldown_until = $11, updated_at = $12 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(c.name.to_string())
        .bind(metadata_json(&c.metadata))
        .bind(c.timeout as i64)
        .bind(c.profile_id.to_string())
        .bind(c.desired_capacity)
        .bind(c.min_size)
        .bind(c.max_size)
        .bind(c.status.as_str())
        .bind(c.status_reason.clone())
        .bind(cooldown_until)
        .bind(millis(c.updated_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("cluster", c.name.as_str()))?;
        w.tx.commit().await?;
        Ok(c)
    }

    /// Reserves `count` node indexes of `cluster`; answers the first. One statement moves the
    /// counter and answers it, so concurrent callers never share an index.
    pub async fn take_node_indexes(&self, cluster: ClusterId, count: i64) -> Result<i64, StoreError> {
        let row = sqlx::query("UPDATE clusters SET next_index = next_index + $2 WHERE id = $1 RETURNING next_index")
            .bind(cluster.to_string())
            .bind(count)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound { kind: "cluster", key: cluster.to_string() })?;
        Ok(row.try_get::<i64, _>("next_index")? - count)
    }

    /// How many of `cluster`'s nodes there are, and how many are ACTIVE.
    pub async fn member_counts(&self, cluster: ClusterId) -> Result<MemberCounts, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total, CAST(COALESCE(SUM(CASE WHEN status = 'ACTIVE' THEN 1 ELSE 0 END), 0) AS BIGINT) AS active
             FROM nodes WHERE cluster_id = $1",
        )
        .bind(cluster.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(MemberCounts { total: row.try_get("total")?, active: row.try_get("active")? })
    }

    /// Deletes a cluster whose nodes are gone (its policies' bindings and receivers go with it).
    pub async fn delete_cluster(&self, id: ClusterId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let left = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM nodes WHERE cluster_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *w.tx)
            .await?
            .try_get::<i64, _>("n")?;
        if left > 0 {
            return Err(StoreError::Conflict(format!("cluster {id} still has {left} nodes")));
        }
        sqlx::query("DELETE FROM cluster_policies WHERE cluster_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        sqlx::query("DELETE FROM receivers WHERE cluster_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        let gone =
            sqlx::query("DELETE FROM clusters WHERE id = $1 RETURNING project_id").bind(id.to_string()).fetch_optional(&mut *w.tx).await?;
        if let Some(gone) = gone {
            self.sync_route(&mut w.tx, id.0, get_id(&gone, "project_id")?).await?;
        }
        w.tx.commit().await?;
        Ok(())
    }
}
