//! `/v1/agent/*`: what agents call — join, heartbeat, long-poll assignments, reports, image fetch.

use super::auth::AgentHost;
use crate::error::ApiError;
use crate::events;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::identity::secret;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flotilla_api::agent::{
    AgentJoin, AgentJoined, Assignment, Assignments, AssignmentsQuery, DnsName, Health, HealthStatus, Heartbeat, HostNetwork, HostRouter,
    HostVolume, ImageSource, NameAnswer, NameQuery, NetworkAttachment, NetworkOverlay, ObservedState, RemoteEndpoint, Reports, VolumeMount,
};
use flotilla_core::container::{ContainerHealth, ContainerStatus, Observation};
use flotilla_core::event::EventAction;
use flotilla_core::host::Utilisation;
use flotilla_core::overlay::{OVERLAY_MTU, parse_tunnel_address};
use flotilla_core::scheduler::Resources;
use flotilla_core::volume::Volume;
use flotilla_core::{ContainerId, HostId, ImageId, Name, NetworkId, ValidationError};
use flotilla_store::{AssignedContainer, HostHeartbeat, HostRegistration, JoinProof, NameRecord};
use std::collections::HashMap;
use std::time::Duration;

/// Longest long-poll an agent may ask for.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub fn resources(capacity: &flotilla_api::Capacity) -> Resources {
    Resources { cpu_millis: (capacity.cpus * 1000.0).round() as u64, memory_mib: capacity.memory_mib, disk_mib: capacity.disk_mib }
}

/// Trades a join token (or the host's saved credential) for a host credential. A new name needs
/// a valid join token; a name already joined needs its host's current credential (kept, so an
/// agent that saved it never loses it) or a token an admin issued to replace that host.
pub async fn join(State(state): State<AppState>, ApiJson(body): ApiJson<AgentJoin>) -> Result<Json<AgentJoined>, ApiError> {
    state.federation.require_hosts()?;
    let grant = match &body.join_token {
        Some(token) => state.store.join_grant(&secret::digest(token)).await?,
        None => None,
    };
    if grant.is_none() && body.credential.is_none() {
        return Err(ApiError::Unauthorized("join token is invalid or expired".into()));
    }
    let name = Name::parse("name", &body.name)?;
    if !body.advertise.starts_with("https://") {
        return Err(ValidationError::new(
            "advertise",
            &body.advertise,
            "must be an https:// URL (the server calls agents over mutual TLS)",
        )
        .into());
    }
    if body.runtime != "docker" && body.runtime != "sim" {
        return Err(ValidationError::new("runtime", &body.runtime, "must be docker or sim").into());
    }
    flotilla_tls::certificates("certificate", body.certificate.as_bytes())
        .map_err(|e| ValidationError::new("certificate", "(PEM)", e.to_string()))?;
    let tunnel_address = body.tunnel_address.as_deref().map(|t| parse_tunnel_address("tunnel_address", t)).transpose()?;
    let fresh = secret::generate();
    let proof = JoinProof { token: grant, credential_digest: body.credential.as_deref().map(secret::digest) };
    let registration = HostRegistration {
        name: name.to_string(),
        zone: body.zone,
        pool: body.pool,
        labels: body.labels,
        runtime: body.runtime,
        advertise: body.advertise.trim_end_matches('/').to_owned(),
        capacity: resources(&body.capacity),
        certificate: body.certificate,
        tunnel_address,
        agent_version: checked_version(body.agent_version)?,
    };
    let registered = state.store.register_host(registration, proof, &secret::digest(&fresh)).await?;
    // A join may have replaced the host's credential: the old one stops working here at once.
    state.agent_auth.clear();
    let host = registered.host;
    let credential = match body.credential {
        Some(kept) if registered.credential_kept => kept,
        _ => fresh,
    };
    state.agents.wakers.wake(host.id);
    tracing::info!(host = %host.name, id = %host.id, "host joined");
    let again = if host.created_at == host.updated_at { "joined" } else { "joined again" };
    let event = events::host(&host, None, EventAction::HostJoin, host.state().as_str()).reason(again);
    events::record(&state, event.meta("zone", &host.zone).meta("pool", &host.pool).meta("runtime", &host.runtime)).await;
    Ok(Json(AgentJoined {
        host_id: host.id.0,
        credential,
        heartbeat_interval_ms: state.settings.heartbeat_interval().as_millis() as u64,
        server_certificate: state.agents.identity.cert_pem.clone(),
    }))
}

/// The longest agent version accepted.
const MAX_AGENT_VERSION: usize = 64;

/// An agent's reported version: printable, at most [`MAX_AGENT_VERSION`] bytes.
fn checked_version(version: String) -> Result<String, ApiError> {
    if version.len() > MAX_AGENT_VERSION || version.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ValidationError::new(
            "agent_version",
            &version,
            format!("must be at most {MAX_AGENT_VERSION} printable characters, no spaces"),
        )
        .into());
    }
    Ok(version)
}

