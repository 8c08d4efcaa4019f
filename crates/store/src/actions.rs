//! Actions, the engine's queue: insert, claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
//! single writer on SQLite), finish (releasing the locks the action held), cancel, and the
//! services (engines) whose heartbeats decide who takes over whose actions.

use crate::codec::{get_bool, get_id, get_json, get_opt_id, get_time, millis, now_millis, to_json};
use crate::list::{Filter, Order};
use crate::{Backend, Scope, Store, StoreError, Tx};
use flotilla_core::action::{Action, ActionKind, ActionStatus, Cause, Target};
use flotilla_core::{ActionId, ListParams, NodeId, Page, ServiceId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// Filters of an action list.
#[derive(Debug, Clone, Default)]
pub struct ActionFilters<'a> {
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// A cluster or node id: its actions.
    pub target: Option<uuid::Uuid>,
    pub cluster: Option<flotilla_core::ClusterId>,
}

pub(crate) fn parse<T>(row: &AnyRow, column: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| StoreError::Corrupt(format!("action {column} = {text:?}")))
}

pub(crate) fn decode(row: &AnyRow) -> Result<Action, StoreError> {
    let kind = parse(row, "kind", ActionKind::parse)?;
    let target = kind.target(get_id(row, "target_id")?);
    let opt_time = |column: &str| -> Result<Option<Timestamp>, StoreError> {
        Ok(row.try_get::<Option<i64>, _>(column)?.and_then(chrono::DateTime::from_timestamp_millis))
    };
    Ok(Action {
        id: get_id(row, "id")?,
        name: row.try_get("name")?,
        kind,
        target,
        cluster_id: get_opt_id(row, "cluster_id")?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        cause: parse(row, "cause", Cause::parse)?,
        status: parse(row, "status", ActionStatus::parse)?,
        status_reason: row.try_get("status_reason")?,
        inputs: get_json(row, "inputs")?,
        outputs: get_json(row, "outputs")?,
        owner: get_opt_id(row, "owner")?,
        parent: get_opt_id(row, "parent")?,
        timeout: row.try_get::<i64, _>("timeout")? as u32,
        cancel_requested: get_bool(row, "cancel_requested")?,
        started_at: opt_time("started_at")?,
        ended_at: opt_time("ended_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(crate) async fn insert_action(tx: &mut Tx, a: &Action) -> Result<(), StoreError> {
    insert_actions(tx, &[a]).await
}

/// Writes `actions`, a statement per many.
pub(crate) async fn insert_actions(tx: &mut Tx, actions: &[&Action]) -> Result<(), StoreError> {
    const COLUMNS: usize = 20;
    for chunk in actions.chunks(crate::codec::rows_per_statement(tx, COLUMNS)) {
        let sql = format!(
            "INSERT INTO actions (id, name, kind, target_id, cluster_id, project_id, user_id, cause, status, status_reason, inputs,
             outputs, owner, parent, timeout, cancel_requested, started_at, ended_at, created_at, updated_at) VALUES {}",
            crate::codec::value_rows(chunk.len(), COLUMNS)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in chunk {
            query = query
                .bind(a.id.to_string())
                .bind(a.name.clone())
                .bind(a.kind.as_str())
                .bind(a.target.id().to_string())
                .bind(a.cluster_id.map(|c| c.to_string()))
                .bind(a.project_id.to_string())
                .bind(a.user_id.to_string())
                .bind(a.cause.as_str())
                .bind(a.status.as_str())
                .bind(a.status_reason.clone())
                .bind(to_json(&a.inputs))
                .bind(to_json(&a.outputs))
                .bind(a.owner.map(|o| o.to_string()))
                .bind(a.parent.map(|p| p.to_string()))
                .bind(a.timeout as i64)
                .bind(i64::from(a.cancel_requested))
                .bind(a.started_at.map(millis))
                .bind(a.ended_at.map(millis))
                .bind(millis(a.created_at))
                .bind(millis(a.updated_at));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Cancels `action` if no engine runs it yet, and then frees every lock it held.
async fn cancel_unstarted(tx: &mut Tx, action: ActionId) -> Result<(), StoreError> {
    let ended = sqlx::query(
        "UPDATE actions SET status = $2, status_reason = $3, ended_at = $4, updated_at = $4
         WHERE id = $1 AND status IN ('READY', 'INIT') RETURNING id, kind, target_id",
    )
    .bind(action.to_string())
    .bind(ActionStatus::Cancelled.as_str())
    .bind("cancelled before it started")
    .bind(now_millis())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(ended) = ended else { return Ok(()) };
    crate::action_ends::release_locks(tx, &[crate::action_ends::ended_of(&ended)?], &Default::default()).await
}

impl Store {
    /// Writes derived actions of `parent` (node actions of a cluster action), each taking its
    /// node's lock, a few statements per many; a node locked by another action fails them all (409).
    pub async fn submit_child_actions(&self, children: &[Action]) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let locks: Vec<(NodeId, &Action)> = children
            .iter()
            .filter_map(|child| match child.target {
                Target::Node(node) => Some((node, child)),
                _ => None,
            })
            .collect();
        crate::nodes::take_node_locks(&mut w.tx, &locks).await?;
        insert_actions(&mut w.tx, &children.iter().collect::<Vec<_>>()).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Writes `action` on its host (a HOST_DRAIN), under the host's row lock: 409 while another
    /// unfinished action of that kind works on the host (two drains would move its containers twice).
    pub async fn submit_host_action(&self, action: &Action) -> Result<(), StoreError> {
        let Target::Host(host) = action.target else { return Err(StoreError::Corrupt(format!("action {} is not on a host", action.id))) };
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "host", "hosts", &host.to_string()).await?;
        let running =
            sqlx::query("SELECT id FROM actions WHERE kind = $1 AND target_id = $2 AND status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED')")
                .bind(action.kind.as_str())
                .bind(host.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        if let Some(other) = running {
            let (name, other): (String, String) = (row.try_get("name")?, other.try_get("id")?);
            return Err(StoreError::Conflict(format!(
                "host {name} is already under action {other} ({}); try again when it ends",
                action.kind
            )));
        }
        insert_action(&mut w.tx, action).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The action whose id is `key`, seen from `scope`.
    pub async fn action(&self, scope: Scope, key: &str) -> Result<Action, StoreError> {
        decode(&self.find_one("action", "actions", Some(scope), key).await?)
    }

    pub async fn list_actions(&self, scope: Scope, filters: ActionFilters<'_>, params: &ListParams) -> Result<Page<Action>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(status) = filters.status {
            f.push(Filter::eq("status", status.to_ascii_uppercase()));
        }
        if let Some(kind) = filters.kind {
            f.push(Filter::eq("kind", kind.to_ascii_uppercase()));
        }
        if let Some(target) = filters.target {
            f.push(Filter::eq("target_id", target));
        }
        if let Some(cluster) = filters.cluster {
            f.push(Filter::eq("cluster_id", cluster));
        }
        self.list_ordered("actions", Order::Id, &f, params, decode).await
    }

    /// The actions `parent` made (what it depends on), oldest first. Ids (UUIDv7) sort as their
    /// text does; sorted here, not by the database, which compares ten thousand strings under
    /// its collation (on PostgreSQL 70 % of the statement's time).
    pub async fn child_actions(&self, parent: ActionId) -> Result<Vec<Action>, StoreError> {
        let rows = sqlx::query("SELECT * FROM actions WHERE parent = $1").bind(parent.to_string()).fetch_all(&self.pool).await?;
        let mut children = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        children.sort_unstable_by_key(|a| a.id);
        Ok(children)
    }

    /// The ids of `parent`'s children, oldest first (sorted as [`Self::child_actions`] are): what
    /// showing a cluster action lists, without reading ten thousand whole actions.
    pub async fn child_action_ids(&self, parent: ActionId) -> Result<Vec<ActionId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM actions WHERE parent = $1").bind(parent.to_string()).fetch_all(&self.pool).await?;
        let mut ids = rows.iter().map(|row| get_id(row, "id")).collect::<Result<Vec<ActionId>, _>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Whether `parent` made any action yet.
    pub async fn has_children(&self, parent: ActionId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM actions WHERE parent = $1 LIMIT 1")
            .bind(parent.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Whether a child of `parent` has not ended: one probe of the `(parent, status)` index per
    /// unfinished status, so a cluster action of 10,000 nodes waits without counting them all.
    pub async fn children_unfinished(&self, parent: ActionId) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 AS one FROM actions WHERE parent = $1 AND status IN ('INIT', 'WAITING', 'READY', 'RUNNING') LIMIT 1")
                .bind(parent.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// The children of `parent` that ended otherwise than SUCCEEDED.
    pub async fn unsuccessful_children(&self, parent: ActionId) -> Result<Vec<Action>, StoreError> {
        let rows = sqlx::query("SELECT * FROM actions WHERE parent = $1 AND status != 'SUCCEEDED' ORDER BY id")
            .bind(parent.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Claims up to `limit` READY actions for engine `service`: they become RUNNING and its own.
    /// No two engines ever claim one action.
    pub async fn claim_actions(&self, service: ServiceId, limit: usize) -> Result<Vec<Action>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE actions SET status = 'RUNNING', owner = $1, started_at = COALESCE(started_at, $2), updated_at = $2
             WHERE id IN (SELECT id FROM actions WHERE status = 'READY' ORDER BY id LIMIT $3{lock}) RETURNING *"
        );
        let mut w = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(service.to_string())
            .bind(now_millis())
            .bind(limit as i64)
            .fetch_all(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        let mut claimed: Vec<Action> = rows.iter().map(decode).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|a| a.id);
        Ok(claimed)
    }

    /// Moves a running action of `service` to `status` (WAITING while its children run, RUNNING after).
    pub async fn set_action_status(&self, id: ActionId, status: ActionStatus, reason: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE actions SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1 AND status IN ('RUNNING', 'WAITING')",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(reason.to_owned())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records an output of a running action.
    pub async fn set_action_outputs(&self, id: ActionId, outputs: &BTreeMap<String, String>) -> Result<(), StoreError> {
        sqlx::query("UPDATE actions SET outputs = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(to_json(outputs))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Cancels `id`: one not yet claimed ends CANCELLED at once; a running one is asked to stop
    /// (its engine checks between steps). Answers the action as it is now.
    pub async fn cancel_action(&self, id: ActionId) -> Result<Action, StoreError> {
        let mut w = self.begin_write().await?;
        let action = decode(&crate::crud::row_for_update(&mut w.tx, "action", "actions", &id.to_string()).await?)?;
        if action.status.is_final() {
            return Err(StoreError::Conflict(format!("action {id} already ended {}", action.status)));
        }
        if matches!(action.status, ActionStatus::Ready | ActionStatus::Init) {
            cancel_unstarted(&mut w.tx, id).await?;
        } else {
            sqlx::query("UPDATE actions SET cancel_requested = 1, updated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(now_millis())
                .execute(&mut *w.tx)
                .await?;
        }
        w.tx.commit().await?;
        self.action(Scope::All, &id.to_string()).await
    }

    /// The running actions of `service` a user asked to cancel.
    pub async fn cancels_requested(&self, service: ServiceId) -> Result<Vec<ActionId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM actions WHERE owner = $1 AND cancel_requested = 1 AND status IN ('RUNNING', 'WAITING')")
            .bind(service.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| get_id(r, "id")).collect()
    }

    /// The engines of the region: id, name, start and last heartbeat.
    pub async fn list_services(&self) -> Result<Vec<(ServiceId, String, Timestamp, Timestamp)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM services ORDER BY started_at").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((get_id(r, "id")?, r.try_get("name")?, get_time(r, "started_at")?, get_time(r, "heartbeat_at")?))).collect()
    }

    /// Registers engine `service` as alive.
    pub async fn register_service(&self, service: ServiceId, name: &str) -> Result<(), StoreError> {
        let now = now_millis();
        sqlx::query("INSERT INTO services (id, name, started_at, heartbeat_at) VALUES ($1, $2, $3, $3)")
            .bind(service.to_string())
            .bind(name.to_owned())
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that engine `service` is alive. False when it was declared dead and its work
    /// taken over: it must stop what it runs and register again under a new id.
    pub async fn heartbeat_service(&self, service: ServiceId) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE services SET heartbeat_at = $2 WHERE id = $1")
            .bind(service.to_string())
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Declares engines other than `me` silent for `grace` dead: their services go and their
    /// unfinished actions become READY for another engine (locks stay with the actions). Actions
    /// left RUNNING by an engine that is no longer registered at all go back too. Answers the
    /// dead engines.
    pub async fn take_over_dead_services(&self, me: ServiceId, grace: std::time::Duration) -> Result<Vec<ServiceId>, StoreError> {
        let cutoff = now_millis() - grace.as_millis() as i64;
        let mut w = self.begin_write().await?;
        let rows = sqlx::query("SELECT id FROM services WHERE heartbeat_at < $1 AND id != $2")
            .bind(cutoff)
            .bind(me.to_string())
            .fetch_all(&mut *w.tx)
            .await?;
        let dead: Vec<ServiceId> = rows.iter().map(|r| get_id(r, "id")).collect::<Result<_, _>>()?;
        for service in &dead {
            release_service(&mut w.tx, *service, "taken over from a silent engine").await?;
        }
        sqlx::query(
            "UPDATE actions SET status = 'READY', owner = NULL, status_reason = 'taken over from an unregistered engine', updated_at = $1
             WHERE status IN ('RUNNING', 'WAITING') AND owner IS NOT NULL AND owner NOT IN (SELECT id FROM services)",
        )
        .bind(now_millis())
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(dead)
    }

    /// Removes engine `service` on a clean stop; what it still ran goes back to READY.
    pub async fn deregister_service(&self, service: ServiceId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        release_service(&mut w.tx, service, "its engine stopped").await?;
        w.tx.commit().await?;
        Ok(())
    }
}

/// Puts what `service` was running back in the queue (READY, nobody's; locks stay with the
/// actions) and forgets the service.
async fn release_service(tx: &mut Tx, service: ServiceId, reason: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE actions SET status = 'READY', owner = NULL, status_reason = $3, updated_at = $2 WHERE owner = $1 AND status IN ('RUNNING', 'WAITING')",
    )
    .bind(service.to_string())
    .bind(now_millis())
    .bind(reason.to_owned())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM services WHERE id = $1").bind(service.to_string()).execute(&mut **tx).await?;
    Ok(())
}
