//! Nodes: rows, their lock, and the container each one manages.

use crate::actions::{insert_action, insert_actions};
use crate::codec::{get_bool, get_id, get_json, get_name, get_opt_id, get_time, metadata_json, millis};
use crate::list::Filter;
use crate::{Scope, Store, StoreError, Tx};
use flotilla_core::action::Action;
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::{ClusterId, ContainerId, HostId, ListParams, Metadata, Name, NodeId, Page, ProfileId};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// What a change to a node may touch; each `Some` is written.
#[derive(Debug, Clone, Default)]
pub struct NodeChanges {
    pub name: Option<Name>,
    pub metadata: Option<Metadata>,
    pub role: Option<String>,
    pub status: Option<(NodeStatus, String)>,
    pub tainted: Option<bool>,
    /// `Some(None)`: the node leaves its cluster.
    pub cluster: Option<(Option<ClusterId>, i64)>,
    pub profile_id: Option<ProfileId>,
    pub physical: Option<(Option<ContainerId>, Option<HostId>)>,
    /// The region the node's container runs in.
    pub region: Option<String>,
}

/// Filters of a node list.
#[derive(Debug, Clone, Default)]
pub struct NodeFilters<'a> {
    pub name: Option<&'a str>,
    pub status: Option<&'a str>,
    pub cluster: Option<ClusterId>,
}

pub(crate) fn decode(row: &AnyRow) -> Result<Node, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Node {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        cluster_id: get_opt_id(row, "cluster_id")?,
        index: row.try_get("node_index")?,
        role: row.try_get("role")?,
        profile_id: get_id(row, "profile_id")?,
        status: NodeStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("node status = {status:?}")))?,
        status_reason: row.try_get("status_reason")?,
        tainted: get_bool(row, "tainted")?,
        physical_id: get_opt_id(row, "physical_id")?,
        host_id: get_opt_id(row, "host_id")?,
        region: row.try_get("region")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(crate) async fn insert_node(tx: &mut Tx, n: &Node, lock: Option<&Action>) -> Result<(), StoreError> {
    insert_nodes(tx, &[(n, lock)]).await
}

/// Writes `nodes`, each with the action holding its lock if any, a statement per many.
pub(crate) async fn insert_nodes(tx: &mut Tx, nodes: &[(&Node, Option<&Action>)]) -> Result<(), StoreError> {
    const COLUMNS: usize = 18;
    for chunk in nodes.chunks(crate::codec::rows_per_statement(tx, COLUMNS)) {
        let sql = format!(
            "INSERT INTO nodes (id, name, project_id, user_id, cluster_id, node_index, role, profile_id, status, status_reason, tainted,
             physical_id, host_id, region, lock_action, metadata, created_at, updated_at) VALUES {}",
            crate::codec::value_rows(chunk.len(), COLUMNS)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (n, lock) in chunk {
            query = query
                .bind(n.id.to_string())
                .bind(n.name.to_string())
                .bind(n.project_id.to_string())
                .bind(n.user_id.to_string())
                .bind(n.cluster_id.map(|c| c.to_string()))
                .bind(n.index)
                .bind(n.role.clone())
                .bind(n.profile_id.to_string())
                .bind(n.status.as_str())
                .bind(n.status_reason.clone())
                .bind(i64::from(n.tainted))
                .bind(n.physical_id.map(|c| c.to_string()))
                .bind(n.host_id.map(|h| h.to_string()))
                .bind(n.region.clone())
                .bind(lock.map(|a| a.id.to_string()))
                .bind(metadata_json(&n.metadata))
                .bind(millis(n.created_at))
                .bind(millis(n.updated_at));
        }
        let names: Vec<&str> = chunk.iter().map(|(n, _)| n.name.as_str()).collect();
        query.execute(&mut **tx).await.map_err(StoreError::on_insert("node", &names.join(", ")))?;
    }
    Ok(())
}

