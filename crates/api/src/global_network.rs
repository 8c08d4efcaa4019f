//! Global networks between a region and its central (`/v1/federation/networks/...`, the region's
//! credential): a create forwarded by a region, the blocks of addresses the central hands a
//! region, fixed addresses checked at the central, and the endpoints each region has on them
//! (`/v1/federation/endpoints`), which the overlay reaches across regions.

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

/// A container of a global network as the overlay reaches it: its address and MAC, and its
/// host's tunnel address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub ip_address: String,
    pub mac_address: String,
    pub tunnel_address: String,
    /// The names it answers to: its container's, and its cluster's while it runs (other regions'
    /// hosts resolve them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// A region's endpoints on one global network: all of them (they replace what it reported before).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkEndpointsReport {
    pub network_id: Uuid,
    pub endpoints: Vec<Endpoint>,
    /// Every address the region's ports hold on the network: the fixed addresses it recorded at
    /// the central that are not among them (and were recorded more than
    /// [`FIXED_IP_SETTLE_SECS`] ago) are freed there.
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// A fixed address recorded at the central more recently than this (seconds) is not judged by a
/// report: the report may have been read before its port was made.
pub const FIXED_IP_SETTLE_SECS: u64 = 10;

/// The central's answer to an [`EndpointReport`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointReportAnswer {
    /// Fixed addresses not in use that were recorded too recently to be freed yet: the region
    /// reports again later.
    pub unsettled_fixed_ips: usize,
}

/// `POST /v1/federation/endpoints`: the calling region's endpoints on the global networks named.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointReport {
    pub networks: Vec<NetworkEndpointsReport>,
}

/// `POST /v1/federation/endpoints/watch`: the other regions' endpoints on the global networks the
/// calling region carries, answered once they differ from the answer `since` names (its digest),
/// or after `wait` seconds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointWatch {
    pub networks: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Seconds, at most 8 (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u64>,
}

/// An endpoint in another region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegionEndpoint {
    pub region_id: Uuid,
    pub endpoint: Endpoint,
}

/// One global network's VNI and its endpoints in the other regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteNetworkEndpoints {
    pub network_id: Uuid,
    pub vni: u32,
    pub endpoints: Vec<RegionEndpoint>,
}

/// The answer to an [`EndpointWatch`]: every global network named that the central knows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RemoteEndpoints {
    /// Names this answer: sent back as `since`, the next answer comes when it changes.
    pub digest: String,
    pub networks: Vec<RemoteNetworkEndpoints>,
    /// The global routers joining a network named, each with every network it joins (what a
    /// region copies: its hosts then carry those networks too).
    #[serde(default)]
    pub routers: Vec<GlobalRouter>,
}

/// A global router as a region copies it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GlobalRouter {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    /// The global networks it joins, whole (a region copies those it lacks).
    pub networks: Vec<crate::Network>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /v1/federation/routers`: a user's global router create, forwarded by their region.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalRouterCreate {
    pub project_id: Uuid,
    pub name: String,
}
