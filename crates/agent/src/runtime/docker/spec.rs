//! Translation of a Flotilla [`CreateSpec`] into Docker's container-create body, and of network,
//! volume and endpoint specs into theirs. Pure.
//! The spec's health check is not Docker's business: the agent probes containers itself (`crate::probe`).

use crate::runtime::{CreateSpec, Endpoint, MountSpec, NetworkSpec, VolumeSpec};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig, Mount, MountType, NetworkCreateRequest,
    NetworkingConfig, PortBinding, RestartPolicy as DockerRestart, RestartPolicyNameEnum, VolumeCreateRequest,
};
use flotilla_core::profile::RestartPolicy;
use std::collections::HashMap;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const BYTES_PER_MIB: i64 = 1024 * 1024;

/// Docker's `NanoCpus` for a limit in cores.
pub fn nano_cpus(cores: f64) -> i64 {
    (cores * NANOS_PER_SEC as f64).round() as i64
}

/// Docker's `Memory` (bytes) for a limit in MiB.
pub fn memory_bytes(mib: u64) -> i64 {
    i64::try_from(mib).unwrap_or(i64::MAX / BYTES_PER_MIB).saturating_mul(BYTES_PER_MIB)
}

/// The body of `POST /containers/create` for `spec`.
pub fn create_body(spec: &CreateSpec) -> ContainerCreateBody {
    let p = &spec.properties;
    let ports: Vec<String> = p.ports.iter().map(|port| format!("{}/{}", port.container, port.protocol)).collect();
    let bindings: HashMap<String, Option<Vec<PortBinding>>> = p
        .ports
        .iter()
        .map(|port| {
            let binding = PortBinding { host_ip: None, host_port: Some(port.host.map_or_else(String::new, |h| h.to_string())) };
            (format!("{}/{}", port.container, port.protocol), Some(vec![binding]))
        })
        .collect();
    let host_config = HostConfig {
        nano_cpus: p.cpu.map(nano_cpus),
        memory: p.memory.map(memory_bytes),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        restart_policy: p.restart_policy.map(restart_policy),
        privileged: p.privileged.then_some(true),
        binds: (!p.binds.is_empty()).then(|| p.binds.clone()),
        mounts: (!spec.mounts.is_empty()).then(|| spec.mounts.iter().map(mount).collect()),
        network_mode: if p.host_network { Some("host".to_owned()) } else { spec.networks.first().map(|e| e.network.clone()) },
        // Docker's embedded DNS forwards the names it does not know (other hosts' containers) to
        // the agent's server on the first network's gateway.
        dns: if p.host_network { None } else { spec.networks.first().map(|e| vec![e.gateway.clone()]) },
        ..Default::default()
    };
    // API 1.41 takes one endpoint at create: the others are connected afterwards.
    let networking_config = spec
        .networks
        .first()
        .map(|e| NetworkingConfig { endpoints_config: Some(HashMap::from([(e.network.clone(), endpoint_settings(e))])) });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!p.command.is_empty()).then(|| p.command.clone()),
        env: (!p.environment.is_empty()).then(|| p.environment.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(spec.labels().into_iter().collect()),
        exposed_ports: (!ports.is_empty()).then_some(ports),
        stop_timeout: p.stop_timeout.map(i64::from),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// A container's endpoint on a network, at create or connect: its address (the engine picks one
/// when it is empty) and aliases. Engines
/// before API 1.44 ignore the MAC address and derive `02:42:` + the address's bytes, which is
/// what Flotilla allocates.
pub fn endpoint_settings(endpoint: &Endpoint) -> EndpointSettings {
    EndpointSettings {
        ipam_config: (!endpoint.ip_address.is_empty())
            .then(|| EndpointIpamConfig { ipv4_address: Some(endpoint.ip_address.clone()), ..Default::default() }),
        aliases: (!endpoint.aliases.is_empty()).then(|| endpoint.aliases.clone()),
        mac_address: (!endpoint.mac_address.is_empty()).then(|| endpoint.mac_address.clone()),
        ..Default::default()
    }
}

fn mount(m: &MountSpec) -> Mount {
    Mount {
        typ: Some(MountType::VOLUME),
        source: Some(m.volume.clone()),
        target: Some(m.target.clone()),
        read_only: Some(m.read_only),
        ..Default::default()
    }
}

/// The body of `POST /networks/create`: a labelled bridge with the spec's subnet and gateway; an
/// overlay network is bound to its host bridge (made beforehand) with its MTU.
pub fn network_create(spec: &NetworkSpec) -> NetworkCreateRequest {
    let config = IpamConfig { subnet: Some(spec.cidr.clone()), gateway: Some(spec.gateway.clone()), ..Default::default() };
    let options = spec.bridge.as_ref().map(|b| {
        HashMap::from([
            ("com.docker.network.bridge.name".to_owned(), b.name.clone()),
            ("com.docker.network.driver.mtu".to_owned(), b.mtu.to_string()),
        ])
    });
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some("bridge".to_owned()),
        ipam: Some(Ipam { driver: Some("default".to_owned()), config: Some(vec![config]), options: None }),
        labels: Some(spec.labels()),
        options,
        ..Default::default()
    }
}

