//! Dry runs of a cluster's growth: the members a create or scale-out would add, planned as the
//! cluster and node actions plan them (node names, regions, zones, affinity), for the store to
//! place in a transaction it rolls back. Nothing is written here.

use crate::error::EngineError;
use flotilla_core::cluster::Cluster;
use flotilla_store::{NodePlacement, Store};

/// One member a cluster action would add.
#[derive(Debug, Clone)]
pub enum NewMember {
    /// Placed in this region: what the placer would get.
    Here(Box<NodePlacement>),
    /// Sent to another region by the cluster's region placement: its name and that region.
    Elsewhere { name: String, region: String },
}

/// The `count` members `cluster` would add next (numbered from its `next_index`); `here` is this
/// region's name. A cluster not written yet (a create's dry run) has no policies nor members.
pub async fn new_members(store: &Store, here: &str, cluster: &Cluster, count: i64) -> Result<Vec<NewMember>, EngineError> {
    let regions = crate::policies::regions_for_new_nodes(store, here, cluster, count).await?;
    let zones = crate::policies::zones_for_new_nodes(store, cluster, count).await?;
    let now = flotilla_core::now();
    let mut members = Vec::with_capacity(regions.len());
    for (i, (region, zone)) in regions.into_iter().zip(zones).enumerate() {
        let node = crate::cluster::new_node(cluster, cluster.next_index + i as i64, region, now)?;
        if crate::remote::elsewhere(here, &node) {
            members.push(NewMember::Elsewhere { name: node.name.to_string(), region: node.region });
        } else {
            members.push(NewMember::Here(Box::new(
                crate::node::placement_for(store, &node, crate::inputs::NodeInputs::read(store, &node).await?, zone).await?,
            )));
        }
    }
    Ok(members)
}