pub async fn heartbeat(
    State(state): State<AppState>,
    AgentHost(host): AgentHost,
    ApiJson(body): ApiJson<Heartbeat>,
) -> Result<StatusCode, ApiError> {
    let utilisation = Utilisation { cpu_percent: body.utilisation.cpu_percent, memory_used_mib: body.utilisation.memory_used_mib };
    let agent_version = checked_version(body.agent_version)?;
    let capacity = resources(&body.capacity);
    state.agents.heartbeats.push(HostHeartbeat {
        host,
        capacity,
        utilisation,
        images: body.images,
        agent_version,
        at: flotilla_core::now(),
    });
    Ok(StatusCode::NO_CONTENT)
}

/// Answers the host's assignments once its revision differs from `since`, or when `wait` ends
/// (or the server begins to stop; once it is stopping, a poll with nothing new is a 503). The
/// first look reads the revision alone; a wake (a change, most often) reads the set itself, and
/// goes on waiting if that still holds revision `since`.
pub async fn assignments(
    State(state): State<AppState>,
    AgentHost(host): AgentHost,
    ApiQuery(query): ApiQuery<AssignmentsQuery>,
) -> Result<Json<Assignments>, ApiError> {
    let wait = Duration::from_secs(query.wait.unwrap_or(30)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let notify = state.agents.wakers.notifier(host);
    let mut woken = false;
    let assigned = loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = tokio::time::Instant::now();
        if woken || now >= deadline {
            let assigned = read_assignments(&state, host).await?;
            if Some(assigned.revision) != query.since || now >= deadline || state.shutdown.is_cancelled() {
                break assigned;
            }
        } else if Some(state.store.host_revision(host).await?) != query.since {
            woken = true;
            continue;
        }
        if state.shutdown.is_cancelled() {
            // Nothing new, and a poll answered at once would come straight back and hold the
            // graceful stop's drain open: the agent tries again later (or another server).
            return Err(ApiError::Unavailable("the server is stopping: poll again later".into()));
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(deadline - now) => {}
            // A graceful stop waits for requests in flight: a long-poll answers at once then.
            () = state.shutdown.cancelled() => {}
        }
        woken = true;
    };
    let overlay = assigned.overlay;
    // An agent that asks name by name gets none here; an older one every name of every network.
    let names = match query.name_lookup {
        Some(true) => HashMap::new(),
        _ => state.store.host_names(host).await?,
    };
    let containers = assigned.containers.into_iter().map(|a| assignment(a, &names, overlay.as_ref())).collect();
    let routers = assigned.routers.into_iter().map(|r| host_router(r, &names, overlay.as_ref())).collect();
    let volumes = assigned.volumes.iter().map(host_volume).collect();
    Ok(Json(Assignments { revision: assigned.revision, containers, volumes, routers }))
}

/// `host`'s set, read no sooner than its pace allows (see [`super::wakers`]) and one of a few
/// reads at once.
async fn read_assignments(state: &AppState, host: HostId) -> Result<flotilla_store::HostAssignments, ApiError> {
    if let Some(next) = state.agents.wakers.paced_until(host) {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = state.shutdown.cancelled() => {}
        }
    }
    let _permit = state.agents.assignment_reads.acquire().await.expect("the assignment permits are never closed");
    let started = tokio::time::Instant::now();
    let assigned = state.store.assignments(host).await?;
    state.agents.wakers.read(host, started.elapsed(), assigned.containers.len());
    Ok(assigned)
}

/// What one name answers on a network the host carries (404 for another network): its agent's
/// name server asks as its containers ask.
pub async fn name(
    State(state): State<AppState>,
    AgentHost(host): AgentHost,
    ApiQuery(query): ApiQuery<NameQuery>,
) -> Result<Json<NameAnswer>, ApiError> {
    let addresses = state.store.name_on(host, NetworkId(query.network), &query.name).await?;
    Ok(Json(NameAnswer { addresses: addresses.iter().map(ToString::to_string).collect() }))
}

/// Container `a` as its host's agent gets it, with the names of its networks; `overlay`: the
/// remote endpoints of each network, when the host has a tunnel address.
fn assignment(
    a: AssignedContainer,
    names: &HashMap<NetworkId, Vec<NameRecord>>,
    overlay: Option<&HashMap<NetworkId, Vec<flotilla_store::RemoteEndpoint>>>,
) -> Assignment {
    let c = a.container;
    let aliases = a.aliases;
    let digest = a.image_digest;
    Assignment {
        id: c.id.0,
        name: c.name.to_string(),
        project_id: c.project_id.0,
        generation: c.generation,
        desired: c.desired,
        image: ImageSource {
            reference: flotilla_core::image::normalize_reference(&c.spec.image),
            image_id: c.image_id.map(|i| i.0),
            digest,
        },
        spec: c.spec,
        unknown: c.status == flotilla_core::container::ContainerStatus::Unknown,
        runtime_id: c.runtime_id,
        networks: a
            .networks
            .into_iter()
            .map(|n| NetworkAttachment {
                network: HostNetwork {
                    id: n.network_id.0,
                    name: n.network_name,
                    cidr: n.cidr,
                    gateway: n.gateway,
                    overlay: network_overlay(overlay, n.network_id, n.vni),
                    names: dns_names(names.get(&n.network_id)),
                },
                ip_address: n.ip,
                mac_address: n.mac,
                aliases: aliases.clone(),
            })
            .collect(),
        mounts: a
            .mounts
            .iter()
            .map(|m| VolumeMount { volume: host_volume(&m.volume), target: m.target.clone(), read_only: m.read_only })
            .collect(),
    }
}

