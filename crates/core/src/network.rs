//! Networks, subnets and ports: the objects of Flotilla's network service, a port's status, the
//! MAC an address gets, and carving a project's default subnet out of the region's pool.

use crate::container::ContainerStatus;
use crate::ipam::{Cidr, SubnetPlan};
use crate::{ContainerId, Metadata, Name, NetworkId, PortId, ProjectId, SubnetId, ValidationError};
use chrono::{DateTime, Utc};
use std::net::Ipv4Addr;

/// The name of the network a project gets on first use.
pub const DEFAULT_NETWORK: &str = "default";

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: NetworkId,
    pub name: Name,
    pub project_id: ProjectId,
    /// Usable by every project.
    pub shared: bool,
    pub is_default: bool,
    /// One network in every region under the same id, its addresses from the central's global
    /// space (each region allocates from the blocks it holds).
    pub global: bool,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    pub id: SubnetId,
    pub name: Name,
    pub network_id: NetworkId,
    pub project_id: ProjectId,
    pub plan: SubnetPlan,
    pub created_at: DateTime<Utc>,
}

/// An address on a network, held by a container or reserved.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub id: PortId,
    pub name: String,
    pub project_id: ProjectId,
    pub network_id: NetworkId,
    pub subnet_id: SubnetId,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub container_id: Option<ContainerId>,
    pub created_at: DateTime<Utc>,
}

crate::named_enum! {
    /// A port's status, from its container's: `ACTIVE` while it runs, `BUILD` while it is made.
    pub enum PortStatus {
        Active => "ACTIVE",
        Build => "BUILD",
        Down => "DOWN",
    }
}

impl PortStatus {
    /// The status of a port held by a container in `container` (none: a reservation).
    pub fn of(container: Option<ContainerStatus>) -> Self {
        match container {
            Some(ContainerStatus::Running) => PortStatus::Active,
            Some(ContainerStatus::Creating | ContainerStatus::Created | ContainerStatus::Restarting) => PortStatus::Build,
            _ => PortStatus::Down,
        }
    }
}

/// The MAC of an address, as Docker derives it: `02:42` and the address's four bytes.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// The region's network pool when the operator names none.
pub const DEFAULT_POOL: &str = "10.128.0.0/9";
/// Its subnets' length: 4,094 addresses per project's default network, 2,048 projects.
pub const DEFAULT_SUBNET_PREFIX: u8 = 20;

/// Where projects' default networks come from: `prefix`-long subnets of `cidr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionPool {
    pub cidr: Cidr,
    pub prefix: u8,
}

impl RegionPool {
    /// Checks that `prefix` subnets fit in `cidr` and hold hosts (at most /30).
    pub fn new(cidr: Cidr, prefix: u8) -> Result<Self, ValidationError> {
        if prefix < cidr.prefix || prefix > 30 {
            return Err(ValidationError::new(
                "default_subnet_prefix",
                prefix,
                format!("must be between {} (the pool's own) and 30", cidr.prefix),
            ));
        }
        Ok(Self { cidr, prefix })
    }

    /// Parses an operator's `--network-pool` and `--default-subnet-prefix`.
    pub fn parse(cidr: &str, prefix: u8) -> Result<Self, ValidationError> {
        Self::new(Cidr::parse("network_pool", cidr)?, prefix)
    }

    /// The first `prefix`-long block of the pool that overlaps none of `taken`.
    pub fn carve(&self, taken: &[Cidr]) -> Option<Cidr> {
        self.cidr.first_free_block(self.prefix, taken)
    }
}

impl Default for RegionPool {
    fn default() -> Self {
        Self::parse(DEFAULT_POOL, DEFAULT_SUBNET_PREFIX).expect("a valid default pool")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse("cidr", s).unwrap()
    }

    #[test]
    fn macs_follow_the_address() {
        assert_eq!(mac_for("10.1.0.2".parse().unwrap()), "02:42:0a:01:00:02");
        assert_eq!(mac_for("172.17.255.254".parse().unwrap()), "02:42:ac:11:ff:fe");
    }

    #[test]
    fn port_status_follows_the_container() {
        assert_eq!(PortStatus::of(Some(ContainerStatus::Running)), PortStatus::Active);
        assert_eq!(PortStatus::of(Some(ContainerStatus::Creating)), PortStatus::Build);
        assert_eq!(PortStatus::of(Some(ContainerStatus::Stopped)), PortStatus::Down);
        assert_eq!(PortStatus::of(None), PortStatus::Down);
    }

    #[test]
    fn default_subnets_are_carved_around_taken_ones() {
        let pool = RegionPool::new(cidr("10.64.0.0/16"), 24).unwrap();
        assert_eq!(pool.carve(&[]), Some(cidr("10.64.0.0/24")));
        assert_eq!(pool.carve(&[cidr("10.64.0.0/24"), cidr("10.64.1.0/24")]), Some(cidr("10.64.2.0/24")));
        // A user's /22 inside the pool is skipped whole; a /8 around it takes everything.
        assert_eq!(pool.carve(&[cidr("10.64.0.0/22")]), Some(cidr("10.64.4.0/24")));
        assert_eq!(pool.carve(&[cidr("10.0.0.0/8")]), None);
        // Full: every block taken.
        let all: Vec<Cidr> = (0..=255).map(|i| cidr(&format!("10.64.{i}.0/24"))).collect();
        assert_eq!(pool.carve(&all), None);
        // A gap in the middle is found.
        let gap: Vec<Cidr> = all.iter().copied().filter(|c| c.network != "10.64.77.0".parse::<Ipv4Addr>().unwrap()).collect();
        assert_eq!(pool.carve(&gap), Some(cidr("10.64.77.0/24")));
    }

    #[test]
    fn pool_prefix_must_fit() {
        assert_eq!(RegionPool::new(cidr("10.64.0.0/16"), 12).unwrap_err().field, "default_subnet_prefix");
        assert_eq!(RegionPool::new(cidr("10.64.0.0/16"), 31).unwrap_err().field, "default_subnet_prefix");
        assert!(RegionPool::new(cidr("10.64.0.0/16"), 16).is_ok());
    }
}
