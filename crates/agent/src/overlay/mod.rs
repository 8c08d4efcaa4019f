//! The overlay of Flotilla networks on this host, and the one place its per-network state lives:
//! for each network the assignments carry with an overlay, a Linux bridge `flt-<last 8 hex of the
//! network id>` with a VXLAN device `fltx-<vni>` attached (local = the host's tunnel address, UDP
//! 4789, no learning, ARP answered from the neighbour table), the forwarding entries (remote MAC →
//! its host's tunnel address) and neighbour entries (remote IP → MAC) of the network's containers
//! on other hosts — all from the control plane, nothing learned from the wire, no flooding entry.
//!
//! API: [`wanted`] reads the overlay networks out of the assignments (with those the host carries
//! for its routers: [`crate::routing`]); [`Overlay::reconcile`] makes
//! the kernel match them (links that are right are kept, entries added and removed one by one) and
//! deletes the links of networks gone. The Docker network of each is bound to its bridge by the
//! runtime ([`crate::runtime::NetworkSpec::bridge`]).

mod kernel;
mod plan;

pub use plan::{EntryPlan, Link, LinkKind, LinkStep, plan_entries, plan_links};

use flotilla_api::agent::{Assignment, HostNetwork};
use flotilla_core::container::DesiredState;
use kernel::Kernel;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use uuid::Uuid;

/// What the overlay could not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlayError {
    #[error("netlink: {context}: {message}")]
    Netlink { context: String, message: String },
    #[error("{0}")]
    Clash(String),
}

/// The bridge of network `id`: `flt-` and the last 8 hex digits of its id (the random tail of a UUIDv7).
pub fn bridge_name(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("flt-{}", &hex[hex.len() - 8..])
}

/// The VXLAN device of VNI `vni`: `fltx-<vni>` (at most 13 characters, within the kernel's 15).
pub fn vxlan_name(vni: u32) -> String {
    format!("fltx-{vni}")
}

