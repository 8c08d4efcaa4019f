//! The host's networks and volumes, pure: what the assignments need and the runtime lacks is
//! made before containers are; what this host's agent made and nothing needs any more is removed
//! after them. Objects made by another host's agent (sharing the engine) are used, never removed.

use crate::runtime::{NetworkSpec, RuntimeObject, VolumeSpec};
use flotilla_api::agent::{Assignment, HostNetwork, HostVolume};
use flotilla_core::container::DesiredState;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What a pass does to the host's networks and volumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPlan {
    /// Needed and missing: made before any container is created.
    pub ensure_networks: Vec<NetworkSpec>,
    pub ensure_volumes: Vec<VolumeSpec>,
    /// Runtime names of the objects labelled with this host that nothing needs: removed once the
    /// pass's containers are gone (an object still in use is left for a later pass).
    pub remove_networks: Vec<String>,
    pub remove_volumes: Vec<String>,
}

/// `assignments` are the host's containers (those whose desired state is deleted need nothing),
/// `carried` the networks the host carries for its routers, `pool` the volumes its pool holds,
/// `networks` and `volumes` the runtime's Flotilla objects.
pub fn plan(
    host_id: Uuid,
    assignments: &[Assignment],
    carried: &[HostNetwork],
    pool: &[HostVolume],
    networks: &[RuntimeObject],
    volumes: &[RuntimeObject],
) -> ObjectPlan {
    let live = || assignments.iter().filter(|a| a.desired != DesiredState::Deleted);
    let needed_networks: BTreeMap<String, NetworkSpec> = live()
        .flat_map(|a| a.networks.iter().map(|n| &n.network))
        .chain(carried)
        .map(|n| NetworkSpec::new(n, host_id))
        .map(|s| (s.name.clone(), s))
        .collect();
    let needed_volumes: BTreeMap<String, VolumeSpec> = live()
        .flat_map(|a| a.mounts.iter().map(|m| &m.volume))
        .chain(pool)
        .map(|v| VolumeSpec::new(v, host_id))
        .map(|s| (s.name.clone(), s))
        .collect();
    let present = |listed: &[RuntimeObject], name: &str, id: Uuid| listed.iter().any(|o| o.name == name && o.id == id);
    let unneeded = |listed: &[RuntimeObject], needed: &dyn Fn(&str) -> bool| {
        let mut names: Vec<String> = listed.iter().filter(|o| o.host_id == host_id && !needed(&o.name)).map(|o| o.name.clone()).collect();
        names.sort();
        names
    };
    ObjectPlan {
        ensure_networks: needed_networks.values().filter(|s| !present(networks, &s.name, s.network_id)).cloned().collect(),
        ensure_volumes: needed_volumes.values().filter(|s| !present(volumes, &s.name, s.volume_id)).cloned().collect(),
        remove_networks: unneeded(networks, &|name| needed_networks.contains_key(name)),
        remove_volumes: unneeded(volumes, &|name| needed_volumes.contains_key(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::fixtures::{assignment, network, on, volume};
    use crate::runtime::{network_name, volume_name};

    const HOST: Uuid = Uuid::from_u128(500);
    const OTHER_HOST: Uuid = Uuid::from_u128(501);

    fn listed_network(n: u128, host_id: Uuid) -> RuntimeObject {
        RuntimeObject { name: network_name(&network(n)), id: Uuid::from_u128(n), host_id }
    }

    fn listed_volume(n: u128, host_id: Uuid) -> RuntimeObject {
        RuntimeObject { name: volume_name(&volume(n)), id: Uuid::from_u128(n), host_id }
    }

    /// Networks and volumes to ensure (by number), networks and volumes to remove (by number).
    type Want = (Vec<u128>, Vec<u128>, Vec<u128>, Vec<u128>);

    /// Name, assignments, pool volumes, listed networks, listed volumes, wanted plan.
    type Case = (&'static str, Vec<Assignment>, Vec<u128>, Vec<RuntimeObject>, Vec<RuntimeObject>, Want);

    #[test]
    fn objects_follow_what_containers_and_the_pool_need() {
        use DesiredState::*;
        let none = || Vec::<u128>::new();
        let table: Vec<Case> = vec![
            ("nothing assigned, nothing there", vec![], vec![], vec![], vec![], (none(), none(), none(), none())),
            (
                "a container's networks and volumes are made, once each",
                vec![on(assignment(1, Running), &[1, 2], &[7]), on(assignment(2, Stopped), &[2], &[7, 8])],
                vec![],
                vec![],
                vec![],
                (vec![1, 2], vec![7, 8], none(), none()),
            ),
            (
                "what exists is not made again, also when another host's agent made it",
                vec![on(assignment(1, Running), &[1, 2], &[7])],
                vec![],
                vec![listed_network(1, HOST), listed_network(2, OTHER_HOST)],
                vec![listed_volume(7, OTHER_HOST)],
                (none(), none(), none(), none()),
            ),
            (
                "pool volumes are made without containers",
                vec![],
                vec![7, 8],
                vec![],
                vec![listed_volume(8, HOST)],
                (none(), vec![7], none(), none()),
            ),
            (
                "unneeded objects of this host are removed, another host's are left",
                vec![on(assignment(1, Running), &[1], &[])],
                vec![7],
                vec![listed_network(1, HOST), listed_network(2, HOST), listed_network(3, OTHER_HOST)],
                vec![listed_volume(7, HOST), listed_volume(8, HOST), listed_volume(9, OTHER_HOST)],
                (none(), none(), vec![2], vec![8]),
            ),
            (
                "a deleted container needs nothing",
                vec![on(assignment(1, Deleted), &[1], &[7])],
                vec![],
                vec![listed_network(1, HOST)],
                vec![listed_volume(7, HOST)],
                (none(), none(), vec![1], vec![7]),
            ),
        ];
        for (case, assignments, pool, networks, volumes, want) in table {
            let pool: Vec<HostVolume> = pool.into_iter().map(volume).collect();
            let got = plan(HOST, &assignments, &[], &pool, &networks, &volumes);
            let network_names = |ns: Vec<u128>| ns.into_iter().map(|n| network_name(&network(n))).collect::<Vec<_>>();
            let volume_names = |vs: Vec<u128>| vs.into_iter().map(|v| volume_name(&volume(v))).collect::<Vec<_>>();
            let ensured_networks: Vec<String> = got.ensure_networks.iter().map(|s| s.name.clone()).collect();
            let ensured_volumes: Vec<String> = got.ensure_volumes.iter().map(|s| s.name.clone()).collect();
            assert_eq!(ensured_networks, network_names(want.0), "{case}: networks to make");
            assert_eq!(ensured_volumes, volume_names(want.1), "{case}: volumes to make");
            assert_eq!(got.remove_networks, network_names(want.2), "{case}: networks to remove");
            assert_eq!(got.remove_volumes, volume_names(want.3), "{case}: volumes to remove");
        }
    }

    #[test]
    fn made_objects_are_labelled_with_this_host_and_carry_the_specs() {
        let got = plan(HOST, &[on(assignment(1, DesiredState::Running), &[4], &[5])], &[], &[], &[], &[]);
        let n = &got.ensure_networks[0];
        assert_eq!(
            (n.host_id, n.network_id, n.cidr.as_str(), n.gateway.as_str()),
            (HOST, Uuid::from_u128(4), "10.213.4.0/24", "10.213.4.1")
        );
        let v = &got.ensure_volumes[0];
        assert_eq!((v.host_id, v.volume_id, v.driver.as_str()), (HOST, Uuid::from_u128(5), "local"));
    }

    #[test]
    fn networks_carried_for_routers_are_made_without_a_container_and_go_when_no_longer_carried() {
        let a = on(assignment(1, DesiredState::Running), &[1], &[]);
        let got = plan(HOST, std::slice::from_ref(&a), &[network(1), network(2)], &[], &[listed_network(1, HOST)], &[]);
        let made: Vec<&str> = got.ensure_networks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(made, [network_name(&network(2))], "the routed network is made; the container's exists");
        let got = plan(HOST, &[a], &[], &[], &[listed_network(1, HOST), listed_network(2, HOST)], &[]);
        assert_eq!(got.remove_networks, [network_name(&network(2))], "the router left: its network goes");
    }

    #[test]
    fn a_listed_object_of_the_same_name_but_another_id_is_not_taken_for_it() {
        let mut impostor = listed_network(1, HOST);
        impostor.id = Uuid::from_u128(99);
        let got = plan(HOST, &[on(assignment(1, DesiredState::Running), &[1], &[])], &[], &[], &[impostor], &[]);
        assert_eq!(got.ensure_networks.len(), 1, "ensured, so the conflict is reported");
        assert!(got.remove_networks.is_empty(), "its name is needed");
    }
}