/// The body of `POST /volumes/create`.
pub fn volume_create(spec: &VolumeSpec) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: Some(spec.name.clone()),
        driver: (!spec.driver.is_empty()).then(|| spec.driver.clone()),
        driver_opts: Some(spec.driver_opts.clone().into_iter().collect()),
        labels: Some(spec.labels()),
        ..Default::default()
    }
}

fn restart_policy(policy: RestartPolicy) -> DockerRestart {
    let name = match policy {
        RestartPolicy::No => RestartPolicyNameEnum::NO,
        RestartPolicy::Always => RestartPolicyNameEnum::ALWAYS,
        RestartPolicy::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
        RestartPolicy::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
    };
    DockerRestart { name: Some(name), maximum_retry_count: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Bridge;
    use flotilla_api::agent::{LABEL_CONTAINER, LABEL_HOST, LABEL_NETWORK, LABEL_VOLUME};
    use flotilla_core::profile::{ContainerProperties, Healthcheck, HttpProbe, PortSpec};
    use uuid::Uuid;

    fn spec(properties: ContainerProperties) -> CreateSpec {
        CreateSpec {
            container_id: Uuid::now_v7(),
            host_id: Uuid::now_v7(),
            project_id: Uuid::now_v7(),
            generation: 1,
            name: "flt-web-01234567".into(),
            image: "flotilla/workload:latest".into(),
            properties,
            networks: vec![],
            mounts: vec![],
        }
    }

    #[test]
    fn limits_ports_and_policy_translate() {
        let mut p = ContainerProperties {
            image: "flotilla/workload:latest".into(),
            command: vec!["sleep".into(), "1".into()],
            cpu: Some(0.5),
            memory: Some(128),
            restart_policy: Some(RestartPolicy::OnFailure),
            stop_timeout: Some(3),
            ports: vec![
                PortSpec { container: 8080, protocol: "tcp".into(), host: None },
                PortSpec { container: 53, protocol: "udp".into(), host: Some(5353) },
            ],
            ..Default::default()
        };
        p.environment.insert("MODE".into(), "demo".into());
        let s = spec(p);
        let body = create_body(&s);
        let host = body.host_config.clone().unwrap();
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.memory, Some(128 * 1024 * 1024));
        assert_eq!(host.restart_policy.unwrap().name, Some(RestartPolicyNameEnum::ON_FAILURE));
        let bindings = host.port_bindings.unwrap();
        assert_eq!(bindings["8080/tcp"].as_ref().unwrap()[0].host_port.as_deref(), Some(""));
        assert_eq!(bindings["53/udp"].as_ref().unwrap()[0].host_port.as_deref(), Some("5353"));
        assert_eq!(body.exposed_ports.unwrap(), vec!["8080/tcp".to_owned(), "53/udp".to_owned()]);
        assert_eq!(body.env.unwrap(), vec!["MODE=demo".to_owned()]);
        assert_eq!(body.cmd.unwrap(), vec!["sleep".to_owned(), "1".to_owned()]);
        assert_eq!(body.stop_timeout, Some(3));
        let labels = body.labels.unwrap();
        assert_eq!(labels[LABEL_CONTAINER], s.container_id.to_string());
        assert_eq!(labels[LABEL_HOST], s.host_id.to_string());
        assert_eq!(host.privileged, None);
        assert_eq!((host.network_mode, host.mounts, body.networking_config), (None, None, None), "the default network, no volumes");
    }

    #[test]
    fn nothing_given_means_no_limits_and_image_defaults() {
        let body = create_body(&spec(ContainerProperties { image: "x".into(), ..Default::default() }));
        let host = body.host_config.unwrap();
        assert_eq!((host.nano_cpus, host.memory, host.port_bindings, host.restart_policy), (None, None, None, None));
        assert_eq!((body.cmd, body.env, body.healthcheck), (None, None, None));
    }

    #[test]
    fn admin_fields_translate() {
        let body = create_body(&spec(ContainerProperties {
            image: "x".into(),
            privileged: true,
            host_network: true,
            binds: vec!["/srv:/data:ro".into()],
            ..Default::default()
        }));
        let host = body.host_config.unwrap();
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(host.binds.unwrap(), vec!["/srv:/data:ro".to_owned()]);
    }

    fn endpoint(network: &str, ip: &str, aliases: &[&str]) -> Endpoint {
        Endpoint {
            network: network.into(),
            ip_address: ip.into(),
            mac_address: String::new(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            gateway: "10.9.0.1".into(),
        }
    }

    #[test]
    fn the_first_network_is_joined_at_create_and_volumes_are_mounted() {
        let mut s = spec(ContainerProperties { image: "x".into(), binds: vec!["/srv:/srv".into()], ..Default::default() });
        s.networks = vec![endpoint("flt-net-a-1", "10.0.0.5", &["web", "c1"]), endpoint("flt-net-b-2", "10.0.1.5", &[])];
        s.mounts = vec![
            MountSpec { volume: "flt-vol-data-3".into(), target: "/data".into(), read_only: false },
            MountSpec { volume: "flt-vol-conf-4".into(), target: "/etc/app".into(), read_only: true },
        ];
        let body = create_body(&s);
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("flt-net-a-1"));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(endpoints.len(), 1, "API 1.41 takes one endpoint at create");
        let first = &endpoints["flt-net-a-1"];
        assert_eq!(first.ipam_config.as_ref().unwrap().ipv4_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(first.aliases.as_deref(), Some(&["web".to_owned(), "c1".to_owned()][..]));
        let mounts = host.mounts.unwrap();
        let seen: Vec<_> = mounts.iter().map(|m| (m.typ, m.source.as_deref(), m.target.as_deref(), m.read_only)).collect();
        assert_eq!(
            seen,
            vec![
                (Some(MountType::VOLUME), Some("flt-vol-data-3"), Some("/data"), Some(false)),
                (Some(MountType::VOLUME), Some("flt-vol-conf-4"), Some("/etc/app"), Some(true)),
            ]
        );
        assert_eq!(host.binds.unwrap(), vec!["/srv:/srv".to_owned()], "the admin's binds stay");
    }

    #[test]
    fn endpoints_carry_address_aliases_and_mac() {
        let plain = endpoint_settings(&endpoint("n", "", &[]));
        assert_eq!((plain.ipam_config, plain.aliases, plain.mac_address), (None, None, None));
        let mut with_mac = endpoint("n", "10.0.0.9", &["db"]);
        with_mac.mac_address = "02:42:0a:00:00:09".into();
        let settings = endpoint_settings(&with_mac);
        assert_eq!(settings.mac_address.as_deref(), Some("02:42:0a:00:00:09"));
        assert_eq!(settings.aliases, Some(vec!["db".to_owned()]));
        assert_eq!(settings.ipam_config.unwrap().ipv4_address.as_deref(), Some("10.0.0.9"));
    }

    #[test]
    fn networks_and_volumes_are_made_labelled() {
        let host_id = Uuid::now_v7();
        let network = NetworkSpec {
            name: "flt-net-a-1".into(),
            network_id: Uuid::now_v7(),
            host_id,
            cidr: "10.213.0.0/24".into(),
            gateway: "10.213.0.1".into(),
            bridge: None,
        };
        let request = network_create(&network);
        assert_eq!(request.options, None, "no overlay: Docker makes its own bridge");
        let bound = network_create(&NetworkSpec { bridge: Some(Bridge { name: "flt-56789abc".into(), mtu: 1450 }), ..network.clone() });
        let options = bound.options.unwrap();
        assert_eq!(options["com.docker.network.bridge.name"], "flt-56789abc");
        assert_eq!(options["com.docker.network.driver.mtu"], "1450");
        assert_eq!((request.name.as_str(), request.driver.as_deref()), ("flt-net-a-1", Some("bridge")));
        let config = &request.ipam.unwrap().config.unwrap()[0];
        assert_eq!((config.subnet.as_deref(), config.gateway.as_deref()), (Some("10.213.0.0/24"), Some("10.213.0.1")));
        let labels = request.labels.unwrap();
        assert_eq!((labels[LABEL_NETWORK].clone(), labels[LABEL_HOST].clone()), (network.network_id.to_string(), host_id.to_string()));

        let mut volume = VolumeSpec {
            name: "flt-vol-v-2".into(),
            volume_id: Uuid::now_v7(),
            host_id,
            driver: "local".into(),
            driver_opts: [("type".to_owned(), "nfs".to_owned())].into(),
        };
        let request = volume_create(&volume);
        assert_eq!((request.name.as_deref(), request.driver.as_deref()), (Some("flt-vol-v-2"), Some("local")));
        assert_eq!(request.driver_opts.unwrap()["type"], "nfs");
        assert_eq!(request.labels.unwrap()[LABEL_VOLUME], volume.volume_id.to_string());
        volume.driver = String::new();
        assert_eq!(volume_create(&volume).driver, None, "the engine's default driver");
    }

    #[test]
    fn health_checks_are_left_to_the_agent() {
        let check = Healthcheck {
            http: Some(HttpProbe { port: 8080, path: "/healthz".into() }),
            tcp: None,
            command: vec![],
            interval: 5,
            timeout: 2,
            retries: 3,
        };
        let body = create_body(&spec(ContainerProperties { image: "x".into(), healthcheck: Some(check), ..Default::default() }));
        assert_eq!(body.healthcheck, None, "no HEALTHCHECK needing wget or nc in the image");
    }
}
