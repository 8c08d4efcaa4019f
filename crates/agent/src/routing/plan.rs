//! The rules a host's routers need, and what to add and delete to get there; the networks a
//! host carries for its routers. Pure.
//!
//! Docker drops traffic between two of its bridge networks (`DOCKER-ISOLATION-STAGE-*`, after
//! `DOCKER-USER` in `FORWARD`) and masquerades a subnet's traffic leaving by another interface.
//! For each ordered pair of a router's subnets, Flotilla accepts the pair in `DOCKER-USER` and
//! returns it from `nat POSTROUTING` before Docker's `MASQUERADE`; every rule carries
//! [`COMMENT`], so the host's own rules are found and removed when an interface goes.

use flotilla_api::agent::{HostNetwork, HostRouter};
use std::collections::BTreeSet;

/// The comment of every rule Flotilla adds.
pub const COMMENT: &str = "flotilla-router";

/// One rule: its table, chain, and the match and target as `iptables -S` prints them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub table: &'static str,
    pub chain: &'static str,
    pub spec: Vec<String>,
}

/// The (table, chain) pairs Flotilla's rules live in.
pub const CHAINS: [(&str, &str); 2] = [("filter", "DOCKER-USER"), ("nat", "POSTROUTING")];

impl Rule {
    fn between(table: &'static str, chain: &'static str, from: &str, to: &str, target: &str) -> Self {
        let spec = ["-s", from, "-d", to, "-m", "comment", "--comment", COMMENT, "-j", target];
        Self { table, chain, spec: spec.iter().map(|s| (*s).to_owned()).collect() }
    }
}

/// The rules `routers` need: for each ordered pair of distinct subnets of one router, accept
/// the forwarded traffic and exempt it from masquerading.
pub fn wanted(routers: &[HostRouter]) -> BTreeSet<Rule> {
    let mut rules = BTreeSet::new();
    for router in routers {
        for a in &router.networks {
            for b in router.networks.iter().filter(|b| b.cidr != a.cidr) {
                rules.insert(Rule::between("filter", "DOCKER-USER", &a.cidr, &b.cidr, "ACCEPT"));
                rules.insert(Rule::between("nat", "POSTROUTING", &a.cidr, &b.cidr, "RETURN"));
            }
        }
    }
    rules
}

/// The networks the host carries for `routers`: each network of a router that spans hosts (has
/// an overlay), once. Its bridge, VXLAN device, entries and Docker network are kept like those of
/// a network with a container here, so traffic to it is routed on this host, answered by its
/// gateway here, and tunnelled to the host of its receiver.
pub fn carried(routers: &[HostRouter]) -> Vec<HostNetwork> {
    let mut networks: Vec<HostNetwork> = Vec::new();
    for n in routers.iter().flat_map(|r| &r.networks).filter(|n| n.overlay.is_some()) {
        if !networks.iter().any(|m| m.id == n.id) {
            networks.push(n.clone());
        }
    }
    networks
}

/// Flotilla's rules among `listing`, the output of `iptables -t TABLE -S CHAIN`.
pub fn ours(table: &'static str, chain: &'static str, listing: &str) -> BTreeSet<Rule> {
    let prefix = format!("-A {chain} ");
    listing
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|spec| spec.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|spec| spec.windows(2).any(|w| w[0] == "--comment" && w[1] == COMMENT))
        .map(|spec| Rule { table, chain, spec })
        .collect()
}