/// Takes `node`'s lock for `action` inside `tx`, or says which action holds it (409).
pub(crate) async fn take_node_lock(tx: &mut Tx, node: NodeId, action: &Action) -> Result<(), StoreError> {
    let taken = sqlx::query("UPDATE nodes SET lock_action = $2 WHERE id = $1 AND (lock_action IS NULL OR lock_action = $2)")
        .bind(node.to_string())
        .bind(action.id.to_string())
        .execute(&mut **tx)
        .await?;
    if taken.rows_affected() == 1 {
        return Ok(());
    }
    let row = crate::crud::row_for_update(tx, "node", "nodes", &node.to_string()).await?;
    let name: String = row.try_get("name")?;
    let holder: Option<String> = row.try_get("lock_action")?;
    Err(StoreError::Locked(format!("node {name} is locked by action {}; try again when it ends", holder.unwrap_or_default())))
}

/// Takes each node's lock for its action inside `tx` (a lock and an `UPDATE` per many nodes, in
/// node order), or says which action holds the first one held by another (409).
pub(crate) async fn take_node_locks(tx: &mut Tx, locks: &[(NodeId, &Action)]) -> Result<(), StoreError> {
    let mut locks = locks.to_vec();
    locks.sort_by_key(|(node, _)| *node);
    for chunk in locks.chunks(crate::codec::rows_per_statement(tx, 2)) {
        let ids: Vec<String> = chunk.iter().map(|(node, _)| node.to_string()).collect();
        crate::crud::lock_in_order(tx, "nodes", "id", &ids).await?;
        let sql = format!(
            "UPDATE nodes SET lock_action = v.column2 FROM (VALUES {}) AS v
             WHERE nodes.id = v.column1 AND (nodes.lock_action IS NULL OR nodes.lock_action = v.column2)",
            crate::codec::value_rows(chunk.len(), 2)
        );
        let pairs = chunk.iter().zip(&ids).flat_map(|((_, action), id)| [id.clone(), action.id.to_string()]);
        let taken = crate::codec::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), pairs).execute(&mut **tx).await?;
        if taken.rows_affected() < chunk.len() as u64 {
            // One is held by another action, or gone: say which.
            for (node, action) in chunk {
                take_node_lock(tx, *node, action).await?;
            }
        }
    }
    Ok(())
}

/// How many members `cluster` has; with `staying`, only those no NODE_DELETE is removing.
async fn members(tx: &mut Tx, cluster: ClusterId, staying: bool) -> Result<i64, StoreError> {
    let leaving =
        if staying { " AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.id = n.lock_action AND a.kind = 'NODE_DELETE')" } else { "" };
    let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM nodes n WHERE n.cluster_id = $1{leaving}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cluster.to_string()).fetch_one(&mut **tx).await?;
    Ok(row.try_get("n")?)
}

