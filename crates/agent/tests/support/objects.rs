//! The contract of networks and volumes that every runtime keeps, run against the simulated and
//! the Docker runtime.

use flotilla_agent::runtime::{ContainerRuntime, CreateSpec, Endpoint, MountSpec, NetworkSpec, RuntimeError, RuntimeObject, VolumeSpec};
use flotilla_api::agent::{HostNetwork, HostVolume};
use std::collections::BTreeMap;
use uuid::Uuid;

fn network(x: u8) -> HostNetwork {
    HostNetwork {
        id: Uuid::now_v7(),
        name: "contract".into(),
        cidr: format!("10.213.{x}.0/24"),
        gateway: format!("10.213.{x}.1"),
        names: vec![],
        overlay: None,
    }
}

fn endpoint(spec: &NetworkSpec, last: u8) -> Endpoint {
    let prefix = spec.cidr.trim_end_matches("0/24");
    Endpoint {
        network: spec.name.clone(),
        ip_address: format!("{prefix}{last}"),
        mac_address: String::new(),
        aliases: vec!["contract".into()],
        gateway: format!("{prefix}1"),
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// Ensures, lists, uses, connects, disconnects and removes networks (on subnets `10.213.X.0/24`
/// for the X in `subnets`) and a volume of host `base.host_id`; `base` makes a container that
/// keeps running once started.
pub async fn networks_and_volumes_keep_the_contract(rt: &dyn ContainerRuntime, base: CreateSpec, subnets: [u8; 2]) {
    let host = base.host_id;
    let front = NetworkSpec::new(&network(subnets[0]), host);
    let back = NetworkSpec::new(&network(subnets[1]), host);
    rt.ensure_network(&front).await.unwrap();
    rt.ensure_network(&front).await.expect("ensuring again is fine");
    rt.ensure_network(&NetworkSpec { host_id: Uuid::now_v7(), ..front.clone() }).await.expect("so is another host's agent using it");
    let impostor = NetworkSpec { network_id: Uuid::now_v7(), ..front.clone() };
    assert!(matches!(rt.ensure_network(&impostor).await, Err(RuntimeError::Conflict(_))), "the name of another network");
    let listed = rt.networks().await.unwrap();
    assert!(listed.contains(&RuntimeObject { name: front.name.clone(), id: front.network_id, host_id: host }), "{listed:?}");

    let volume = HostVolume { id: Uuid::now_v7(), name: "contract".into(), driver: "local".into(), driver_opts: BTreeMap::new() };
    let data = VolumeSpec::new(&volume, host);
    rt.ensure_volume(&data).await.unwrap();
    rt.ensure_volume(&VolumeSpec { host_id: Uuid::now_v7(), ..data.clone() }).await.expect("another host's agent uses it");
    let impostor = VolumeSpec { volume_id: Uuid::now_v7(), ..data.clone() };
    assert!(matches!(rt.ensure_volume(&impostor).await, Err(RuntimeError::Conflict(_))), "the name of another volume");
    let listed = rt.volumes().await.unwrap();
    assert!(listed.contains(&RuntimeObject { name: data.name.clone(), id: data.volume_id, host_id: host }), "{listed:?}");

    let lost = CreateSpec { name: format!("{}-lost", base.name), networks: vec![endpoint(&front, 9)], ..base.clone() };
    let lost = CreateSpec { networks: vec![Endpoint { network: "flt-net-never-made-0".into(), ..lost.networks[0].clone() }], ..lost };
    // Docker refuses it at start, the simulated runtime already at create.
    let refused = match rt.create(&lost).await {
        Err(_) => true,
        Ok(id) => {
            let started = rt.start(&id).await;
            rt.remove(&id, true).await.unwrap();
            started.is_err()
        }
    };
    assert!(refused, "a container on a missing network does not run");

    let spec = CreateSpec {
        networks: vec![endpoint(&front, 20)],
        mounts: vec![MountSpec { volume: data.name.clone(), target: "/data".into(), read_only: false }],
        ..base.clone()
    };
    let id = rt.create(&spec).await.unwrap();
    rt.start(&id).await.unwrap();
    assert_eq!(rt.inspect(&id).await.unwrap().networks, vec![front.name.clone()]);
    assert!(matches!(rt.remove_network(&front.name).await, Err(RuntimeError::InUse(_))), "a network in use stays");
    assert!(matches!(rt.remove_volume(&data.name).await, Err(RuntimeError::InUse(_))), "a volume in use stays");

    rt.ensure_network(&back).await.unwrap();
    let two = CreateSpec { name: format!("{}-two", base.name), networks: vec![endpoint(&back, 21), endpoint(&front, 21)], ..base.clone() };
    let id2 = rt.create(&two).await.unwrap();
    assert_eq!(rt.inspect(&id2).await.unwrap().networks, sorted(vec![front.name.clone(), back.name.clone()]), "created on both");
    rt.remove(&id2, true).await.unwrap();

    rt.connect(&id, &endpoint(&back, 20)).await.unwrap();
    let listed = rt.list(host).await.unwrap();
    assert_eq!(listed[0].networks, sorted(vec![front.name.clone(), back.name.clone()]), "the list shows the networks too");
    rt.disconnect(&id, &front.name).await.unwrap();
    assert_eq!(rt.inspect(&id).await.unwrap().networks, vec![back.name.clone()]);
    rt.remove_network(&front.name).await.expect("free once disconnected");

    rt.remove(&id, true).await.unwrap();
    rt.remove_network(&back.name).await.unwrap();
    rt.remove_volume(&data.name).await.unwrap();
    assert!(matches!(rt.remove_network(&back.name).await, Err(RuntimeError::NotFound(_))));
    assert!(matches!(rt.remove_volume(&data.name).await, Err(RuntimeError::NotFound(_))));
    assert!(!rt.networks().await.unwrap().iter().any(|n| n.host_id == host), "no network of this host is left");
    assert!(!rt.volumes().await.unwrap().iter().any(|v| v.host_id == host), "no volume of this host is left");
}