/// Whether `name` is a bridge name [`bridge_name`] makes.
pub fn is_overlay_bridge(name: &str) -> bool {
    name.strip_prefix("flt-").is_some_and(|h| h.len() == 8 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Whether `name` is a VXLAN device name [`vxlan_name`] makes.
pub fn is_overlay_vxlan(name: &str) -> bool {
    name.strip_prefix("fltx-").is_some_and(|d| !d.is_empty() && d.len() <= 8 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// A container of the network on another host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    /// Its host's tunnel address.
    pub tunnel: Ipv4Addr,
}

/// One network's overlay as this host should have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayNetwork {
    pub network_id: Uuid,
    /// The runtime's name of the network (`flt-net-...`).
    pub runtime_name: String,
    pub bridge: String,
    pub vxlan: String,
    pub vni: u32,
    pub mtu: u32,
    pub remotes: Vec<Remote>,
}

impl OverlayNetwork {
    /// Forwarding entries wanted on the VXLAN device: MAC → tunnel address.
    pub fn forwarding(&self) -> BTreeMap<[u8; 6], Ipv4Addr> {
        self.remotes.iter().map(|r| (r.mac, r.tunnel)).collect()
    }

    /// Neighbour entries wanted on the VXLAN device: IP → MAC.
    pub fn neighbours(&self) -> BTreeMap<Ipv4Addr, [u8; 6]> {
        self.remotes.iter().map(|r| (r.ip, r.mac)).collect()
    }
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The overlay networks the live assignments use and those `carried` for the host's routers, once
/// each. A remote endpoint that does not parse is left out (and logged): the rest of the network
/// still works.
pub fn wanted(assignments: &[Assignment], carried: &[HostNetwork]) -> Vec<OverlayNetwork> {
    let mut networks: BTreeMap<Uuid, OverlayNetwork> = BTreeMap::new();
    let live = assignments.iter().filter(|a| a.desired != DesiredState::Deleted);
    for network in live.flat_map(|a| a.networks.iter().map(|n| &n.network)).chain(carried) {
        let Some(overlay) = &network.overlay else { continue };
        networks.entry(network.id).or_insert_with(|| OverlayNetwork {
            network_id: network.id,
            runtime_name: crate::runtime::network_name(network),
            bridge: bridge_name(network.id),
            vxlan: vxlan_name(overlay.vni),
            vni: overlay.vni,
            mtu: overlay.mtu,
            remotes: overlay
                .remotes
                .iter()
                .filter_map(|r| {
                    let parsed = (r.ip.parse().ok(), parse_mac(&r.mac), r.tunnel_address.parse().ok());
                    match parsed {
                        (Some(ip), Some(mac), Some(tunnel)) => Some(Remote { ip, mac, tunnel }),
                        _ => {
                            tracing::warn!(network = %network.id, endpoint = ?r, "remote endpoint does not parse, left out");
                            None
                        }
                    }
                })
                .collect(),
        });
    }
    networks.into_values().collect()
}

/// This host's overlay, over netlink in the agent's network namespace.
pub struct Overlay {
    kernel: Kernel,
    local: Ipv4Addr,
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay").field("local", &self.local).finish_non_exhaustive()
    }
}

impl Overlay {
    /// Opens a netlink socket in the current network namespace (the connection runs on the
    /// current tokio runtime); VXLAN devices are made with `local` as their source address.
    pub fn connect(local: Ipv4Addr) -> Result<Self, OverlayError> {
        Ok(Self { kernel: Kernel::connect()?, local })
    }

    /// The tunnel address.
    pub fn local(&self) -> Ipv4Addr {
        self.local
    }

    /// Makes the kernel hold `wanted` (bridges, VXLAN devices, entries) and deletes the links of
    /// ours that neither `wanted` nor `keep` (names of links still in use, e.g. the bridge of a
    /// Docker network not yet removed) names. Answers the networks that could not be made, by
    /// runtime name, with why; everything else is done even when one network fails.
    pub async fn reconcile(&self, wanted: &[OverlayNetwork], keep: &[String]) -> HashMap<String, String> {
        let mut failed = HashMap::new();
        let present = match self.kernel.links().await {
            Ok(present) => present,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list links");
                return wanted.iter().map(|n| (n.runtime_name.clone(), format!("overlay: {e}"))).collect();
            }
        };
        let (steps, clashes) = plan_links(wanted, keep, &present.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>(), self.local);
        for clash in clashes {
            if let Some(n) = wanted.iter().find(|n| n.network_id == clash.network) {
                failed.insert(n.runtime_name.clone(), format!("overlay: {}", clash.reason));
            }
        }
        for step in &steps {
            if let Err(e) = self.kernel.apply(step, self.local).await {
                tracing::warn!(?step, error = %e, "overlay link step failed");
                let name = match step {
                    LinkStep::Delete { .. } => continue,
                    LinkStep::Bridge { name, .. } | LinkStep::Vxlan { name, .. } => name,
                };
                if let Some(n) = wanted.iter().find(|n| n.bridge == *name || n.vxlan == *name) {
                    failed.entry(n.runtime_name.clone()).or_insert_with(|| format!("overlay: {e}"));
                }
            } else if !matches!(step, LinkStep::Bridge { create: false, .. } | LinkStep::Vxlan { create: false, .. }) {
                tracing::info!(?step, "overlay link changed");
            }
        }
        for n in wanted {
            if failed.contains_key(&n.runtime_name) {
                continue;
            }
            if let Err(e) = self.entries(n).await {
                tracing::warn!(network = %n.network_id, error = %e, "overlay entries not in place");
                failed.insert(n.runtime_name.clone(), format!("overlay: {e}"));
            }
        }
        failed
    }

    /// Makes the forwarding and neighbour entries of `n`'s VXLAN device those of its remotes.
    async fn entries(&self, n: &OverlayNetwork) -> Result<(), OverlayError> {
        let index = self.kernel.index(&n.vxlan).await?;
        let fdb = plan_entries(&n.forwarding(), &self.kernel.forwarding(index).await?);
        for mac in &fdb.remove {
            self.kernel.remove_forwarding(index, *mac).await?;
        }
        for (mac, tunnel) in &fdb.put {
            self.kernel.put_forwarding(index, *mac, *tunnel).await?;
        }
        let neighbours = plan_entries(&n.neighbours(), &self.kernel.neighbours(index).await?);
        for ip in &neighbours.remove {
            self.kernel.remove_neighbour(index, *ip).await?;
        }
        for (ip, mac) in &neighbours.put {
            self.kernel.put_neighbour(index, *ip, *mac).await?;
        }
        if !fdb.is_empty() || !neighbours.is_empty() {
            tracing::info!(network = %n.network_id, vxlan = %n.vxlan, fdb = ?fdb, neighbours = ?neighbours, "overlay entries changed");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::agent::{NetworkOverlay, RemoteEndpoint};

    #[test]
    fn names_fit_the_kernel_and_are_recognised() {
        let id: Uuid = "0190f5a2-1b2c-7d3e-8f40-123456789abc".parse().unwrap();
        assert_eq!(bridge_name(id), "flt-56789abc");
        assert_eq!(vxlan_name(16_000_000), "fltx-16000000");
        assert!(bridge_name(id).len() <= 15 && vxlan_name(16_000_000).len() <= 15);
        assert!(is_overlay_bridge("flt-56789abc") && !is_overlay_bridge("flt-net-a") && !is_overlay_bridge("flt-56789abcd"));
        assert!(is_overlay_vxlan("fltx-4096") && !is_overlay_vxlan("fltx-") && !is_overlay_vxlan("fltx-12a"));
    }

    #[test]
    fn macs_parse_as_docker_writes_them() {
        assert_eq!(parse_mac("02:42:0a:00:00:05"), Some([2, 0x42, 10, 0, 0, 5]));
        for bad in ["", "02:42:0a:00:00", "02:42:0a:00:00:05:06", "02:42:0a:00:00:5", "zz:42:0a:00:00:05"] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn wanted_networks_come_from_live_assignments_with_an_overlay() {
        use crate::reconcile::fixtures::{assignment, on};
        let remote = |ip: &str, mac: &str| RemoteEndpoint { ip: ip.into(), mac: mac.into(), tunnel_address: "198.51.100.2".into() };
        let mut a = on(assignment(1, DesiredState::Running), &[1, 2], &[]);
        a.networks[0].network.overlay = Some(NetworkOverlay {
            vni: 4100,
            mtu: 1450,
            remotes: vec![remote("10.213.1.7", "02:42:0a:d5:01:07"), remote("10.213.1.8", "not a mac")],
        });
        let mut same_network = on(assignment(2, DesiredState::Running), &[1], &[]);
        same_network.networks[0].network.overlay = a.networks[0].network.overlay.clone();
        let mut deleted = on(assignment(3, DesiredState::Deleted), &[3], &[]);
        deleted.networks[0].network.overlay = Some(NetworkOverlay { vni: 4200, mtu: 1450, remotes: vec![] });
        let got = wanted(&[a.clone(), same_network, deleted], &[]);
        assert_eq!(got.len(), 1, "network 2 has no overlay, network 3 only a deleted container: {got:?}");
        let n = &got[0];
        assert_eq!((n.vni, n.mtu, n.vxlan.as_str(), n.bridge.clone()), (4100, 1450, "fltx-4100", bridge_name(a.networks[0].network.id)));
        let tunnel = Ipv4Addr::new(198, 51, 100, 2);
        assert_eq!(
            n.remotes,
            [Remote { ip: Ipv4Addr::new(10, 213, 1, 7), mac: [2, 0x42, 10, 0xd5, 1, 7], tunnel }],
            "the bad one left out"
        );
        assert_eq!(n.forwarding(), BTreeMap::from([([2, 0x42, 10, 0xd5, 1, 7], tunnel)]));
        assert_eq!(n.neighbours(), BTreeMap::from([(Ipv4Addr::new(10, 213, 1, 7), [2, 0x42, 10, 0xd5, 1, 7])]));

        // A network carried for a router joins them, with its remotes; one already there stays once.
        let mut routed = crate::reconcile::fixtures::network(5);
        routed.overlay = Some(NetworkOverlay { vni: 4500, mtu: 1450, remotes: vec![remote("10.213.5.3", "02:42:0a:d5:05:03")] });
        let got = wanted(std::slice::from_ref(&a), &[routed.clone(), a.networks[0].network.clone()]);
        let vnis: Vec<u32> = got.iter().map(|n| n.vni).collect();
        assert_eq!(vnis, [4100, 4500], "{got:?}");
        assert_eq!(got[1].bridge, bridge_name(routed.id));
        assert_eq!(got[1].remotes[0].ip, Ipv4Addr::new(10, 213, 5, 3));
    }
}