/// What to add (wanted, missing) and what to delete (present, unwanted).
pub fn diff(have: &BTreeSet<Rule>, want: &BTreeSet<Rule>) -> (Vec<Rule>, Vec<Rule>) {
    (want.difference(have).cloned().collect(), have.difference(want).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::agent::HostNetwork;
    use uuid::Uuid;

    fn router(cidrs: &[&str]) -> HostRouter {
        let networks = cidrs
            .iter()
            .map(|cidr| HostNetwork {
                id: Uuid::now_v7(),
                name: "n".into(),
                cidr: (*cidr).into(),
                gateway: cidr.replace(".0/24", ".1"),
                overlay: None,
                names: vec![],
            })
            .collect();
        HostRouter { id: Uuid::now_v7(), name: "r".into(), networks }
    }

    fn specs(rules: &BTreeSet<Rule>, chain: &str) -> Vec<String> {
        rules.iter().filter(|r| r.chain == chain).map(|r| r.spec.join(" ")).collect()
    }

    #[test]
    fn each_pair_of_a_routers_subnets_is_accepted_and_not_masqueraded() {
        let rules = wanted(&[router(&["10.1.0.0/24", "10.2.0.0/24"])]);
        assert_eq!(
            specs(&rules, "DOCKER-USER"),
            [
                "-s 10.1.0.0/24 -d 10.2.0.0/24 -m comment --comment flotilla-router -j ACCEPT",
                "-s 10.2.0.0/24 -d 10.1.0.0/24 -m comment --comment flotilla-router -j ACCEPT",
            ]
        );
        assert_eq!(specs(&rules, "POSTROUTING").len(), 2);
        assert!(rules.iter().all(|r| (r.table == "nat") == (r.chain == "POSTROUTING")));
        assert_eq!(wanted(&[router(&["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"])]).len(), 12, "3 subnets: 6 pairs, 2 rules each");
        assert!(wanted(&[router(&["10.1.0.0/24"])]).is_empty(), "one network routes to nothing");
        // Two routers never join each other's networks.
        let two = wanted(&[router(&["10.1.0.0/24", "10.2.0.0/24"]), router(&["10.3.0.0/24", "10.4.0.0/24"])]);
        assert!(!two.iter().any(|r| r.spec.join(" ").contains("-s 10.1.0.0/24 -d 10.3.0.0/24")), "{two:?}");
    }

    #[test]
    fn a_host_carries_the_networks_of_its_routers_that_span_hosts() {
        use flotilla_api::agent::NetworkOverlay;
        let mut spanning = router(&["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"]);
        for (n, vni) in spanning.networks.iter_mut().zip([4100, 4101]) {
            n.overlay = Some(NetworkOverlay { vni, mtu: 1450, remotes: vec![] });
        }
        let local = router(&["10.4.0.0/24", "10.5.0.0/24"]);
        let got: Vec<String> = carried(&[spanning.clone(), local]).into_iter().map(|n| n.cidr).collect();
        assert_eq!(got, ["10.1.0.0/24", "10.2.0.0/24"], "only networks with an overlay; a host without a tunnel address carries none");
        assert_eq!(carried(&[spanning.clone(), spanning]).len(), 2, "each network once");
        assert!(carried(&[]).is_empty());
    }

    #[test]
    fn listings_give_back_only_flotillas_rules_and_the_diff_converges() {
        let listing = "-N DOCKER-USER\n-A DOCKER-USER -s 10.1.0.0/24 -d 10.2.0.0/24 -m comment --comment flotilla-router -j ACCEPT\n\
                       -A DOCKER-USER -s 10.9.0.0/24 -d 10.8.0.0/24 -m comment --comment flotilla-router -j ACCEPT\n\
                       -A DOCKER-USER -s 10.5.0.0/24 -j ACCEPT\n-A DOCKER-USER -j RETURN\n";
        let have = ours("filter", "DOCKER-USER", listing);
        assert_eq!(have.len(), 2, "someone else's rules are not ours: {have:?}");
        let want: BTreeSet<Rule> = wanted(&[router(&["10.1.0.0/24", "10.2.0.0/24"])]).into_iter().filter(|r| r.table == "filter").collect();
        let (add, delete) = diff(&have, &want);
        assert_eq!(add.iter().map(|r| r.spec[1].as_str()).collect::<Vec<_>>(), ["10.2.0.0/24"]);
        assert_eq!(delete.iter().map(|r| r.spec[1].as_str()).collect::<Vec<_>>(), ["10.9.0.0/24"], "a removed interface's rule goes");
        let (add, delete) = diff(&want, &want);
        assert!(add.is_empty() && delete.is_empty());
    }
}
