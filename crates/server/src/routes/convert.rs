//! Domain objects to wire types.

use flotilla_api as api;
use flotilla_core::identity::{Project, RoleAssignment, User};
use flotilla_core::profile::Profile;

pub fn user(u: User) -> api::User {
    api::User {
        id: u.id.0,
        name: u.name.to_string(),
        email: u.email,
        enabled: u.enabled,
        default_project_id: u.default_project_id.map(|p| p.0),
        metadata: u.metadata,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

pub fn project(p: Project) -> api::Project {
    api::Project {
        id: p.id.0,
        name: p.name.to_string(),
        description: p.description,
        enabled: p.enabled,
        metadata: p.metadata,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

pub fn role_assignment(r: RoleAssignment) -> api::RoleAssignment {
    api::RoleAssignment {
        id: r.id.0,
        user: api::ObjectRef { id: r.user_id.0, name: r.user_name },
        project: api::ObjectRef { id: r.project_id.0, name: r.project_name },
        role: r.role,
        created_at: r.created_at,
    }
}

pub fn profile(p: Profile) -> api::Profile {
    api::Profile {
        id: p.id.0,
        name: p.name.to_string(),
        project_id: p.project_id.0,
        user_id: p.user_id.0,
        spec: p.spec,
        metadata: p.metadata,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

pub fn capacity(r: flotilla_core::scheduler::Resources) -> api::Capacity {
    api::Capacity { cpus: r.cpu_millis as f64 / 1000.0, memory_mib: r.memory_mib, disk_mib: r.disk_mib }
}

/// A host as `caller` may see it: where its agent listens is for admins only.
pub fn host(h: flotilla_core::host::Host, caller: &crate::identity::principal::Principal) -> api::Host {
    api::Host {
        id: h.id.0,
        state: h.state().as_str().to_owned(),
        name: h.name,
        zone: h.zone,
        pool: h.pool,
        labels: h.labels,
        runtime: h.runtime,
        advertise: caller.role.is_admin().then_some(h.advertise),
        tunnel_address: h.tunnel_address.filter(|_| caller.role.is_admin()).map(|t| t.to_string()),
        agent_version: h.agent_version,
        capacity: capacity(h.capacity),
        allocated: capacity(h.allocated),
        utilisation: api::HostUtilisation { cpu_percent: h.utilisation.cpu_percent, memory_used_mib: h.utilisation.memory_used_mib },
        container_count: h.container_count,
        last_heartbeat: h.last_heartbeat,
        created_at: h.created_at,
        updated_at: h.updated_at,
    }
}

/// The host part of an agent's advertised URL: where published ports are reached.
fn host_address(advertise: &str) -> &str {
    let rest = advertise.split_once("://").map_or(advertise, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

pub fn container(row: flotilla_store::ContainerRow) -> api::Container {
    let c = row.container;
    let address = row.host_advertise.as_deref().map(host_address).unwrap_or("");
    let ports = c
        .spec
        .ports
        .iter()
        .map(|p| match p.host {
            Some(host) => format!("{address}:{host}->{}/{}", p.container, p.protocol),
            None => format!("{}/{}", p.container, p.protocol),
        })
        .collect();
    api::Container {
        id: c.id.0,
        name: c.name.to_string(),
        project_id: c.project_id.0,
        user_id: c.user_id.0,
        spec: c.spec,
        host: row.host_name,
        host_id: c.host_id.map(|h| h.0),
        status: c.status.as_str().to_owned(),
        status_reason: c.status_reason,
        desired_state: c.desired.as_str().to_owned(),
        generation: c.generation,
        runtime_id: c.runtime_id,
        exit_code: c.exit_code,
        health: c.health.as_str().to_owned(),
        health_reason: c.health.reason().to_owned(),
        cpu_percent: c.cpu_percent,
        observed_at: c.observed_at,
        ports,
        addresses: row.addresses.into_iter().map(network_address).collect(),
        metadata: c.metadata,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

pub fn image(i: flotilla_core::image::Image) -> api::Image {
    api::Image {
        id: i.id.0,
        name: i.name,
        tags: i.tags,
        project_id: i.project_id.0,
        public: i.public,
        size_bytes: i.size_bytes,
        sha256: i.sha256,
        docker_id: i.docker_id,
        created_at: i.created_at,
    }
}

pub fn event(e: flotilla_core::event::Event) -> api::Event {
    api::Event {
        id: e.id.0,
        timestamp: e.timestamp,
        level: e.level.as_str().to_owned(),
        project_id: e.project_id.map(|p| p.0),
        user_id: e.user_id.map(|u| u.0),
        object_type: e.object_type.as_str().to_owned(),
        object_id: e.object_id,
        object_name: e.object_name,
        action: e.action.as_str().to_owned(),
        status: e.status,
        reason: e.reason,
        metadata: e.metadata,
    }
}

pub fn cluster(c: flotilla_core::cluster::Cluster, nodes: Vec<uuid::Uuid>, policies: Vec<flotilla_store::Binding>) -> api::Cluster {
    api::Cluster {
        id: c.id.0,
        name: c.name.to_string(),
        project_id: c.project_id.0,
        user_id: c.user_id.0,
        profile_id: c.profile_id.0,
        desired_capacity: c.desired_capacity,
        min_size: c.min_size,
        max_size: c.max_size,
        timeout: c.timeout,
        config: c.config,
        status: c.status.to_string(),
        status_reason: c.status_reason,
        nodes,
        policies: policies.into_iter().map(cluster_policy).collect(),
        metadata: c.metadata,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

pub fn cluster_policy(b: flotilla_store::Binding) -> api::ClusterPolicy {
    api::ClusterPolicy {
        policy_id: b.policy.id.0,
        policy_name: b.policy.name.to_string(),
        type_name: b.policy.spec.type_name.as_str().to_owned(),
        priority: b.priority,
        enabled: b.enabled,
    }
}

pub fn node(n: flotilla_core::node::Node, host_name: Option<String>, addresses: Vec<flotilla_store::Address>) -> api::Node {
    api::Node {
        id: n.id.0,
        name: n.name.to_string(),
        project_id: n.project_id.0,
        user_id: n.user_id.0,
        cluster_id: n.cluster_id.map(|c| c.0),
        index: n.index,
        role: n.role,
        profile_id: n.profile_id.0,
        status: n.status.to_string(),
        status_reason: n.status_reason,
        tainted: n.tainted,
        physical_id: n.physical_id.map(|c| c.0),
        host_id: n.host_id.map(|h| h.0),
        host_name,
        addresses: addresses.into_iter().map(network_address).collect(),
        region: n.region,
        metadata: n.metadata,
        created_at: n.created_at,
        updated_at: n.updated_at,
    }
}

pub fn action(a: flotilla_core::action::Action, depends_on: Vec<uuid::Uuid>) -> api::Action {
    api::Action {
        id: a.id.0,
        name: a.name,
        action: a.kind.to_string(),
        target: a.target.id(),
        cluster_id: a.cluster_id.map(|c| c.0),
        project_id: a.project_id.0,
        user_id: a.user_id.0,
        cause: a.cause.to_string(),
        status: a.status.to_string(),
        status_reason: a.status_reason,
        inputs: serde_json::to_value(&a.inputs).unwrap_or_default(),
        outputs: a.outputs,
        owner: a.owner.map(|o| o.0),
        depends_on,
        depended_by: a.parent.map(|p| p.0).into_iter().collect(),
        timeout: a.timeout,
        cancel_requested: a.cancel_requested,
        started_at: a.started_at,
        ended_at: a.ended_at,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

pub fn policy(p: flotilla_store::Policy) -> api::Policy {
    api::Policy {
        id: p.id.0,
        name: p.name.to_string(),
        project_id: p.project_id.0,
        user_id: p.user_id.0,
        type_name: p.spec.type_name.as_str().to_owned(),
        spec: p.spec,
        metadata: p.metadata,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

pub fn receiver(r: flotilla_store::Receiver, url: Option<String>) -> api::Receiver {
    api::Receiver {
        id: r.id.0,
        name: r.name.to_string(),
        project_id: r.project_id.0,
        user_id: r.user_id.0,
        type_name: r.type_name,
        cluster_id: r.cluster_id.0,
        action: r.action,
        params: serde_json::from_str(&r.params).unwrap_or_default(),
        overridable: r.overridable,
        url,
        metadata: r.metadata,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

pub fn network_address(a: flotilla_store::Address) -> api::Address {
    api::Address { network_id: a.network_id.0, network: a.network_name, ip_address: a.ip.to_string(), mac_address: a.mac }
}

pub fn network(row: flotilla_store::NetworkRow) -> api::Network {
    let n = row.network;
    api::Network {
        id: n.id.0,
        name: n.name.to_string(),
        project_id: n.project_id.0,
        shared: n.shared,
        is_default: n.is_default,
        global: n.global,
        vni: Some(row.vni),
        subnets: row.subnets.into_iter().map(subnet).collect(),
        metadata: n.metadata,
        created_at: n.created_at,
        updated_at: n.updated_at,
    }
}

pub fn subnet(row: flotilla_store::SubnetRow) -> api::Subnet {
    let s = row.subnet;
    api::Subnet {
        id: s.id.0,
        name: s.name.to_string(),
        network_id: s.network_id.0,
        project_id: s.project_id.0,
        cidr: s.plan.cidr.to_string(),
        gateway: s.plan.gateway.to_string(),
        allocation_pools: s.plan.pools.iter().map(|p| api::AllocationPool { start: p.start.to_string(), end: p.end.to_string() }).collect(),
        reserved: s.plan.reserved.iter().map(ToString::to_string).collect(),
        capacity: s.plan.capacity() as u64,
        used: row.used,
        created_at: s.created_at,
    }
}

pub fn port(row: flotilla_store::PortRow) -> api::Port {
    let p = row.port;
    api::Port {
        id: p.id.0,
        name: p.name,
        project_id: p.project_id.0,
        network_id: p.network_id.0,
        network: row.network_name,
        subnet_id: p.subnet_id.0,
        ip_address: p.ip.to_string(),
        mac_address: p.mac,
        container_id: p.container_id.map(|c| c.0),
        container: row.container_name,
        host: row.host_name,
        status: row.status.as_str().to_owned(),
        created_at: p.created_at,
    }
}

pub fn volume(row: flotilla_store::VolumeRow) -> api::Volume {
    let v = row.volume;
    api::Volume {
        id: v.id.0,
        name: v.name.to_string(),
        project_id: v.project_id.0,
        driver: v.driver,
        driver_opts: v.driver_opts,
        size_mib: v.size_mib,
        pool: v.pool,
        mounted_by: row.mounted_by,
        metadata: v.metadata,
        created_at: v.created_at,
    }
}

pub fn router(row: flotilla_store::RouterRow) -> api::Router {
    let r = row.router;
    api::Router {
        id: r.id.0,
        name: r.name.to_string(),
        project_id: r.project_id.0,
        global: r.global,
        interfaces: row
            .interfaces
            .into_iter()
            .map(|i| api::RouterInterface {
                network_id: i.network_id.0,
                network: i.network.to_string(),
                cidr: i.cidr.to_string(),
                gateway: i.gateway.to_string(),
            })
            .collect(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}
