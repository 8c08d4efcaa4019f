//! Nodes' status writes, written together: thousands of node actions each set their node's
//! status when they start and end, and those made at once are one `UPDATE … FROM (VALUES …)`
//! (the queue of `group_commit.rs`); a lone one is one statement, as it always was.

use crate::codec::{now_millis, value_rows};
use crate::group_commit::Batched;
use crate::nodes::decode;
use crate::{Store, StoreError};
use flotilla_core::NodeId;
use flotilla_core::node::{Node, NodeStatus};
use std::collections::{HashMap, HashSet};

/// One [`Store::set_node_status`] call.
pub(crate) struct NodeStatusWrite {
    store: Store,
    id: NodeId,
    status: NodeStatus,
    reason: String,
}

impl Batched for NodeStatusWrite {
    type Answer = Node;
    const WHAT: &'static str = "node status write";

    async fn run_together(requests: &[Self]) -> Result<Vec<Result<Node, StoreError>>, StoreError> {
        let store = &requests[0].store;
        let now = now_millis();
        if let [alone] = requests {
            let row = sqlx::query("UPDATE nodes SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1 RETURNING *")
                .bind(alone.id.to_string())
                .bind(alone.status.as_str())
                .bind(alone.reason.clone())
                .bind(now)
                .fetch_optional(&store.pool)
                .await?;
            return Ok(vec![row.as_ref().map(decode).unwrap_or_else(|| Err(not_found(alone.id)))]);
        }
        // Two writes of one node in one statement would leave either: each is written alone, in turn.
        let mut ids: Vec<String> = requests.iter().map(|r| r.id.to_string()).collect();
        if ids.iter().collect::<HashSet<_>>().len() < ids.len() {
            return Err(StoreError::Conflict("a node's status written twice at once".to_owned()));
        }
        ids.sort();
        let mut w = store.begin_write().await?;
        // Locked in id order first: a batch and another writer of several nodes never wait for each other in a cycle.
        crate::crud::lock_in_order(&mut w.tx, "nodes", "id", &ids).await?;
        let mut written: HashMap<NodeId, Node> = HashMap::with_capacity(requests.len());
        // The updated rows' columns: PostgreSQL's `*` would add the `VALUES` list's, SQLite refuses `nodes.*`.
        let returning = if store.backend == crate::Backend::Postgres { "nodes.*" } else { "*" };
        for chunk in requests.chunks(crate::codec::rows_per_statement(&w.tx, 4)) {
            let sql = format!(
                "UPDATE nodes SET status = v.column2, status_reason = v.column3, updated_at = v.column4
                 FROM (VALUES {}) AS v WHERE nodes.id = v.column1 RETURNING {returning}",
                value_rows(chunk.len(), 4)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                query = query.bind(r.id.to_string()).bind(r.status.as_str()).bind(r.reason.clone()).bind(now);
            }
            for row in query.fetch_all(&mut *w.tx).await? {
                let node = decode(&row)?;
                written.insert(node.id, node);
            }
        }
        w.tx.commit().await?;
        Ok(requests.iter().map(|r| written.remove(&r.id).ok_or_else(|| not_found(r.id))).collect())
    }
}

fn not_found(id: NodeId) -> StoreError {
    StoreError::NotFound { kind: "node", key: id.to_string() }
}

impl Store {
    /// Sets `id`'s status, with the other status writes made at once: touching only the status,
    /// so it needs no read first and never undoes a concurrent write of another field.
    pub async fn set_node_status(&self, id: NodeId, status: NodeStatus, reason: &str) -> Result<Node, StoreError> {
        self.node_statuses.submit(NodeStatusWrite { store: self.clone(), id, status, reason: reason.to_owned() }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group_commit::Batched;
    use crate::test_support as support;

    /// Several status writes are one statement on SQLite too (a batch that fails is redone one
    /// write at a time, which would hide it): the batch itself answers every node.
    #[tokio::test]
    async fn several_status_writes_are_written_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("statuses.db").display())).await.unwrap();
        let (project, profile) = support::project_with_profile(&store).await;
        let mut writes = Vec::new();
        for (i, status) in [NodeStatus::Active, NodeStatus::Error].into_iter().enumerate() {
            let node = Node { name: support::name(&format!("n-{i}")), ..support::node(project, profile) };
            store.adopt_node(&node).await.unwrap();
            writes.push(NodeStatusWrite { store: store.clone(), id: node.id, status, reason: format!("reason {i}") });
        }
        let answers = NodeStatusWrite::run_together(&writes).await.expect("written as one");
        for (write, answer) in writes.iter().zip(answers) {
            let node = answer.unwrap();
            assert_eq!((node.id, node.status, node.status_reason), (write.id, write.status, write.reason.clone()));
        }
    }
}
