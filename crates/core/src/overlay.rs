//! The overlay's numbers and rules: the VXLAN ids (VNIs) a region hands its networks, the MTU
//! containers get over the tunnel, and what a host's tunnel address may be.

use crate::ValidationError;
use std::net::Ipv4Addr;

/// The first VNI a region hands out (those below are left to operators' own VXLANs).
pub const VNI_FIRST: u32 = 4096;
/// The last VNI a region hands out (VXLAN allows 2^24 - 1).
pub const VNI_LAST: u32 = 16_000_000;
const _: () = assert!(VNI_LAST < 1 << 24);
/// Bytes VXLAN adds over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14.
pub const VXLAN_OVERHEAD: u32 = 50;
/// The MTU every host's tunnel link is taken to carry.
pub const UNDERLAY_MTU: u32 = 1500;
/// The MTU of an overlay network's bridge, VXLAN device and containers.
pub const OVERLAY_MTU: u32 = UNDERLAY_MTU - VXLAN_OVERHEAD;
/// The UDP port VXLAN packets go to (IANA's).
pub const VXLAN_PORT: u16 = 4789;

/// The VNI after `highest`, the largest in use (none: the first); `None` past [`VNI_LAST`], where
/// the lowest free one must be looked for.
pub fn next_vni(highest: Option<u32>) -> Option<u32> {
    match highest {
        None => Some(VNI_FIRST),
        Some(v) if v < VNI_FIRST => Some(VNI_FIRST),
        Some(v) if v < VNI_LAST => Some(v + 1),
        Some(_) => None,
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
        assert_eq!(next_vni(None), Some(VNI_FIRST));
        assert_eq!(next_vni(Some(12)), Some(VNI_FIRST), "below the range: start at its first");
        assert_eq!(next_vni(Some(VNI_FIRST)), Some(VNI_FIRST + 1));
        assert_eq!(next_vni(Some(VNI_LAST - 1)), Some(VNI_LAST));
        assert_eq!(next_vni(Some(VNI_LAST)), None, "past the last: look for a gap");
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
