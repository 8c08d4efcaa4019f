//! IPv4 address management: subnets (CIDR, gateway, allocation pools, reserved addresses), the
//! overlap rule between subnets, choosing the next free address, and the blocks of a global
//! subnet that the central hands to regions. Pure: the store keeps which addresses and blocks
//! are taken and calls this inside its transaction.

use crate::ValidationError;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// An IPv4 network, `a.b.c.d/len`, normalised to its network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/len` (8 ≤ len ≤ 30), naming `field` in errors; host bits must be zero.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let bad = |reason: &str| ValidationError::new(field, text, reason);
        let (address, prefix) = text.split_once('/').ok_or_else(|| bad("must be an IPv4 CIDR such as 10.1.0.0/24"))?;
        let address: Ipv4Addr = address.parse().map_err(|_| bad("must be an IPv4 CIDR such as 10.1.0.0/24"))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("its prefix length must be a number"))?;
        if !(8..=30).contains(&prefix) {
            return Err(bad("its prefix length must be between 8 and 30"));
        }
        let cidr = Cidr { network: Ipv4Addr::from(u32::from(address) & mask(prefix)), prefix };
        if cidr.network != address {
            return Err(bad(&format!("has host bits set; the network is {cidr}")));
        }
        Ok(cidr)
    }

    pub fn first(self) -> u32 {
        u32::from(self.network)
    }

    pub fn last(self) -> u32 {
        self.first() | !mask(self.prefix)
    }

    pub fn contains(self, address: Ipv4Addr) -> bool {
        (self.first()..=self.last()).contains(&u32::from(address))
    }

    /// Whether the two networks share any address.
    pub fn overlaps(self, other: Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The first range no subnet may use that this network overlaps: "this network" (0/8),
    /// loopback, link-local, multicast, and the reserved range with the broadcast address.
    pub fn special_range(self) -> Option<&'static str> {
        SPECIAL_RANGES.iter().find(|(range, _)| self.overlaps(*range)).map(|(_, name)| *name)
    }

    /// Parses a subnet's CIDR as [`Cidr::parse`] does, refusing the special ranges.
    pub fn parse_subnet(field: &str, text: &str) -> Result<Self, ValidationError> {
        let cidr = Self::parse(field, text)?;
        match cidr.special_range() {
            Some(range) => Err(ValidationError::new(field, text, format!("overlaps {range}, which no subnet may use"))),
            None => Ok(cidr),
        }
    }

    /// The usable hosts: without the network and broadcast addresses.
    pub fn hosts(self) -> (u32, u32) {
        (self.first() + 1, self.last() - 1)
    }

    /// The first `prefix`-long block of this network, aligned, that overlaps none of `taken`
    /// (none when `prefix` is shorter than the network's own).
    pub fn first_free_block(self, prefix: u8, taken: &[Cidr]) -> Option<Cidr> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let size = 1u64 << (32 - prefix);
        let mut start = u64::from(self.first());
        while start + size - 1 <= u64::from(self.last()) {
            let block = Cidr { network: Ipv4Addr::from(start as u32), prefix };
            match taken.iter().filter(|t| t.overlaps(block)).map(|t| u64::from(t.last())).max() {
                None => return Some(block),
                // Jump past the furthest overlapping network, to the next aligned block.
                Some(last) => start = (last + 1).div_ceil(size) * size,
            }
        }
        None
    }
}

/// The length of the blocks a region gets from a global subnet: 64 addresses.
pub const BLOCK_PREFIX: u8 = 26;

/// The block length of `subnet`: [`BLOCK_PREFIX`], or the whole subnet when it is smaller.
pub fn block_prefix(subnet: Cidr) -> u8 {
    BLOCK_PREFIX.max(subnet.prefix)
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

const fn special(a: u8, b: u8, prefix: u8) -> Cidr {
    Cidr { network: Ipv4Addr::new(a, b, 0, 0), prefix }
}

/// Ranges of RFC 6890 that a host cannot route as a bridge's subnet.
const SPECIAL_RANGES: [(Cidr, &str); 5] = [
    (special(0, 0, 8), "0.0.0.0/8 (this network)"),
    (special(127, 0, 8), "127.0.0.0/8 (loopback)"),
    (special(169, 254, 16), "169.254.0.0/16 (link-local)"),
    (special(224, 0, 4), "224.0.0.0/4 (multicast)"),
    (special(240, 0, 4), "240.0.0.0/4 (reserved, with the broadcast address)"),
];

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// A range of addresses handed out, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

/// A subnet's addressing: where addresses come from and which are never handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetPlan {
    pub cidr: Cidr,
    pub gateway: Ipv4Addr,
    pub pools: Vec<Pool>,
    pub reserved: BTreeSet<Ipv4Addr>,
}

