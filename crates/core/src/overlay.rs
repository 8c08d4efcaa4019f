//! The overlay's numbers and rules: the VXLAN ids (VNIs) a region hands its networks and those the
//! central hands global networks (two disjoint ranges), the MTU containers get over the tunnel,
//! and what a host's tunnel address may be.

use crate::ValidationError;
use std::net::Ipv4Addr;

/// The first VNI a region hands out (those below are left to operators' own VXLANs).
pub const VNI_FIRST: u32 = 4096;
/// The last VNI a region hands its own networks; those above are the central's.
pub const VNI_LAST: u32 = (1 << 23) - 1;
/// The first VNI the central hands a global network: one VNI in every region, unique across the
/// federation, never one a region gives its own networks.
pub const GLOBAL_VNI_FIRST: u32 = 1 << 23;
/// The last VNI the central hands out (VXLAN allows 2^24 - 1).
pub const GLOBAL_VNI_LAST: u32 = 16_000_000;
const _: () = assert!(VNI_LAST < GLOBAL_VNI_FIRST && GLOBAL_VNI_LAST < 1 << 24);

/// A range of VNIs one allocator hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VniRange {
    pub first: u32,
    pub last: u32,
}

/// What a region gives its own networks.
pub const REGION_VNIS: VniRange = VniRange { first: VNI_FIRST, last: VNI_LAST };
/// What the central gives global networks.
pub const GLOBAL_VNIS: VniRange = VniRange { first: GLOBAL_VNI_FIRST, last: GLOBAL_VNI_LAST };
/// Bytes VXLAN adds over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14.
pub const VXLAN_OVERHEAD: u32 = 50;
/// The MTU every host's tunnel link is taken to carry.
pub const UNDERLAY_MTU: u32 = 1500;
/// The MTU of an overlay network's bridge, VXLAN device and containers.
pub const OVERLAY_MTU: u32 = UNDERLAY_MTU - VXLAN_OVERHEAD;
/// The UDP port VXLAN packets go to (IANA's).
pub const VXLAN_PORT: u16 = 4789;

impl VniRange {
    /// Whether `vni` lies in the range.
    pub fn contains(self, vni: u32) -> bool {
        (self.first..=self.last).contains(&vni)
    }

    /// The VNI after `highest`, the largest of the range in use (none: the first); `None` past the
    /// last, where the lowest free one must be looked for.
    pub fn next(self, highest: Option<u32>) -> Option<u32> {
        match highest {
            None => Some(self.first),
            Some(v) if v < self.first => Some(self.first),
            Some(v) if v < self.last => Some(v + 1),
            Some(_) => None,
        }
    }
}

/// A host's tunnel address, as an agent reports it at join: a unicast IPv4 address that can be
/// another host's destination (not unspecified, loopback, link-local, multicast or broadcast).
pub fn parse_tunnel_address(field: &str, value: &str) -> Result<Ipv4Addr, ValidationError> {
    let ip: Ipv4Addr = value.parse().map_err(|_| ValidationError::new(field, value, "must be an IPv4 address"))?;
    if ip.is_unspecified() || ip.is_loopback() || ip.is_link_local() || ip.is_multicast() || ip.is_broadcast() {
        return Err(ValidationError::new(field, value, "must be a unicast address other hosts can reach"));
    }
    Ok(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnis_count_up_from_the_first_and_stop_at_the_last() {
        for range in [REGION_VNIS, GLOBAL_VNIS] {
            assert_eq!(range.next(None), Some(range.first));
            assert_eq!(range.next(Some(12)), Some(range.first), "below the range: start at its first");
            assert_eq!(range.next(Some(range.first)), Some(range.first + 1));
            assert_eq!(range.next(Some(range.last - 1)), Some(range.last));
            assert_eq!(range.next(Some(range.last)), None, "past the last: look for a gap");
        }
    }

    #[test]
    fn regions_and_the_central_never_hand_out_the_same_vni() {
        assert!(!REGION_VNIS.contains(GLOBAL_VNI_FIRST) && !GLOBAL_VNIS.contains(VNI_LAST));
        assert!(REGION_VNIS.contains(VNI_FIRST) && GLOBAL_VNIS.contains(GLOBAL_VNI_LAST));
    }

    #[test]
    fn the_overlay_mtu_leaves_room_for_the_encapsulation() {
        assert_eq!(OVERLAY_MTU, 1450);
    }

    #[test]
    fn tunnel_addresses_are_reachable_ipv4_unicast() {
        assert_eq!(parse_tunnel_address("tunnel_address", "198.51.100.7"), Ok(Ipv4Addr::new(198, 51, 100, 7)));
        for bad in ["", "fe80::1", "198.51.100", "0.0.0.0", "127.0.0.1", "169.254.0.9", "224.0.0.1", "255.255.255.255", "1.2.3.4/24"] {
            let e = parse_tunnel_address("tunnel_address", bad).expect_err(bad);
            assert_eq!((e.field.as_str(), e.value.as_str()), ("tunnel_address", bad));
        }
    }
}
