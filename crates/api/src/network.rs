//! Network wire types: networks, subnets and ports (Neutron's surface), and connecting a
//! container to a network.

use chrono::{DateTime, Utc};
use flotilla_core::Metadata;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Network {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    /// Usable by every project (only admins make shared networks).
    pub shared: bool,
    /// The project's default network, made on first use from the region's pool.
    pub is_default: bool,
    /// One network in every region under this id, its addresses from the central's global pool.
    #[serde(default)]
    pub global: bool,
    /// Its VXLAN id on the hosts' overlay (a global network's is the central's, the same in every
    /// region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    pub subnets: Vec<Subnet>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkCreate {
    pub name: String,
    /// Admins only.
    #[serde(default)]
    pub shared: bool,
    /// Made at the central (a region forwards the create), the same in every region; needs a
    /// `subnet` inside the central's global pool.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub global: bool,
    /// A subnet made with the network, in the same transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubnetCreate>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NetworkList {
    pub networks: Vec<Network>,
    pub next: Option<String>,
}

/// An allocation pool: the inclusive range `start`-`end` of addresses handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationPool {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Subnet {
    pub id: Uuid,
    pub name: String,
    pub network_id: Uuid,
    pub project_id: Uuid,
    /// IPv4 `ADDRESS/PREFIX`, 8 to 30.
    pub cidr: String,
    pub gateway: String,
    pub allocation_pools: Vec<AllocationPool>,
    /// Addresses inside the pools never handed out.
    pub reserved: Vec<String>,
    /// How many addresses the pools hold, and how many are taken.
    pub capacity: u64,
    pub used: u64,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/networks/{network}/subnets` (and a network create's `subnet`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetCreate {
    /// Default: the network's name with `-subnet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub cidr: String,
    /// Default: the first host address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Default: every host address but the gateway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocation_pools: Vec<AllocationPool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubnetList {
    pub subnets: Vec<Subnet>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Port {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    pub network_id: Uuid,
    pub network: String,
    pub subnet_id: Uuid,
    pub ip_address: String,
    pub mac_address: String,
    /// The container holding the address; none for a reservation.
    pub container_id: Option<Uuid>,
    pub container: Option<String>,
    /// The container's host.
    pub host: Option<String>,
    /// `ACTIVE` (its container runs), `BUILD` (being made) or `DOWN`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/ports`: reserves an address (given, or the next free one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortCreate {
    /// A network's id or name.
    pub network: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortList {
    pub ports: Vec<Port>,
    pub next: Option<String>,
}

/// Filters of `GET /v1/ports`, besides the list query's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortFilters {
    /// A network's id or name.
    pub network: Option<String>,
    /// A container's id or name.
    pub container: Option<String>,
}

/// `POST /v1/containers/{id}/networks`: connects a container (running or not) to a network.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConnect {
    /// A network's id or name.
    pub network: String,
    /// A fixed address; default the next free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// A container's address on one network, as `container show` and `node show` give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub network_id: Uuid,
    pub network: String,
    pub ip_address: String,
    pub mac_address: String,
}
