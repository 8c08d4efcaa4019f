//! The overlay's pure decisions: which links (bridges, VXLAN devices) to make, fix or delete, and
//! which forwarding and neighbour entries to add, replace or remove, from what the assignments
//! want and what the kernel shows. Tested without a kernel.

use super::{OverlayNetwork, is_overlay_bridge, is_overlay_vxlan};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// What kind of link the kernel shows under a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Bridge,
    /// A VXLAN device with its VNI and local address.
    Vxlan {
        vni: u32,
        local: Option<Ipv4Addr>,
    },
    Other,
}

/// A link as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub kind: LinkKind,
}

/// One step on the links, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStep {
    /// A link of ours that nothing wants, or a VXLAN device made with another VNI or local address.
    Delete { name: String },
    /// Makes the bridge, or sets the MTU of one present and brings it up (nothing is cut).
    Bridge { name: String, mtu: u32, create: bool },
    /// Makes the VXLAN device on `bridge`, or attaches one present to it, sets its MTU, brings it up.
    Vxlan { name: String, vni: u32, bridge: String, mtu: u32, create: bool },
}

/// A name this host's overlay wants but another link holds: that network's overlay cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub network: uuid::Uuid,
    pub reason: String,
}

/// The steps that make `present` hold `wanted` (on tunnel address `local`) and nothing else of
/// ours: deletions first, then bridges, then their VXLAN devices. Links that are right are kept
/// as they are (their entries and the traffic through them too).
pub fn plan_links(wanted: &[OverlayNetwork], keep: &[String], present: &[Link], local: Ipv4Addr) -> (Vec<LinkStep>, Vec<Clash>) {
    let find = |name: &str| present.iter().find(|l| l.name == name);
    let mut deletes = Vec::new();
    let mut bridges = Vec::new();
    let mut vxlans = Vec::new();
    let mut clashes = Vec::new();
    for n in wanted {
        let bridge = match find(&n.bridge).map(|l| l.kind) {
            None => true,
            Some(LinkKind::Bridge) => false,
            Some(other) => {
                clashes.push(Clash { network: n.network_id, reason: format!("link {} exists and is not a bridge ({other:?})", n.bridge) });
                continue;
            }
        };
        let vxlan = match find(&n.vxlan).map(|l| l.kind) {
            None => true,
            Some(LinkKind::Vxlan { vni, local: at }) if vni == n.vni && at == Some(local) => false,
            Some(LinkKind::Vxlan { .. }) => {
                deletes.push(LinkStep::Delete { name: n.vxlan.clone() });
                true
            }
            Some(other) => {
                clashes.push(Clash {
                    network: n.network_id,
                    reason: format!("link {} exists and is not a VXLAN device ({other:?})", n.vxlan),
                });
                continue;
            }
        };
        bridges.push(LinkStep::Bridge { name: n.bridge.clone(), mtu: n.mtu, create: bridge });
        vxlans.push(LinkStep::Vxlan { name: n.vxlan.clone(), vni: n.vni, bridge: n.bridge.clone(), mtu: n.mtu, create: vxlan });
    }
    let wanted_name = |name: &str| wanted.iter().any(|n| n.bridge == name || n.vxlan == name) || keep.iter().any(|k| k == name);
    for link in present {
        let ours = match link.kind {
            LinkKind::Bridge => is_overlay_bridge(&link.name),
            LinkKind::Vxlan { .. } => is_overlay_vxlan(&link.name),
            LinkKind::Other => false,
        };
        if ours && !wanted_name(&link.name) {
            deletes.push(LinkStep::Delete { name: link.name.clone() });
        }
    }
    (deletes.into_iter().chain(bridges).chain(vxlans).collect(), clashes)
}

/// What to do to one table of entries (forwarding: MAC → tunnel address; neighbour: IP → MAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPlan<K, V> {
    /// Present, not wanted: removed first.
    pub remove: Vec<K>,
    /// Missing, or present with another value: added (replacing).
    pub put: Vec<(K, V)>,
}

