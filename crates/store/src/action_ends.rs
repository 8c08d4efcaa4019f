//! The ends of running actions, written together: thousands of node actions end within seconds
//! of each other, and those ending at once are one `UPDATE … FROM (VALUES …)` of their rows and
//! one release of the locks they held (the queue of `group_commit.rs`).

use crate::codec::{in_list, now_millis, to_json, value_rows};
use crate::group_commit::Batched;
use crate::{Store, StoreError, Tx};
use flotilla_core::ActionId;
use flotilla_core::action::{ActionKind, ActionStatus, Target};
use flotilla_core::node::NodeStatus;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One [`Store::finish_action`] call.
pub(crate) struct ActionEnd {
    store: Store,
    id: ActionId,
    status: ActionStatus,
    reason: String,
    outputs: BTreeMap<String, String>,
    /// A node action's node's status, written with the end (and the lock's release).
    node_status: Option<NodeStatus>,
}

impl Batched for ActionEnd {
    type Answer = bool;
    const WHAT: &'static str = "action end";

    async fn run_together(requests: &[Self]) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        // Two ends of one action in one statement would leave either: each is written alone, in turn.
        let mut ids: Vec<String> = requests.iter().map(|r| r.id.to_string()).collect();
        if ids.iter().collect::<HashSet<_>>().len() < ids.len() {
            return Err(StoreError::Conflict("an action ended twice at once".to_owned()));
        }
        ids.sort();
        let now = now_millis();
        let mut w = requests[0].store.begin_write().await?;
        // Only those still running end here (one taken over meanwhile is not this engine's to end).
        let running = running_of(&mut w.tx, &ids).await?;
        let ending: Vec<&ActionEnd> = requests.iter().filter(|r| running.contains(&r.id.to_string())).collect();
        let mut ended: Vec<Ended> = Vec::with_capacity(ending.len());
        for chunk in ending.chunks(crate::codec::rows_per_statement(&w.tx, 5)) {
            let sql = format!(
                "UPDATE actions SET status = v.column2, status_reason = v.column3, ended_at = v.column4, updated_at = v.column4,
                 outputs = v.column5 FROM (VALUES {}) AS v WHERE actions.id = v.column1
                 RETURNING actions.id, actions.kind, actions.target_id",
                value_rows(chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                query = query.bind(r.id.to_string()).bind(r.status.as_str()).bind(r.reason.clone()).bind(now).bind(to_json(&r.outputs));
            }
            for row in query.fetch_all(&mut *w.tx).await? {
                ended.push(ended_of(&row)?);
            }
        }
        let settled: HashMap<ActionId, NodeStatus> = ending.iter().filter_map(|r| Some((r.id, r.node_status?))).collect();
        release_locks(&mut w.tx, &ended, &settled).await?;
        w.tx.commit().await?;
        let ended: HashSet<ActionId> = ended.iter().map(|(id, _, _)| *id).collect();
        Ok(requests.iter().map(|r| Ok(ended.contains(&r.id))).collect())
    }
}

/// Which of `ids` (sorted) are still running, their rows locked in id order on PostgreSQL (a
/// batch and another writer of several actions never wait for each other in a cycle). Read by
/// the key alone: with the status in the statement, PostgreSQL's statistics of a table whose
/// actions started seconds ago (a handful running) made it scan every running action instead.
async fn running_of(tx: &mut Tx, ids: &[String]) -> Result<HashSet<String>, StoreError> {
    let lock = crate::crud::no_key_lock_clause(tx);
    let mut running = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(crate::codec::rows_per_statement(tx, 1)) {
        let sql = format!("SELECT id, status FROM actions WHERE id IN ({}) ORDER BY id{lock}", in_list(chunk.len()));
        for row in crate::codec::bind_all(crate::codec::batch_query(sql), chunk.iter().cloned()).fetch_all(&mut **tx).await? {
            let status = crate::actions::parse(&row, "status", ActionStatus::parse)?;
            if matches!(status, ActionStatus::Running | ActionStatus::Waiting) {
                running.insert(row.try_get::<String, _>("id")?);
            }
        }
    }
    Ok(running)
}

