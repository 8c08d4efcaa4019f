//! Live network changes, pure: a container of the assigned generation is connected to the Flotilla
//! networks assigned to it and disconnected from the others (an attach or detach changes a
//! container's networks without a new generation). Networks that are not Flotilla's (the
//! runtime's default, the host's) are left alone.

use crate::runtime::{Endpoint, RuntimeContainer, RuntimeObject, RuntimeState};
use flotilla_api::agent::Assignment;
use flotilla_core::container::DesiredState;
use std::collections::HashSet;
use uuid::Uuid;

/// One connect or disconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    Connect { id: Uuid, runtime_id: String, endpoint: Endpoint },
    Disconnect { id: Uuid, runtime_id: String, network: String },
}

/// `runtime` is the host's containers as they are now, `networks` the runtime's Flotilla networks.
pub fn plan(assignments: &[Assignment], runtime: &[RuntimeContainer], networks: &[RuntimeObject]) -> Vec<Attach> {
    let flotilla: HashSet<&str> = networks.iter().map(|n| n.name.as_str()).collect();
    let mut changes = Vec::new();
    for a in assignments.iter().filter(|a| a.desired != DesiredState::Deleted) {
        // A restarting container is left until it settles.
        let current =
            runtime.iter().find(|c| c.container_id == a.id && c.generation == a.generation && c.state != RuntimeState::Restarting);
        let Some(c) = current else { continue };
        let assigned: Vec<Endpoint> = a.networks.iter().map(Endpoint::from).collect();
        changes.extend(assigned.iter().filter(|e| !c.networks.contains(&e.network)).map(|e| Attach::Connect {
            id: a.id,
            runtime_id: c.runtime_id.clone(),
            endpoint: e.clone(),
        }));
        changes.extend(
            c.networks
                .iter()
                .filter(|n| flotilla.contains(n.as_str()) && !assigned.iter().any(|e| e.network == **n))
                .map(|n| Attach::Disconnect { id: a.id, runtime_id: c.runtime_id.clone(), network: n.clone() }),
        );
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::fixtures::{assignment, network, on};
    use crate::runtime::network_name;

    fn container(n: u128, generation: u64, state: RuntimeState, networks: &[&str]) -> RuntimeContainer {
        RuntimeContainer {
            runtime_id: format!("r{n}"),
            container_id: Uuid::from_u128(n),
            generation,
            name: format!("flt-c{n}"),
            state,
            exit_code: None,
            networks: networks.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn listed(n: u128) -> RuntimeObject {
        RuntimeObject { name: network_name(&network(n)), id: Uuid::from_u128(n), host_id: Uuid::from_u128(500) }
    }

    fn net(n: u128) -> String {
        network_name(&network(n))
    }

    fn connect(c: u128, n: u128) -> Attach {
        let a = on(assignment(c, DesiredState::Running), &[n], &[]);
        Attach::Connect { id: Uuid::from_u128(c), runtime_id: format!("r{c}"), endpoint: Endpoint::from(&a.networks[0]) }
    }

    fn disconnect(c: u128, n: u128) -> Attach {
        Attach::Disconnect { id: Uuid::from_u128(c), runtime_id: format!("r{c}"), network: net(n) }
    }

    /// Name, assignment, the runtime's copy of it, wanted changes.
    type Case = (&'static str, Assignment, RuntimeContainer, Vec<Attach>);

    #[test]
    fn assigned_networks_are_followed_live() {
        use DesiredState as D;
        use RuntimeState as S;
        let (n1, n2) = (net(1), net(2));
        let table: Vec<Case> = vec![
            ("as assigned: nothing", on(assignment(1, D::Running), &[1, 2], &[]), container(1, 1, S::Running, &[&n1, &n2]), vec![]),
            ("attached: connected", on(assignment(1, D::Running), &[1, 2], &[]), container(1, 1, S::Running, &[&n1]), vec![connect(1, 2)]),
            (
                "detached: disconnected",
                on(assignment(1, D::Running), &[1], &[]),
                container(1, 1, S::Running, &[&n1, &n2]),
                vec![disconnect(1, 2)],
            ),
            (
                "moved: connected to the new, disconnected from the old",
                on(assignment(1, D::Running), &[3], &[]),
                container(1, 1, S::Running, &[&n1]),
                vec![connect(1, 3), disconnect(1, 1)],
            ),
            (
                "a stopped container follows too",
                on(assignment(1, D::Stopped), &[1, 3], &[]),
                container(1, 1, S::Exited, &[&n1]),
                vec![connect(1, 3)],
            ),
            (
                "networks that are not Flotilla's are left",
                on(assignment(1, D::Running), &[], &[]),
                container(1, 1, S::Running, &["bridge", "admin-net"]),
                vec![],
            ),
            (
                "another generation is being replaced",
                on(assignment(1, D::Running), &[1, 2], &[]),
                container(1, 0, S::Running, &[&n1]),
                vec![],
            ),
            ("a restarting container waits", on(assignment(1, D::Running), &[1, 2], &[]), container(1, 1, S::Restarting, &[&n1]), vec![]),
            (
                "a deleted container is being removed",
                on(assignment(1, D::Deleted), &[1, 2], &[]),
                container(1, 1, S::Running, &[&n1]),
                vec![],
            ),
        ];
        let networks = [listed(1), listed(2), listed(3)];
        for (case, a, c, want) in table {
            assert_eq!(plan(&[a], &[c], &networks), want, "{case}");
        }
    }

    #[test]
    fn connects_carry_the_address_and_aliases() {
        let a = on(assignment(1, DesiredState::Running), &[2], &[]);
        let got = plan(std::slice::from_ref(&a), &[container(1, 1, RuntimeState::Running, &[])], &[listed(2)]);
        let [Attach::Connect { endpoint, .. }] = got.as_slice() else { panic!("one connect: {got:?}") };
        assert_eq!((endpoint.ip_address.as_str(), endpoint.aliases.as_slice()), ("10.213.2.9", &["c1".to_owned()][..]));
    }
}
