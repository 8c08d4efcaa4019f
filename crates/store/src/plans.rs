//! Dry runs of placements: the same transaction a create writes, rolled back at its end, so a
//! plan answers what the scheduler, the quotas and the address allocator would do, and changes nothing.

use crate::containers::{ContainerRow, NodePlacement, decode, refusal};
use crate::placement::RegionView;
use crate::ports::addresses_on;
use crate::{Store, StoreError, Tx};
use flotilla_core::ContainerId;
use flotilla_core::scheduler::Settings;

impl Store {
    /// Places each of `placements` in turn (later ones see the claims of earlier ones) as
    /// [`Store::create_node_containers`] does, then rolls everything back. Answers each container
    /// as it would be written, with its host's name and addresses (ERROR with the scheduler's
    /// explanation when nothing fits), or why it would be refused (quota, bad input, conflict, no
    /// addresses left).
    pub async fn plan_containers(
        &self,
        placements: Vec<NodePlacement>,
        settings: &Settings,
    ) -> Result<Vec<Result<ContainerRow, StoreError>>, StoreError> {
        let mut w = self.begin_write().await?;
        let mut region = RegionView::load(self, &mut w.tx).await?;
        let mut placed = Vec::with_capacity(placements.len());
        for p in placements {
            placed.push(region.place(&mut w.tx, p.container, &p.request, settings, p.cluster).await.map(|c| c.id));
        }
        region.write_placed(&mut w.tx).await?;
        let mut answers = Vec::with_capacity(placed.len());
        for answer in placed {
            answers.push(match answer {
                Ok(id) => Ok(row_in(&mut w.tx, id).await?),
                Err(e) => Err(refusal(e)?),
            });
        }
        w.tx.rollback().await?;
        Ok(answers)
    }
}

/// Container `id` as a show answers it (host and addresses), read inside `tx`.
async fn row_in(tx: &mut Tx, id: ContainerId) -> Result<ContainerRow, StoreError> {
    let row = sqlx::query("SELECT * FROM container_view WHERE id = $1").bind(id.to_string()).fetch_one(&mut **tx).await?;
    let mut row = decode(&row)?;
    row.addresses = addresses_on(tx, &[id]).await?.remove(&id).unwrap_or_default();
    Ok(row)
}