/// An action that ended: its id, kind and target's id, which say what locks it held.
pub(crate) type Ended = (ActionId, ActionKind, uuid::Uuid);

/// Frees the locks `ended` actions held: a cluster action holds its cluster's, a node action its
/// node's (each freed by the row's key), a host action the nodes it took (found by the lock).
/// A node action in `settled` also leaves its node with that status, in the same write.
pub(crate) async fn release_locks(tx: &mut Tx, ended: &[Ended], settled: &HashMap<ActionId, NodeStatus>) -> Result<(), StoreError> {
    let (mut clusters, mut nodes, mut anywhere) = (Vec::new(), Vec::new(), Vec::new());
    for (id, kind, target) in ended {
        match kind.target(*target) {
            Target::Cluster(cluster) => clusters.push(Held { row: cluster.to_string(), action: id.to_string(), status: None }),
            Target::Node(node) => nodes.push(Held { row: node.to_string(), action: id.to_string(), status: settled.get(id).copied() }),
            Target::Host(_) => anywhere.push(id.to_string()),
        }
    }
    release_targets(tx, "clusters", clusters).await?;
    release_targets(tx, "nodes", nodes).await?;
    for chunk in anywhere.chunks(64) {
        let sql = format!("UPDATE nodes SET lock_action = NULL WHERE lock_action IN ({})", in_list(chunk.len()));
        crate::codec::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), chunk.iter().cloned()).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A row an ended action held, and the status it leaves the row with (a node's; else unchanged).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    row: String,
    action: String,
    status: Option<NodeStatus>,
}

