//! What the engine's container watch reads each poll: a stamp of every recently changed row
//! (a few narrow columns), then whole rows only for the stamps it has not seen. A poll looks back
//! a few seconds each time, so without stamps it decoded each change a dozen times.

use crate::codec::get_id;
use crate::containers::decode_container;
use crate::{Store, StoreError};
use flotilla_core::ContainerId;
use flotilla_core::container::Container;
use sqlx::Row;

/// A container row's state as far as a waiting action can tell: a write that changes any of
/// these (or its time) changes the stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStamp {
    pub id: ContainerId,
    /// Epoch milliseconds of its last write.
    pub updated_at: i64,
    status: String,
    health: String,
    host_id: Option<String>,
    generation: i64,
    desired: String,
}

impl Store {
    /// The stamps of the containers written at `since` (epoch milliseconds) or later.
    pub async fn container_stamps_since(&self, since: i64) -> Result<Vec<ContainerStamp>, StoreError> {
        let rows =
            sqlx::query("SELECT id, updated_at, status, health, host_id, generation, desired FROM containers WHERE updated_at >= $1")
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(ContainerStamp {
                    id: get_id(r, "id")?,
                    updated_at: r.try_get("updated_at")?,
                    status: r.try_get("status")?,
                    health: r.try_get("health")?,
                    host_id: r.try_get("host_id")?,
                    generation: r.try_get("generation")?,
                    desired: r.try_get("desired")?,
                })
            })
            .collect()
    }

    /// The containers of `ids` that exist, in no particular order.
    pub async fn containers_by_id(&self, ids: &[ContainerId]) -> Result<Vec<Container>, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        crate::crud::rows_by_id(&self.pool, "containers", &ids).await?.iter().map(decode_container).collect()
    }
}
