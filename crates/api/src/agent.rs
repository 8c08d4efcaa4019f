//! The agent protocol: agent → server (join, heartbeat, long-poll assignments, reports, image
//! fetch) under `/v1/agent`, and server → agent interactive calls under `/agent/v1`.
//! Agents authenticate with `Authorization: Bearer <host credential>`; the server's calls to an
//! agent go over mutual TLS, each side pinning the certificate the other sent at join.

use crate::host::{Capacity, HostUtilisation};
use flotilla_core::container::DesiredState;
use flotilla_core::profile::ContainerProperties;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Labels every container made by an agent carries.
pub const LABEL_CONTAINER: &str = "flotilla.container";
pub const LABEL_HOST: &str = "flotilla.host";
pub const LABEL_GENERATION: &str = "flotilla.generation";
pub const LABEL_PROJECT: &str = "flotilla.project";
/// Labels of the Docker networks and volumes an agent makes: the Flotilla object's id, and the
/// host whose agent made it (an agent removes only its own).
pub const LABEL_NETWORK: &str = "flotilla.network";
pub const LABEL_VOLUME: &str = "flotilla.volume";

/// `POST /v1/agent/join`: an agent asks to join the region as host `name`. A new name needs a
/// valid join token; a name already joined needs that host's current `credential` (an agent
/// restarting with its saved state) or a join token an admin issued to replace that host.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentJoin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_token: Option<String>,
    /// The host credential this agent saved when it last joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    pub name: String,
    #[serde(default)]
    pub zone: String,
    #[serde(default)]
    pub pool: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `docker` or `sim`.
    pub runtime: String,
    /// Base URL where the server reaches this agent, e.g. `https://10.0.0.5:7947`.
    pub advertise: String,
    pub capacity: Capacity,
    /// The agent's callback certificate (PEM, self-signed): the server pins it on its calls.
    pub certificate: String,
    /// The IPv4 address other hosts' VXLAN packets reach this host at (`--tunnel-address`).
    /// Absent: the host's networks stay local bridges (no overlay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_address: Option<String>,
    /// The agent's version (its binary's), shown in `host list`; absent from older agents.
    #[serde(default)]
    pub agent_version: String,
}

/// The answer to a join: the host's id and the credential for every later call.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentJoined {
    pub host_id: Uuid,
    pub credential: String,
    pub heartbeat_interval_ms: u64,
    /// The certificate (PEM) the server presents on its calls to the agent: the agent pins it.
    pub server_certificate: String,
}

/// `POST /v1/agent/heartbeat`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    pub capacity: Capacity,
    pub utilisation: HostUtilisation,
    /// Image references the runtime holds.
    #[serde(default)]
    pub images: Vec<String>,
    /// The agent's version (its binary's); absent from older agents.
    #[serde(default)]
    pub agent_version: String,
}

/// `GET /v1/agent/assignments`: answered at once when the host's revision differs from `since`,
/// else when it changes or `wait` seconds pass.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentsQuery {
    pub since: Option<u64>,
    /// Seconds, at most 60 (default 30).
    pub wait: Option<u64>,
    /// `true`: networks come without their names; the agent asks for each name it is asked
    /// (`GET /v1/agent/names`). Older agents leave it out and get every name on each network.
    pub name_lookup: Option<bool>,
}

/// `GET /v1/agent/names`: what one name answers on a network the host carries.
#[derive(Debug, Clone, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NameQuery {
    pub network: Uuid,
    /// Any case, without the root's dot.
    pub name: String,
}

/// The answer to a [`NameQuery`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NameAnswer {
    /// The name's IPv4 addresses on the network; empty when it is no name there.
    pub addresses: Vec<String>,
}

/// The containers that should exist on the host, at a revision.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Assignments {
    pub revision: u64,
    pub containers: Vec<Assignment>,
    /// Volumes of the host's pool: present on the host even while no container mounts them.
    #[serde(default)]
    pub volumes: Vec<HostVolume>,
    /// Routers joining a network of the host: it routes between all of each one's networks.
    /// On a host with a tunnel address each network comes with its overlay, and the host carries
    /// it (bridge, VXLAN device, entries), even without a container on it: traffic to another
    /// network of the router is routed on the sending host and tunnelled to the receiver.
    #[serde(default)]
    pub routers: Vec<HostRouter>,
}

/// A router as a host applies it: the networks it joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostRouter {
    pub id: Uuid,
    pub name: String,
    pub networks: Vec<HostNetwork>,
}

