//! Global networks between a region and its central (`/v1/federation/networks/...`, the region's
//! credential): a create forwarded by a region, the blocks of addresses the central hands a
//! region, and fixed addresses checked at the central.

use crate::network::NetworkCreate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `POST /v1/federation/networks`: a region forwards a user's global network create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalNetworkCreate {
    /// The caller's project (the same id at the central).
    pub project_id: Uuid,
    pub network: NetworkCreate,
}

/// `GET /v1/federation/networks/{network}`: the project the network must be visible to.
#[derive(Debug, Clone, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GlobalNetworkQuery {
    pub project: Uuid,
}

/// A block of a global subnet handed to a region (`POST /v1/federation/networks/{id}/blocks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressBlock {
    pub network_id: Uuid,
    /// e.g. `10.200.1.0/26`.
    pub cidr: String,
    pub region_id: Uuid,
    /// Addresses inside the block fixed in another region before it was handed out.
    pub reserved: Vec<String>,
}

/// `POST /v1/federation/networks/{id}/fixed-ips`: a fixed address asked for in a region.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalFixedIp {
    pub address: String,
}
