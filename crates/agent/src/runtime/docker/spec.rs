//! Translation of a Flotilla [`CreateSpec`] into Docker's container-create body. Pure.
//! The spec's health check is not Docker's business: the agent probes containers itself (`crate::probe`).

use crate::runtime::CreateSpec;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding, RestartPolicy as DockerRestart, RestartPolicyNameEnum};
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
        network_mode: p.host_network.then(|| "host".to_owned()),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!p.command.is_empty()).then(|| p.command.clone()),
        env: (!p.environment.is_empty()).then(|| p.environment.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(spec.labels().into_iter().collect()),
        exposed_ports: (!ports.is_empty()).then_some(ports),
        stop_timeout: p.stop_timeout.map(i64::from),
        host_config: Some(host_config),
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
    use flotilla_api::agent::{LABEL_CONTAINER, LABEL_HOST};
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
        assert_eq!(host.network_mode, None);
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