impl Store {
    /// Writes new nodes and the actions creating them (each holding its node's lock), in one
    /// transaction of a few statements per many nodes.
    pub async fn create_nodes(&self, nodes: &[(Node, Action)]) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let locked: Vec<(&Node, Option<&Action>)> = nodes.iter().map(|(node, action)| (node, Some(action))).collect();
        insert_nodes(&mut w.tx, &locked).await?;
        let actions: Vec<&Action> = nodes.iter().map(|(_, action)| action).collect();
        insert_actions(&mut w.tx, &actions).await?;
        for (node, _) in nodes {
            self.sync_route(&mut w.tx, node.id.0, node.project_id).await?;
        }
        w.tx.commit().await?;
        Ok(())
    }

    /// Writes `node`, a new member of its cluster (at the cluster's next index, set here), and
    /// the action creating it, and raises the cluster's desired capacity by one: all in one
    /// transaction under the cluster's row lock, so concurrent creates each count once. 409
    /// while a cluster action holds the cluster, or when it is at its max_size.
    pub async fn create_member_node(&self, node: &mut Node, action: &Action) -> Result<(), StoreError> {
        let cluster = node.cluster_id.ok_or_else(|| StoreError::Corrupt(format!("node {} has no cluster", node.name)))?;
        let mut w = self.begin_write().await?;
        let c = crate::clusters::decode(&crate::clusters::lock_free_cluster(&mut w.tx, cluster).await?)?;
        if c.max_size >= 0 && members(&mut w.tx, cluster, false).await? + 1 > c.max_size {
            return Err(StoreError::Conflict(format!("cluster {} is at its max_size {}", c.name, c.max_size)));
        }
        let row = sqlx::query(
            "UPDATE clusters SET next_index = next_index + 1, desired_capacity = desired_capacity + 1, updated_at = $2 WHERE id = $1
             RETURNING next_index",
        )
        .bind(cluster.to_string())
        .bind(millis(flotilla_core::now()))
        .fetch_one(&mut *w.tx)
        .await?;
        node.index = row.try_get::<i64, _>("next_index")? - 1;
        insert_node(&mut w.tx, node, Some(action)).await?;
        insert_action(&mut w.tx, action).await?;
        self.sync_route(&mut w.tx, node.id.0, node.project_id).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Writes `action` (a NODE_DELETE) on `node`, a cluster member, taking the node's lock, and
    /// lowers the cluster's desired capacity by one (not below its min_size): all in one
    /// transaction under the cluster's row lock, so each node's delete counts once however many
    /// run at once. 409 while a cluster action holds the cluster, when another action holds the
    /// node, or when the members not already being deleted would fall below min_size.
    pub async fn submit_member_delete(&self, node: &Node, action: &Action, reduce_desired: bool) -> Result<(), StoreError> {
        let cluster = node.cluster_id.ok_or_else(|| StoreError::Corrupt(format!("node {} has no cluster", node.name)))?;
        let mut w = self.begin_write().await?;
        let c = crate::clusters::decode(&crate::clusters::lock_free_cluster(&mut w.tx, cluster).await?)?;
        take_node_lock(&mut w.tx, node.id, action).await?;
        let now_in = sqlx::query("SELECT cluster_id FROM nodes WHERE id = $1").bind(node.id.to_string()).fetch_one(&mut *w.tx).await?;
        if get_opt_id::<ClusterId>(&now_in, "cluster_id")? != Some(cluster) {
            return Err(StoreError::Conflict(format!("node {} left cluster {}; try again", node.name, c.name)));
        }
        insert_action(&mut w.tx, action).await?;
        if members(&mut w.tx, cluster, true).await? < c.min_size {
            return Err(StoreError::Conflict(format!(
                "deleting node {} would leave cluster {} below its min_size {}",
                node.name, c.name, c.min_size
            )));
        }
        if reduce_desired {
            sqlx::query("UPDATE clusters SET desired_capacity = $2, updated_at = $3 WHERE id = $1")
                .bind(cluster.to_string())
                .bind((c.desired_capacity - 1).max(c.min_size))
                .bind(millis(flotilla_core::now()))
                .execute(&mut *w.tx)
                .await?;
        }
        w.tx.commit().await?;
        Ok(())
    }

    /// Writes a node that manages an existing container (adopted); no action runs.
    pub async fn adopt_node(&self, node: &Node) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        insert_node(&mut w.tx, node, None).await?;
        self.sync_route(&mut w.tx, node.id.0, node.project_id).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Writes `action` on its node, taking the node's lock (409 when another action holds it).
    pub async fn submit_node_action(&self, node: NodeId, action: &Action) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        take_node_lock(&mut w.tx, node, action).await?;
        insert_action(&mut w.tx, action).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Takes `node`'s lock for the running `action` (which may hold several; they are freed when
    /// it ends); 409 naming the action that holds it.
    pub async fn lock_node(&self, node: NodeId, action: &Action) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        take_node_lock(&mut w.tx, node, action).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The node whose id or name is `key`, seen from `scope`.
    pub async fn node(&self, scope: Scope, key: &str) -> Result<Node, StoreError> {
        decode(&self.find_one("node", "nodes", Some(scope), key).await?)
    }

    /// The node managing `container`, if one does.
    pub async fn node_of_container(&self, container: ContainerId) -> Result<Option<Node>, StoreError> {
        let row = sqlx::query("SELECT * FROM nodes WHERE physical_id = $1").bind(container.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(decode).transpose()
    }

    pub async fn list_nodes(&self, scope: Scope, filters: NodeFilters<'_>, params: &ListParams) -> Result<Page<Node>, StoreError> {
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
        if let Some(cluster) = filters.cluster {
            f.push(Filter::eq("cluster_id", cluster));
        }
        self.list_labelled("nodes", "metadata", f, params, decode).await
    }

    /// Every node of `cluster`, by index.
    pub async fn cluster_nodes(&self, cluster: ClusterId) -> Result<Vec<Node>, StoreError> {
        let rows = sqlx::query("SELECT * FROM nodes WHERE cluster_id = $1 ORDER BY node_index")
            .bind(cluster.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// The nodes whose ids are `ids`, in that order; an unknown id is `NotFound`.
    pub async fn nodes_by_id(&self, ids: &[NodeId]) -> Result<Vec<Node>, StoreError> {
        let found: HashMap<NodeId, Node> = self.nodes_found(ids).await?.into_iter().map(|n| (n.id, n)).collect();
        ids.iter().map(|id| found.get(id).cloned().ok_or_else(|| StoreError::NotFound { kind: "node", key: id.to_string() })).collect()
    }

    /// The nodes of `ids` that exist, in no particular order.
    pub(crate) async fn nodes_found(&self, ids: &[NodeId]) -> Result<Vec<Node>, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        crate::crud::rows_by_id(&self.pool, "nodes", &ids).await?.iter().map(decode).collect()
    }

    pub async fn update_node(&self, id: NodeId, changes: NodeChanges) -> Result<Node, StoreError> {
        let mut w = self.begin_write().await?;
        let mut n = decode(&crate::crud::row_for_update(&mut w.tx, "node", "nodes", &id.to_string()).await?)?;
        if let Some(name) = changes.name {
            n.name = name;
        }
        if let Some(metadata) = changes.metadata {
            n.metadata = metadata;
        }
        if let Some(role) = changes.role {
            n.role = role;
        }
        if let Some((status, reason)) = changes.status {
            n.status = status;
            n.status_reason = reason;
        }
        if let Some(tainted) = changes.tainted {
            n.tainted = tainted;
        }
        if let Some((cluster, index)) = changes.cluster {
            n.cluster_id = cluster;
            n.index = index;
        }
        if let Some(profile) = changes.profile_id {
            n.profile_id = profile;
        }
        if let Some((container, host)) = changes.physical {
            n.physical_id = container;
            n.host_id = host;
        }
        if let Some(region) = changes.region {
            n.region = region;
        }
        n.updated_at = flotilla_core::now();
        sqlx::query(
            "UPDATE nodes SET name = $2, metadata = $3, role = $4, status = $5, status_reason = $6, tainted = $7, cluster_id = $8,
             node_index = $9, profile_id = $10, physical_id = $11, host_id = $12, updated_at = $13, region = $14 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(n.name.to_string())
        .bind(metadata_json(&n.metadata))
        .bind(n.role.clone())
        .bind(n.status.as_str())
        .bind(n.status_reason.clone())
        .bind(i64::from(n.tainted))
        .bind(n.cluster_id.map(|c| c.to_string()))
        .bind(n.index)
        .bind(n.profile_id.to_string())
        .bind(n.physical_id.map(|c| c.to_string()))
        .bind(n.host_id.map(|h| h.to_string()))
        .bind(millis(n.updated_at))
        .bind(n.region.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("node", n.name.as_str()))?;
        w.tx.commit().await?;
        Ok(n)
    }

    /// Forgets a node (its container is the caller's to delete first).
    pub async fn delete_node(&self, id: NodeId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let gone =
            sqlx::query("DELETE FROM nodes WHERE id = $1 RETURNING project_id").bind(id.to_string()).fetch_optional(&mut *w.tx).await?;
        let gone = gone.ok_or_else(|| StoreError::NotFound { kind: "node", key: id.to_string() })?;
        self.sync_route(&mut w.tx, id.0, get_id(&gone, "project_id")?).await?;
        w.tx.commit().await?;
        Ok(())
    }
}