/// One container the host should hold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    pub id: Uuid,
    pub name: String,
    pub project_id: Uuid,
    /// A runtime container of another generation is replaced.
    pub generation: u64,
    #[schema(value_type = String)]
    pub desired: DesiredState,
    #[schema(schema_with = crate::spec_schema::container_properties)]
    pub spec: ContainerProperties,
    pub image: ImageSource,
    /// Set once the container was created: if it vanished from the runtime it was removed
    /// behind Flotilla's back (recreated only when its restart policy says so).
    pub runtime_id: Option<String>,
    /// The networks it is connected to, the first one at creation; changes on a running container
    /// are connects and disconnects, not a replacement. Empty: the runtime's default network.
    #[serde(default)]
    pub networks: Vec<NetworkAttachment>,
    /// The volumes it mounts (`spec.volumes` resolved).
    #[serde(default)]
    pub mounts: Vec<VolumeMount>,
    /// The region holds its status UNKNOWN (its host was DOWN): the agent reports it again.
    #[serde(default)]
    pub unknown: bool,
}

/// A container's place on a Flotilla network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NetworkAttachment {
    pub network: HostNetwork,
    /// The address Flotilla allocated to it.
    pub ip_address: String,
    pub mac_address: String,
    /// The names its engine's DNS answers for it: its name (a cluster's name is answered by the
    /// agent's name server, for every member on every host).
    pub aliases: Vec<String>,
}

/// A Flotilla network as a host's runtime makes it (a bridge with this subnet and gateway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostNetwork {
    pub id: Uuid,
    pub name: String,
    /// `ADDRESS/PREFIX`.
    pub cidr: String,
    pub gateway: String,
    /// Set when the host has a tunnel address: the network spans hosts over VXLAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<NetworkOverlay>,
    /// The names the network answers (the agent's DNS server on its gateway): every container's
    /// name on it, on any host, and each cluster's name for its running members. Empty for an
    /// agent that asks name by name ([`AssignmentsQuery::name_lookup`]).
    #[serde(default)]
    pub names: Vec<DnsName>,
}

/// A name and its IPv4 addresses on one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnsName {
    pub name: String,
    pub addresses: Vec<String>,
}

/// A network's overlay on a host: its bridge carries a VXLAN device, and the forwarding and
/// neighbour entries of its containers on other hosts come from here (nothing is learned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NetworkOverlay {
    /// The VXLAN id, unique in the region.
    pub vni: u32,
    /// The MTU of the bridge, the VXLAN device and the containers' interfaces.
    pub mtu: u32,
    /// The network's containers on other hosts with a tunnel address.
    pub remotes: Vec<RemoteEndpoint>,
}

/// A container on another host, as the overlay reaches it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct RemoteEndpoint {
    pub ip: String,
    pub mac: String,
    /// Its host's tunnel address.
    pub tunnel_address: String,
}

/// A mount of a Flotilla volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VolumeMount {
    pub volume: HostVolume,
    pub target: String,
    pub read_only: bool,
}

/// A Flotilla volume as a host's runtime makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostVolume {
    pub id: Uuid,
    pub name: String,
    pub driver: String,
    pub driver_opts: BTreeMap<String, String>,
}

/// Where an image comes from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageSource {
    /// The reference to run, normalised (`:latest` added).
    pub reference: String,
    /// A Flotilla-held archive to fetch from `/v1/agent/images/{id}` when the runtime lacks it.
    pub image_id: Option<Uuid>,
    /// Docker's id (`sha256:` of the config) of that archive's image: with it, the agent runs
    /// exactly this image, never whatever its cache holds under `reference`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// `POST /v1/agent/reports`: what the agent saw, in one batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Reports {
    pub containers: Vec<Observed>,
}

/// One container as the runtime shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Observed {
    pub id: Uuid,
    pub generation: u64,
    pub runtime_id: Option<String>,
    pub state: ObservedState,
    pub exit_code: Option<i64>,
    /// Why, for `failed`, `missing` or `exited`.
    #[serde(default)]
    pub reason: String,
    /// What the agent's probe says of a running container with a health check; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// CPU use of a running container as `docker stats` counts it (100 = one core busy), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
}

/// A health check's verdict: `starting` before the first pass (and while failures are fewer than
/// `retries`), `healthy` after a pass, `unhealthy` after `retries` failures in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    /// The last failed probe's answer, when unhealthy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ObservedState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    /// Removed outside Flotilla and not recreated (restart policy `no`).
    Missing,
    /// Removed by the agent because it is no longer assigned.
    Removed,
    /// Could not be created or started; `reason` says why.
    Failed,
}