impl SubnetPlan {
    /// Checks a subnet as given: the gateway (default: the first host) and the pools (default:
    /// every host but the gateway) lie inside the CIDR, pools are ordered ranges that do not
    /// overlap; reserved addresses lie inside the CIDR. Fields are named from `prefix`.
    pub fn new(
        prefix: &str,
        cidr: Cidr,
        gateway: Option<Ipv4Addr>,
        pools: Vec<Pool>,
        reserved: BTreeSet<Ipv4Addr>,
    ) -> Result<Self, ValidationError> {
        let (low, high) = cidr.hosts();
        let usable = |a: Ipv4Addr| (low..=high).contains(&u32::from(a));
        let gateway = gateway.unwrap_or(Ipv4Addr::from(low));
        if !usable(gateway) {
            return Err(ValidationError::new(format!("{prefix}gateway"), gateway, format!("is not a host address of {cidr}")));
        }
        let pools = if pools.is_empty() { vec![Pool { start: Ipv4Addr::from(low), end: Ipv4Addr::from(high) }] } else { pools };
        let mut sorted = pools.clone();
        sorted.sort_by_key(|p| u32::from(p.start));
        for (i, pool) in sorted.iter().enumerate() {
            let field = format!("{prefix}allocation_pools[{i}]");
            if !usable(pool.start) || !usable(pool.end) || u32::from(pool.start) > u32::from(pool.end) {
                return Err(ValidationError::new(
                    field,
                    format!("{}-{}", pool.start, pool.end),
                    format!("must be a range of host addresses of {cidr}"),
                ));
            }
            if i > 0 && u32::from(pool.start) <= u32::from(sorted[i - 1].end) {
                return Err(ValidationError::new(field, format!("{}-{}", pool.start, pool.end), "overlaps another pool"));
            }
        }
        if let Some(outside) = reserved.iter().find(|a| !cidr.contains(**a)) {
            return Err(ValidationError::new(format!("{prefix}reserved"), outside, format!("is not in {cidr}")));
        }
        Ok(Self { cidr, gateway, pools: sorted, reserved })
    }

    /// Whether `address` may be given to a port: in the CIDR's hosts, not the gateway, not reserved.
    pub fn assignable(&self, address: Ipv4Addr) -> bool {
        let (low, high) = self.cidr.hosts();
        (low..=high).contains(&u32::from(address)) && address != self.gateway && !self.reserved.contains(&address)
    }

    /// The first address of the pools at or after `from` that is neither taken, the gateway nor
    /// reserved, wrapping to the pools' start: addresses rotate (as Docker's do), so one just released is
    /// not handed out again at once, and is reused once the rest are taken.
    pub fn next_free_from(&self, from: Ipv4Addr, taken: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
        let free = |a: &u32| self.assignable(Ipv4Addr::from(*a)) && !taken.contains(&Ipv4Addr::from(*a));
        self.search_order(from).into_iter().find_map(|(start, end)| (start..=end).find(free)).map(Ipv4Addr::from)
    }

    /// The ranges of the pools (first and last address, inclusive) in the order
    /// [`next_free_from`](Self::next_free_from) tries them: from `from` to each pool's end, then
    /// from the pools' start up to just before `from`.
    pub fn search_order(&self, from: Ipv4Addr) -> Vec<(u32, u32)> {
        let from = u32::from(from);
        let after = self.pools.iter().map(|p| (u32::from(p.start).max(from), u32::from(p.end)));
        let before = self.pools.iter().filter_map(|p| Some((u32::from(p.start), u32::from(p.end).min(from.checked_sub(1)?))));
        after.chain(before).filter(|(start, end)| start <= end).collect()
    }

    /// How many addresses the pools can hand out.
    pub fn capacity(&self) -> usize {
        self.pools.iter().flat_map(|p| u32::from(p.start)..=u32::from(p.end)).filter(|a| self.assignable(Ipv4Addr::from(*a))).count()
    }

