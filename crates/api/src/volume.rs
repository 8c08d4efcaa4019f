//! Volume wire types: named volumes containers mount, on one host or on every host of a pool.

use chrono::{DateTime, Utc};
use flotilla_core::Metadata;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Volume {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    /// Docker's volume driver (`local` by default).
    pub driver: String,
    /// The driver's options, e.g. `type=nfs`, `o=addr=10.0.0.1,rw`, `device=:/export`.
    pub driver_opts: BTreeMap<String, String>,
    /// Size in MiB, when given (the `local` driver enforces it only for `type=tmpfs`).
    pub size_mib: Option<u64>,
    /// A host pool: the volume exists on each of its hosts, and containers mounting it run there.
    pub pool: Option<String>,
    /// Names of the containers that mount it.
    pub mounted_by: Vec<String>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeCreate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// MiB, 1 to 1 PiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1073741824)]
    pub size_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VolumeList {
    pub volumes: Vec<Volume>,
    pub next: Option<String>,
}
