//! A federated region's side of the routing table: creating or deleting a routed object (container,
//! cluster, node, network, volume) queues a [`ROUTE_SYNC`] job for its id in the same
//! transaction, and the job's handler reads where each id stands now ([`Store::locate`]).

use crate::codec::get_id;
use crate::{Store, StoreError, Tx};
use flotilla_core::ProjectId;
use uuid::Uuid;

/// The job type reporting an object's appearance or departure to the central.
pub const ROUTE_SYNC: &str = "route_sync";

/// The tables of routed objects, with the resource type the routing table names them by.
const ROUTED: [(&str, &str); 5] =
    [("containers", "container"), ("clusters", "cluster"), ("nodes", "node"), ("networks", "network"), ("volumes", "volume")];

/// A routed object present in this region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub id: Uuid,
    /// `container`, `cluster`, `node`, `network` or `volume`.
    pub resource_type: &'static str,
    pub project_id: ProjectId,
}

impl Store {
    /// The hook every create and delete of a routed object calls inside its write: on a federated
    /// region, queues a [`ROUTE_SYNC`] job for `id` (coalesced with one already waiting); elsewhere nothing.
    pub(crate) async fn sync_route(&self, tx: &mut Tx, id: Uuid, project: ProjectId) -> Result<(), StoreError> {
        if self.route_sync {
            self.enqueue(tx, ROUTE_SYNC, id, Some(project)).await?;
        }
        Ok(())
    }

    /// Which of `ids` are routed objects present here, with their type and project; the others are gone.
    pub async fn locate(&self, ids: &[Uuid]) -> Result<Vec<Located>, StoreError> {
        let mut found = Vec::new();
        if ids.is_empty() {
            return Ok(found);
        }
        for (table, resource_type) in ROUTED {
            let sql = format!("SELECT id, project_id FROM {table} WHERE id IN ({})", crate::codec::in_list(ids.len()));
            let query = crate::codec::bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), ids.iter().map(ToString::to_string));
            for row in query.fetch_all(&self.pool).await? {
                found.push(Located { id: get_id(&row, "id")?, resource_type, project_id: get_id(&row, "project_id")? });
            }
        }
        Ok(found)
    }
}
