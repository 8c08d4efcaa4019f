//! Dry runs (`?dry_run=true`): the checks of the real request, then the scheduler's plan from a
//! placement transaction the store rolls back. A plan changes nothing; quotas and bad input are
//! answered as the real request answers them.

use super::convert;
use crate::error::ApiError;
use crate::federation::global_networks;
use crate::state::AppState;
use flotilla_api::{Plan, PlannedContainer};
use flotilla_core::NodeId;
use flotilla_core::cluster::Cluster;
use flotilla_core::container::Container;
use flotilla_core::scheduler::Request;
use flotilla_engine::EngineError;
use flotilla_engine::plan::{NewMember, new_members};
use flotilla_store::{ContainerRow, NodePlacement, StoreError};

/// Where a new container would go. A quota or input refusal is the create's own error.
pub async fn container(state: &AppState, container: Container, request: Request) -> Result<Plan, ApiError> {
    let placement = NodePlacement { node: NodeId::new(), cluster: None, container, request };
    // Its refusal is the answer, as a create's: a network out of addresses asks for more first.
    let row = global_networks::with_blocks(state, || async {
        let mut answers = state.store.plan_containers(vec![placement.clone()], &state.settings.scheduler).await?;
        answers.pop().unwrap_or_else(|| Err(StoreError::Corrupt("the plan answered nothing".to_owned())))
    })
    .await?;
    Ok(Plan { placements: vec![placed(row)], removals: 0 })
}

/// Where the `count` members `cluster` would add next would go (each with its reason when it
/// would not be placed), and how many members it would remove.
pub async fn cluster(state: &AppState, cluster: &Cluster, count: i64, removals: u64) -> Result<Plan, ApiError> {
    if count <= 0 {
        return Ok(Plan { placements: Vec::new(), removals });
    }
    let members = new_members(&state.store, &state.engine_config.region, cluster, count).await.map_err(refused)?;
    let here: Vec<NodePlacement> = members
        .iter()
        .filter_map(|m| match m {
            NewMember::Here(p) => Some(NodePlacement::clone(p)),
            NewMember::Elsewhere { .. } => None,
        })
        .collect();
    let mut answers = global_networks::with_blocks(state, || state.store.plan_containers(here.clone(), &state.engine_config.scheduler))
        .await?
        .into_iter();
    let mut placements = Vec::with_capacity(members.len());
    for member in members {
        placements.push(match member {
            NewMember::Elsewhere { name, region } => PlannedContainer {
                reason: Some(format!("planned for region {region} by the cluster's region placement")),
                ..unplaced(name)
            },
            NewMember::Here(p) => match answers.next() {
                Some(Ok(row)) => placed(row),
                Some(Err(refused)) => PlannedContainer { reason: Some(refused.to_string()), ..unplaced(p.container.name.to_string()) },
                None => return Err(ApiError::Internal("the plan answered too little".to_owned())),
            },
        });
    }
    Ok(Plan { placements, removals })
}

fn placed(row: ContainerRow) -> PlannedContainer {
    let reason = (row.container.host_id.is_none()).then(|| row.container.status_reason.clone());
    PlannedContainer {
        name: row.container.name.to_string(),
        host: row.host_name,
        host_id: row.container.host_id.map(|h| h.0),
        host_address: row.host_advertise,
        addresses: row.addresses.into_iter().map(convert::network_address).collect(),
        reason,
    }
}

fn unplaced(name: String) -> PlannedContainer {
    PlannedContainer { name, host: None, host_id: None, host_address: None, addresses: Vec::new(), reason: None }
}

/// A plan the engine could not make (no region of its placement policy is up): 409 with why.
fn refused(e: EngineError) -> ApiError {
    match e {
        EngineError::Store(e) => e.into(),
        EngineError::Failed(reason) => ApiError::Conflict(reason),
        other => ApiError::Internal(other.to_string()),
    }
}