/// Wanted against present, by key.
pub fn plan_entries<K: Ord + Clone, V: PartialEq + Clone>(wanted: &BTreeMap<K, V>, present: &BTreeMap<K, V>) -> EntryPlan<K, V> {
    EntryPlan {
        remove: present.keys().filter(|k| !wanted.contains_key(*k)).cloned().collect(),
        put: wanted.iter().filter(|(k, v)| present.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}

impl<K, V> EntryPlan<K, V> {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.put.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::{bridge_name, vxlan_name};
    use uuid::Uuid;

    const LOCAL: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    fn network(n: u128, vni: u32) -> OverlayNetwork {
        let id = Uuid::from_u128(0xabcd_0000 + n);
        OverlayNetwork {
            network_id: id,
            runtime_name: format!("flt-net-n{n}"),
            bridge: bridge_name(id),
            vxlan: vxlan_name(vni),
            vni,
            mtu: 1450,
            remotes: Vec::new(),
        }
    }

    fn bridge(name: &str) -> Link {
        Link { name: name.into(), kind: LinkKind::Bridge }
    }

    fn vxlan(name: &str, vni: u32, local: Ipv4Addr) -> Link {
        Link { name: name.into(), kind: LinkKind::Vxlan { vni, local: Some(local) } }
    }

    #[test]
    fn a_new_network_gets_a_bridge_then_its_vxlan_device() {
        let n = network(1, 4096);
        let (steps, clashes) = plan_links(std::slice::from_ref(&n), &[], &[bridge("docker0")], LOCAL);
        assert!(clashes.is_empty());
        assert_eq!(
            steps,
            vec![
                LinkStep::Bridge { name: n.bridge.clone(), mtu: 1450, create: true },
                LinkStep::Vxlan { name: "fltx-4096".into(), vni: 4096, bridge: n.bridge.clone(), mtu: 1450, create: true },
            ]
        );
    }

    #[test]
    fn links_that_are_right_are_kept_not_recreated() {
        let n = network(1, 4096);
        let present = [bridge(&n.bridge), vxlan(&n.vxlan, 4096, LOCAL)];
        let (steps, _) = plan_links(std::slice::from_ref(&n), &[], &present, LOCAL);
        assert!(steps.iter().all(|s| !matches!(s, LinkStep::Delete { .. })), "{steps:?}");
        assert!(steps.iter().all(|s| matches!(s, LinkStep::Bridge { create: false, .. } | LinkStep::Vxlan { create: false, .. })));
    }

    #[test]
    fn a_vxlan_device_with_another_vni_or_address_is_made_again() {
        let n = network(1, 4096);
        for wrong in [vxlan(&n.vxlan, 5000, LOCAL), vxlan(&n.vxlan, 4096, Ipv4Addr::new(198, 51, 100, 9))] {
            let (steps, _) = plan_links(std::slice::from_ref(&n), &[], &[bridge(&n.bridge), wrong], LOCAL);
            assert_eq!(steps[0], LinkStep::Delete { name: n.vxlan.clone() });
            assert!(matches!(&steps[2], LinkStep::Vxlan { create: true, .. }));
        }
    }

    #[test]
    fn unwanted_links_of_ours_go_and_others_stay() {
        let n = network(1, 4096);
        let gone = network(2, 4097);
        let kept = network(3, 4098);
        let present = [
            bridge(&n.bridge),
            bridge(&gone.bridge),
            vxlan(&gone.vxlan, 4097, LOCAL),
            bridge(&kept.bridge),
            vxlan(&kept.vxlan, 4098, LOCAL),
            bridge("docker0"),
            bridge("flt-notours"),
            Link { name: "fltx-12".into(), kind: LinkKind::Other },
        ];
        let keep = [kept.bridge.clone(), kept.vxlan.clone()];
        let (steps, _) = plan_links(std::slice::from_ref(&n), &keep, &present, LOCAL);
        let deleted: Vec<&str> =
            steps.iter().filter_map(|s| if let LinkStep::Delete { name } = s { Some(name.as_str()) } else { None }).collect();
        assert_eq!(deleted, [gone.bridge.as_str(), gone.vxlan.as_str()]);
    }

    #[test]
    fn a_name_held_by_another_kind_of_link_is_a_clash() {
        let n = network(1, 4096);
        let (steps, clashes) = plan_links(std::slice::from_ref(&n), &[], &[Link { name: n.bridge.clone(), kind: LinkKind::Other }], LOCAL);
        assert!(steps.is_empty());
        assert_eq!(clashes.len(), 1);
        assert!(clashes[0].reason.contains("not a bridge"), "{}", clashes[0].reason);
        assert!(plan_links(&[], &[], &[Link { name: n.bridge.clone(), kind: LinkKind::Other }], LOCAL).0.is_empty(), "not ours: left");
    }

    #[test]
    fn entries_follow_the_wanted_table() {
        let wanted = BTreeMap::from([("a", 1), ("b", 2), ("c", 3)]);
        let present = BTreeMap::from([("a", 1), ("b", 9), ("d", 4)]);
        let plan = plan_entries(&wanted, &present);
        assert_eq!(plan.remove, ["d"], "gone");
        assert_eq!(plan.put, [("b", 2), ("c", 3)], "moved, and new");
        assert!(plan_entries(&wanted, &wanted).is_empty(), "nothing to do when all is there");
        assert_eq!(plan_entries(&BTreeMap::<&str, i32>::new(), &present).remove, ["a", "b", "d"]);
    }
}