    /// This plan narrowed to `blocks` (a region's share of a global subnet): its pools cut to the
    /// parts inside the blocks, `also_reserved` (addresses fixed elsewhere) never handed out.
    pub fn within(&self, blocks: &[Cidr], also_reserved: impl IntoIterator<Item = Ipv4Addr>) -> SubnetPlan {
        let mut blocks = blocks.to_vec();
        blocks.sort();
        let pools = self
            .pools
            .iter()
            .flat_map(|p| {
                blocks.iter().filter_map(move |b| {
                    let (start, end) = (u32::from(p.start).max(b.first()), u32::from(p.end).min(b.last()));
                    (start <= end).then(|| Pool { start: Ipv4Addr::from(start), end: Ipv4Addr::from(end) })
                })
            })
            .collect();
        let mut reserved = self.reserved.clone();
        reserved.extend(also_reserved);
        SubnetPlan { cidr: self.cidr, gateway: self.gateway, pools, reserved }
    }

    /// The next block of this (global) subnet to hand a region: the first [`block_prefix`]-long
    /// block overlapping none of `taken` that holds at least one address to hand out (blocks
    /// outside the pools, or holding only the gateway, are passed over).
    pub fn next_block(&self, taken: &[Cidr]) -> Option<Cidr> {
        let prefix = block_prefix(self.cidr);
        let mut skipped = taken.to_vec();
        while let Some(block) = self.cidr.first_free_block(prefix, &skipped) {
            if self.within(&[block], []).capacity() > 0 {
                return Some(block);
            }
            skipped.push(block);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_name_the_field() {
        let c = Cidr::parse("cidr", "10.1.0.0/24").unwrap();
        assert_eq!((c.to_string(), c.hosts()), ("10.1.0.0/24".to_owned(), (u32::from(ip("10.1.0.1")), u32::from(ip("10.1.0.254")))));
        let cases = [
            ("10.1.0.1/24", "has host bits set; the network is 10.1.0.0/24"),
            ("10.1.0.0", "must be an IPv4 CIDR such as 10.1.0.0/24"),
            ("10.1.0.0/31", "its prefix length must be between 8 and 30"),
            ("10.1.0.0/x", "its prefix length must be a number"),
            ("fd00::/64", "must be an IPv4 CIDR such as 10.1.0.0/24"),
        ];
        for (text, reason) in cases {
            let e = Cidr::parse("subnet.cidr", text).unwrap_err();
            assert_eq!((e.field.as_str(), e.reason.as_str()), ("subnet.cidr", reason), "{text}");
        }
    }

    #[test]
    fn special_ranges_are_refused_to_subnets() {
        for (text, range) in [
            ("127.0.0.0/8", "127.0.0.0/8 (loopback)"),
            ("127.5.0.0/24", "127.0.0.0/8 (loopback)"),
            ("0.0.0.0/8", "0.0.0.0/8 (this network)"),
            ("169.254.1.0/24", "169.254.0.0/16 (link-local)"),
            ("224.0.0.0/24", "224.0.0.0/4 (multicast)"),
            ("239.255.255.0/24", "224.0.0.0/4 (multicast)"),
            ("255.255.255.0/24", "240.0.0.0/4 (reserved, with the broadcast address)"),
            ("127.255.255.252/30", "127.0.0.0/8 (loopback)"),
        ] {
            let e = Cidr::parse_subnet("cidr", text).unwrap_err();
            assert_eq!((e.field.as_str(), e.value.as_str()), ("cidr", text));
            assert_eq!(e.reason, format!("overlaps {range}, which no subnet may use"));
        }
        for fine in ["10.0.0.0/8", "192.168.1.0/24", "172.16.0.0/12", "100.64.0.0/10", "1.0.0.0/8"] {
            assert!(Cidr::parse_subnet("cidr", fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn overlap_is_any_shared_address() {
        let c = |s| Cidr::parse("c", s).unwrap();
        assert!(c("10.0.0.0/16").overlaps(c("10.0.5.0/24")));
        assert!(c("10.0.5.0/24").overlaps(c("10.0.0.0/16")));
        assert!(!c("10.0.0.0/24").overlaps(c("10.0.1.0/24")));
        assert!(c("10.0.0.0/23").overlaps(c("10.0.1.0/24")));
    }

    #[test]
    fn plans_check_gateway_pools_and_reserved() {
        let cidr = Cidr::parse("cidr", "10.2.0.0/29").unwrap();
        let plan = SubnetPlan::new("", cidr, None, vec![], BTreeSet::new()).unwrap();
        assert_eq!((plan.gateway, plan.capacity()), (ip("10.2.0.1"), 5), "6 hosts less the gateway");
        let pool = |a, b| Pool { start: ip(a), end: ip(b) };
        let e = SubnetPlan::new("subnet.", cidr, Some(ip("10.2.0.7")), vec![], BTreeSet::new()).unwrap_err();
        assert_eq!(e.field, "subnet.gateway");
        let e =
            SubnetPlan::new("", cidr, None, vec![pool("10.2.0.2", "10.2.0.4"), pool("10.2.0.4", "10.2.0.6")], BTreeSet::new()).unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("allocation_pools[1]", "overlaps another pool"));
        let e = SubnetPlan::new("", cidr, None, vec![pool("10.2.0.5", "10.2.0.9")], BTreeSet::new()).unwrap_err();
        assert_eq!(e.field, "allocation_pools[0]");
        let e = SubnetPlan::new("", cidr, None, vec![], [ip("10.3.0.1")].into()).unwrap_err();
        assert_eq!(e.field, "reserved");
    }

    #[test]
    fn the_next_free_address_skips_gateway_reserved_and_taken_until_exhausted() {
        let cidr = Cidr::parse("cidr", "10.2.0.0/29").unwrap();
        let plan = SubnetPlan::new("", cidr, None, vec![], [ip("10.2.0.3")].into()).unwrap();
        let mut taken = BTreeSet::new();
        let mut handed = Vec::new();
        while let Some(a) = plan.next_free_from(cidr.network, &taken) {
            taken.insert(a);
            handed.push(a.to_string());
        }
        assert_eq!(handed, ["10.2.0.2", "10.2.0.4", "10.2.0.5", "10.2.0.6"]);
        assert_eq!(plan.capacity(), 4);
        // A released address is handed out again.
        taken.remove(&ip("10.2.0.4"));
        assert_eq!(plan.next_free_from(cidr.network, &taken), Some(ip("10.2.0.4")));
    }

    #[test]
    fn addresses_rotate_from_a_cursor_and_wrap() {
        let plan = SubnetPlan::new("", Cidr::parse("cidr", "10.0.0.0/29").unwrap(), None, vec![], BTreeSet::new()).unwrap();
        // Hosts .1-.6, gateway .1: assignable .2-.6.
        let taken: BTreeSet<Ipv4Addr> = [ip("10.0.0.3")].into();
        assert_eq!(plan.next_free_from(ip("10.0.0.0"), &taken), Some(ip("10.0.0.2")));
        assert_eq!(plan.next_free_from(ip("10.0.0.3"), &taken), Some(ip("10.0.0.4")));
        assert_eq!(plan.next_free_from(ip("10.0.0.7"), &taken), Some(ip("10.0.0.2")), "past the end it wraps");
        let all_but_two: BTreeSet<Ipv4Addr> = ["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"].map(ip).into();
        assert_eq!(plan.next_free_from(ip("10.0.0.5"), &all_but_two), Some(ip("10.0.0.2")), "a released address is reused after the wrap");
        let full: BTreeSet<Ipv4Addr> = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"].map(ip).into();
        assert_eq!(plan.next_free_from(ip("10.0.0.4"), &full), None);
    }

    fn cidr(s: &str) -> Cidr {
        Cidr::parse("cidr", s).unwrap()
    }

    #[test]
    fn free_blocks_are_aligned_and_skip_taken_ones() {
        let c = cidr("10.50.0.0/24");
        let cases: [(u8, &[&str], Option<&str>); 7] = [
            (26, &[], Some("10.50.0.0/26")),
            (26, &["10.50.0.0/26"], Some("10.50.0.64/26")),
            (26, &["10.50.0.0/26", "10.50.0.128/26"], Some("10.50.0.64/26")),
            (26, &["10.50.0.0/25", "10.50.0.128/26", "10.50.0.192/26"], None),
            // A taken network that straddles blocks pushes past its end, to the next aligned block.
            (26, &["10.50.0.96/27"], Some("10.50.0.0/26")),
            (26, &["10.50.0.0/26", "10.50.0.96/27"], Some("10.50.0.128/26")),
            // A block longer than the network is never one of it.
            (23, &[], None),
        ];
        for (prefix, taken, want) in cases {
            let taken: Vec<Cidr> = taken.iter().map(|t| cidr(t)).collect();
            assert_eq!(c.first_free_block(prefix, &taken), want.map(cidr), "/{prefix} around {taken:?}");
        }
    }

    #[test]
    fn block_length_is_26_or_the_whole_small_subnet() {
        for (subnet, prefix) in [("10.0.0.0/16", 26), ("10.0.0.0/26", 26), ("10.0.0.0/28", 28), ("10.0.0.0/8", 26)] {
            assert_eq!(block_prefix(cidr(subnet)), prefix, "{subnet}");
        }
    }

    #[test]
    fn a_plan_within_blocks_hands_out_only_their_addresses() {
        let plan = SubnetPlan::new("", cidr("10.60.0.0/24"), None, vec![], BTreeSet::new()).unwrap();
        // Two blocks, out of order: the gateway .1 is in the first and never handed out.
        let held = plan.within(&[cidr("10.60.0.128/26"), cidr("10.60.0.0/26")], [ip("10.60.0.130")]);
        assert_eq!(
            held.pools,
            vec![Pool { start: ip("10.60.0.1"), end: ip("10.60.0.63") }, Pool { start: ip("10.60.0.128"), end: ip("10.60.0.191") }]
        );
        assert_eq!(held.capacity(), 62 + 63, "the gateway and the address fixed elsewhere are left out");
        let mut taken = BTreeSet::new();
        let mut seen = Vec::new();
        while let Some(a) = held.next_free_from(ip("10.60.0.0"), &taken) {
            taken.insert(a);
            seen.push(a);
        }
        assert_eq!(seen.len(), 125);
        assert!(seen.iter().all(|a| u32::from(*a) < u32::from(ip("10.60.0.64")) || (ip("10.60.0.128")..=ip("10.60.0.191")).contains(a)));
        assert!(!seen.contains(&ip("10.60.0.130")) && !seen.contains(&ip("10.60.0.1")) && !seen.contains(&ip("10.60.0.255")));
        // No block: nothing to hand out.
        assert_eq!(plan.within(&[], []).next_free_from(ip("10.60.0.0"), &BTreeSet::new()), None);
        // User pools narrower than the blocks stay narrow.
        let narrow =
            SubnetPlan::new("", cidr("10.60.0.0/24"), None, vec![Pool { start: ip("10.60.0.10"), end: ip("10.60.0.20") }], BTreeSet::new())
                .unwrap();
        assert_eq!(narrow.within(&[cidr("10.60.0.0/26")], []).capacity(), 11);
    }

    #[test]
    fn the_next_block_passes_over_blocks_with_nothing_to_hand_out() {
        let pools = vec![Pool { start: ip("10.70.0.100"), end: ip("10.70.0.200") }];
        let plan = SubnetPlan::new("", cidr("10.70.0.0/24"), None, pools, BTreeSet::new()).unwrap();
        let cases: [(&[&str], Option<&str>); 4] = [
            // .0/26 holds no pool address: the first block handed out is .64/26.
            (&[], Some("10.70.0.64/26")),
            (&["10.70.0.64/26"], Some("10.70.0.128/26")),
            (&["10.70.0.64/26", "10.70.0.128/26"], Some("10.70.0.192/26")),
            (&["10.70.0.64/26", "10.70.0.128/26", "10.70.0.192/26"], None),
        ];
        for (taken, want) in cases {
            let taken: Vec<Cidr> = taken.iter().map(|t| cidr(t)).collect();
            assert_eq!(plan.next_block(&taken), want.map(cidr), "after {taken:?}");
        }
        // A /30 subnet is one block; its only hosts are the gateway and one address.
        let tiny = SubnetPlan::new("", cidr("10.71.0.0/30"), None, vec![], BTreeSet::new()).unwrap();
        assert_eq!(tiny.next_block(&[]), Some(cidr("10.71.0.0/30")));
        assert_eq!(tiny.next_block(&[cidr("10.71.0.0/30")]), None);
    }
}
