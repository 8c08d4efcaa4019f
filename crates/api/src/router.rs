//! Router wire types: routers joining a project's networks (Neutron's routers and interfaces).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Router {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    /// Made at the central: joins global networks, in every region that carries one of them.
    #[serde(default)]
    pub global: bool,
    /// The networks it joins, by name.
    pub interfaces: Vec<RouterInterface>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A network joined to a router: the router answers on its subnet's gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouterInterface {
    pub network_id: Uuid,
    pub network: String,
    pub cidr: String,
    pub gateway: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterCreate {
    pub name: String,
    /// A router of the central joining global networks across regions (made at the central; a
    /// region forwards the create there).
    #[serde(default)]
    pub global: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouterList {
    pub routers: Vec<Router>,
    pub next: Option<String>,
}

/// `POST /v1/routers/{router}/interfaces`: joins a network of the router's project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterInterfaceCreate {
    /// A network's id or name; it needs a subnet and no router yet.
    pub network: String,
}