/// Frees the rows of `table` (a constant: `nodes` or `clusters`) each action of `held` still
/// holds, by the rows' key (an `IN` list of lock holders was planned as a scan of every node),
/// locked in id order first as every writer of several rows does. A row with a status gets it
/// in the same statement (whoever holds its lock: a status is written as `set_node_status` does).
async fn release_targets(tx: &mut Tx, table: &'static str, mut held: Vec<Held>) -> Result<(), StoreError> {
    held.sort();
    let rows: Vec<String> = held.iter().map(|h| h.row.clone()).collect();
    crate::crud::lock_in_order(tx, table, "id", &rows).await?;
    let (settled, freed): (Vec<Held>, Vec<Held>) = held.into_iter().partition(|h| h.status.is_some());
    for chunk in freed.chunks(crate::codec::rows_per_statement(tx, 2)) {
        let sql = format!(
            "UPDATE {table} SET lock_action = NULL FROM (VALUES {}) AS v WHERE {table}.id = v.column1 AND {table}.lock_action = v.column2",
            value_rows(chunk.len(), 2)
        );
        let pairs = chunk.iter().flat_map(|h| [h.row.clone(), h.action.clone()]);
        crate::codec::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), pairs).execute(&mut **tx).await?;
    }
    let now = now_millis();
    for chunk in settled.chunks(crate::codec::rows_per_statement(tx, 4)) {
        let sql = format!(
            "UPDATE {table} SET status = v.column3, status_reason = '', updated_at = v.column4,
             lock_action = CASE WHEN {table}.lock_action = v.column2 THEN NULL ELSE {table}.lock_action END
             FROM (VALUES {}) AS v WHERE {table}.id = v.column1",
            value_rows(chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            query = query.bind(h.row.clone()).bind(h.action.clone()).bind(h.status.map(NodeStatus::as_str)).bind(now);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The action a statement ending it answered (its `id`, `kind` and `target_id`).
pub(crate) fn ended_of(row: &sqlx::any::AnyRow) -> Result<Ended, StoreError> {
    let kind = crate::actions::parse(row, "kind", ActionKind::parse)?;
    Ok((crate::codec::get_id(row, "id")?, kind, crate::codec::get_id(row, "target_id")?))
}

impl Store {
    /// Ends running action `id` with `status` and frees the locks it held, in one transaction with
    /// the other actions ending at once (10,000 node actions ending within seconds of each other
    /// were as many transactions). False when it was not running any more (it ended, or went
    /// back to the queue when its engine was taken over).
    pub async fn finish_action(
        &self,
        id: ActionId,
        status: ActionStatus,
        reason: &str,
        outputs: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let end = ActionEnd { store: self.clone(), id, status, reason: reason.to_owned(), outputs: outputs.clone(), node_status: None };
        self.action_ends.submit(end).await
    }

    /// [`finish_action`](Self::finish_action) for node action `id`, which leaves its node with
    /// `node_status` (and an empty reason) in the same write that frees the node's lock: a node
    /// is never seen with its last status while its action still runs, and one write fewer.
    pub async fn finish_node_action(
        &self,
        id: ActionId,
        status: ActionStatus,
        reason: &str,
        outputs: &BTreeMap<String, String>,
        node_status: NodeStatus,
    ) -> Result<bool, StoreError> {
        let end = ActionEnd {
            store: self.clone(),
            id,
            status,
            reason: reason.to_owned(),
            outputs: outputs.clone(),
            node_status: Some(node_status),
        };
        self.action_ends.submit(end).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group_commit::Batched;
    use crate::test_support as support;
    use flotilla_core::action::{Action, Cause};
    use flotilla_core::node::Node;

    /// Several action ends are one transaction on SQLite too (a batch that fails is redone one
    /// end at a time, which would hide it): the batch itself ends each and frees its node.
    #[tokio::test]
    async fn several_action_ends_are_written_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("ends.db").display())).await.unwrap();
        let (project, profile) = support::project_with_profile(&store).await;
        let pairs: Vec<(Node, Action)> = (0..2)
            .map(|i| {
                let node = Node { name: support::name(&format!("n-{i}")), ..support::node(project, profile) };
                let action =
                    Action::new(ActionKind::NodeCreate, Target::Node(node.id), node.name.as_str(), project, node.user_id, Cause::User);
                (node, action)
            })
            .collect();
        store.create_nodes(&pairs).await.unwrap();
        assert_eq!(store.claim_actions(flotilla_core::ServiceId::new(), 10).await.unwrap().len(), 2);
        let ends: Vec<ActionEnd> = pairs
            .iter()
            .map(|(_, a)| ActionEnd {
                store: store.clone(),
                id: a.id,
                status: ActionStatus::Succeeded,
                reason: String::new(),
                outputs: BTreeMap::new(),
                node_status: None,
            })
            .collect();
        let answers = ActionEnd::run_together(&ends).await.expect("written as one");
        assert!(answers.into_iter().all(|ended| ended.unwrap()));
        for (node, _) in &pairs {
            let next = Action::new(ActionKind::NodeCheck, Target::Node(node.id), node.name.as_str(), project, node.user_id, Cause::User);
            store.submit_node_action(node.id, &next).await.expect("the node's lock was freed");
        }
    }

    /// A node action ended with a status leaves its node so in the write that frees its lock;
    /// a late end (the action had ended) writes neither.
    #[tokio::test]
    async fn a_node_action_ends_with_its_nodes_status() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("ends.db").display())).await.unwrap();
        let (project, profile) = support::project_with_profile(&store).await;
        let node = support::node(project, profile);
        let create = Action::new(ActionKind::NodeCreate, Target::Node(node.id), node.name.as_str(), project, node.user_id, Cause::User);
        store.create_nodes(&[(node.clone(), create.clone())]).await.unwrap();
        assert_eq!(store.claim_actions(flotilla_core::ServiceId::new(), 10).await.unwrap().len(), 1);
        let none = BTreeMap::new();
        assert!(store.finish_node_action(create.id, ActionStatus::Succeeded, "", &none, NodeStatus::Active).await.unwrap());
        let settled = store.node_now(node.id).await.unwrap();
        assert_eq!((settled.status, settled.status_reason.as_str()), (NodeStatus::Active, ""));
        assert!(!store.finish_node_action(create.id, ActionStatus::Failed, "late", &none, NodeStatus::Error).await.unwrap());
        assert_eq!(store.node_now(node.id).await.unwrap().status, NodeStatus::Active, "a late end leaves the node as it was");
        let next = Action::new(ActionKind::NodeCheck, Target::Node(node.id), node.name.as_str(), project, node.user_id, Cause::User);
        store.submit_node_action(node.id, &next).await.expect("the node's lock was freed");
    }
}
