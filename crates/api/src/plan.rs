//! Dry runs (`?dry_run=true` on `POST /v1/containers`, `POST /v1/clusters` and a cluster's
//! resize): the scheduler's plan, with nothing written.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `dry_run=true`: check and plan as the real request would, answer the plan, change nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// Answer the plan (200, a `Plan`) instead of doing it.
    pub dry_run: Option<bool>,
}

impl DryRunQuery {
    pub fn is_dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }
}

/// What a request would do: each new container's place, and how many nodes it would remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    /// The containers it would create, in order.
    pub placements: Vec<PlannedContainer>,
    /// Nodes a resize would remove (chosen by the cluster's deletion policy when it runs).
    #[serde(default)]
    pub removals: u64,
}

/// Where one new container would go, or why it would not be made anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlannedContainer {
    pub name: String,
    /// The host's name; `null` when nothing fits or the container would be refused.
    pub host: Option<String>,
    pub host_id: Option<Uuid>,
    /// The host's advertised address.
    pub host_address: Option<String>,
    /// The addresses it would get on Flotilla networks.
    #[serde(default)]
    pub addresses: Vec<crate::network::Address>,
    /// Why it would not be placed: the scheduler's explanation, or a quota's refusal.
    pub reason: Option<String>,
}