/// Network `id`'s overlay (VNI `vni`) on a host with a tunnel address (`overlay`: the remote
/// endpoints of the networks it carries); `None` without one.
fn network_overlay(
    overlay: Option<&HashMap<NetworkId, Vec<flotilla_store::RemoteEndpoint>>>,
    id: NetworkId,
    vni: u32,
) -> Option<NetworkOverlay> {
    overlay.map(|remotes| NetworkOverlay {
        vni,
        mtu: OVERLAY_MTU,
        remotes: remotes.get(&id).map_or_else(Vec::new, |r| r.iter().map(remote_endpoint).collect()),
    })
}

fn remote_endpoint(r: &flotilla_store::RemoteEndpoint) -> RemoteEndpoint {
    RemoteEndpoint { ip: r.ip.clone(), mac: r.mac.clone(), tunnel_address: r.tunnel_address.clone() }
}

/// Router `r` as a host gets it: each of its networks with its names and, on a host with a
/// tunnel address, its overlay (the host carries the networks a router joins to its own).
fn host_router(
    r: flotilla_store::HostRouter,
    names: &HashMap<NetworkId, Vec<NameRecord>>,
    overlay: Option<&HashMap<NetworkId, Vec<flotilla_store::RemoteEndpoint>>>,
) -> HostRouter {
    let networks = r
        .interfaces
        .into_iter()
        .map(|i| HostNetwork {
            id: i.network_id.0,
            name: i.network.to_string(),
            cidr: i.cidr.to_string(),
            gateway: i.gateway.to_string(),
            overlay: network_overlay(overlay, i.network_id, i.vni),
            names: dns_names(names.get(&i.network_id)),
        })
        .collect();
    HostRouter { id: r.id.0, name: r.name.to_string(), networks }
}

fn dns_names(records: Option<&Vec<NameRecord>>) -> Vec<DnsName> {
    let records = records.map(Vec::as_slice).unwrap_or_default();
    records.iter().map(|r| DnsName { name: r.name.clone(), addresses: r.addresses.iter().map(ToString::to_string).collect() }).collect()
}

fn host_volume(v: &Volume) -> HostVolume {
    HostVolume { id: v.id.0, name: v.name.to_string(), driver: v.driver.clone(), driver_opts: v.runtime_options() }
}

fn status_of(state: ObservedState) -> Option<ContainerStatus> {
    match state {
        ObservedState::Created => Some(ContainerStatus::Created),
        ObservedState::Running => Some(ContainerStatus::Running),
        ObservedState::Paused => Some(ContainerStatus::Paused),
        ObservedState::Restarting => Some(ContainerStatus::Restarting),
        ObservedState::Exited => Some(ContainerStatus::Stopped),
        ObservedState::Missing | ObservedState::Failed => Some(ContainerStatus::Error),
        ObservedState::Removed => None,
    }
}

fn health_of(health: Health) -> ContainerHealth {
    match health.status {
        HealthStatus::Starting => ContainerHealth::Starting,
        HealthStatus::Healthy => ContainerHealth::Healthy,
        HealthStatus::Unhealthy => ContainerHealth::Unhealthy { reason: health.reason },
    }
}

/// What an agent saw, as the store records it. A CPU figure that is not a number is dropped.
pub fn observation(seen: flotilla_api::agent::Observed) -> Observation {
    Observation {
        id: ContainerId(seen.id),
        generation: seen.generation,
        runtime_id: seen.runtime_id,
        status: status_of(seen.state),
        exit_code: seen.exit_code,
        reason: seen.reason,
        health: seen.health.map(health_of),
        cpu_percent: seen.cpu_percent.filter(|p| p.is_finite() && *p >= 0.0),
    }
}

pub async fn reports(
    State(state): State<AppState>,
    AgentHost(host): AgentHost,
    ApiJson(body): ApiJson<Reports>,
) -> Result<StatusCode, ApiError> {
    let observations: Vec<Observation> = body.containers.into_iter().map(observation).collect();
    let changes = state.store.apply_observations(host, &observations).await?;
    state.engine.reported(&changes);
    events::observations(&state, &changes).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Streams an image archive to an agent that lacks it: only one a container of its host runs
/// (any other is not found, as if it did not exist).
pub async fn image(State(state): State<AppState>, AgentHost(host): AgentHost, Path(id): Path<ImageId>) -> Result<Response, ApiError> {
    let image = state.store.image_for_host(host, id).await?;
    let file = tokio::fs::File::open(state.settings.image_path(&image.sha256))
        .await
        .map_err(|e| ApiError::Internal(format!("image {} archive unreadable: {e}", image.id)))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(([(header::CONTENT_TYPE, "application/x-tar"), (header::CONTENT_LENGTH, &image.size_bytes.to_string())], body).into_response())
}
