//! Federation wire types: the region registry, region join tokens, the routing table, jobs, and
//! the calls a region makes to the central (`/v1/federation/...`, authenticated by the region's
//! credential in [`REGION_CREDENTIAL_HEADER`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Header carrying a region's credential on its calls to the central.
pub const REGION_CREDENTIAL_HEADER: &str = "x-region-credential";

/// `POST /v1/regions/join-tokens` (admin, at the central).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionJoinTokenCreate {
    /// Lifetime in seconds, one minute to 30 days (default one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 2592000)]
    pub ttl_seconds: Option<u64>,
}

/// A one-use token a region server presents once to register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionJoinToken {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A region as the central's registry knows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Region {
    pub id: Uuid,
    pub name: String,
    /// Where clients reach the region's API.
    pub api_url: String,
    /// `UP` while it heartbeats, `DOWN` after the grace period without one.
    pub status: String,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub host_count: u64,
    pub container_count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionList {
    pub regions: Vec<Region>,
    pub next: Option<String>,
}

/// `POST /v1/federation/join`: a region registers (with its join token) or comes back (with the
/// credential it was given).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionJoin {
    pub name: String,
    pub api_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The region's own pool for projects' default networks (IPv4 CIDR): refused when it overlaps
    /// the central's global pool.
    pub network_pool: String,
}

/// The central's answer to a join.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionJoined {
    pub region_id: Uuid,
    /// Kept by the region in its own store; sent in [`REGION_CREDENTIAL_HEADER`].
    pub credential: String,
    pub heartbeat_interval_ms: u64,
    /// The global address space, when the central has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_pool: Option<String>,
}

/// `POST /v1/federation/heartbeat`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionHeartbeat {
    pub host_count: u64,
    pub container_count: u64,
}

/// `POST /v1/federation/tokens/validate`: a region asks who a token is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenValidate {
    pub token: String,
}

/// Who a valid token is: enough for a region to act on it (and keep its project's row).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidatedToken {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub project_id: Uuid,
    pub project_name: String,
    /// `admin`, `member` or `reader`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One entry of the routing table: where a global id lives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Routing {
    /// The object's id, the same in every region.
    pub id: Uuid,
    pub region: String,
    /// `container`, `cluster`, `node`, `network`, `port`, `volume`, `profile`, `policy`, ...
    pub resource_type: String,
    pub project_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoutingList {
    pub routings: Vec<Routing>,
    pub next: Option<String>,
}

/// An object a region reports as present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteEntry {
    pub id: Uuid,
    pub resource_type: String,
    pub project_id: Uuid,
}

/// `POST /v1/federation/routings`: what appeared in and went from the calling region.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingChanges {
    #[serde(default)]
    pub upsert: Vec<RouteEntry>,
    #[serde(default)]
    pub delete: Vec<Uuid>,
}

/// A unit of cross-region work.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    /// What the job does, e.g. `route_register`.
    pub job_type: String,
    /// The object the job is about (jobs of one type and resource coalesce).
    pub resource_id: Uuid,
    pub project_id: Option<Uuid>,
    /// `NEW`, `RUNNING`, `SUCCESS` or `FAIL`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When a NEW job is next tried (after a failure: backoff with jitter).
    pub run_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<Job>,
    pub next: Option<String>,
}

/// Filters of `GET /v1/jobs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// `NEW`, `RUNNING`, `SUCCESS` or `FAIL`.
    pub status: Option<String>,
    pub job_type: Option<String>,
    pub resource_id: Option<Uuid>,
}

/// Filters of `GET /v1/routings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoutingFilter {
    /// A region's name.
    pub region: Option<String>,
    pub resource_type: Option<String>,
    pub project_id: Option<Uuid>,
}

/// `GET /v1/federation/regions` (a region, at the central): the other regions, to reach them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PeerRegionList {
    pub regions: Vec<Region>,
}

/// `POST /v1/federation/regions/verify` (a region, at the central): whose credential another
/// region presented to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionCredentialCheck {
    pub credential: String,
}

/// The region a credential belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionCredentialOwner {
    pub name: String,
}

/// `PUT /v1/federation/members/{id}` (a cluster's home region, at another region): run this
/// member of one of its clusters here, under the id given. Creating it again answers it as it is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberCreate {
    pub name: String,
    pub project_id: Uuid,
    pub project_name: String,
    pub user_id: Uuid,
    pub user_name: String,
    #[schema(schema_with = crate::spec_schema::container_properties)]
    pub spec: flotilla_core::profile::ContainerProperties,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// `GET /v1/federation/members`: the members the calling home region runs here.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<crate::container::Container>,
}
