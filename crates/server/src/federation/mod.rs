//! Federation: what role this server plays among regions, and its link to the central.

pub mod caller;
pub mod central_only;
pub mod global_networks;
pub mod global_routers;
pub mod link;
pub mod peer;
pub mod peers;
pub mod region;
pub mod remote_endpoints;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

/// How long a region trusts a validation of a token by the central unless configured otherwise.
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);
/// Silence after which the central counts a region DOWN unless configured otherwise.
pub const DEFAULT_REGION_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// The role a server is started in.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Role {
    /// A region on its own, exactly as before federation (dev mode, tests).
    #[default]
    Standalone,
    /// `server --central`: identity, the region registry, the global address space, the routing
    /// table and its jobs; no hosts.
    Central(CentralSettings),
    /// A region of a federation, linked to its central.
    Region(RegionLinkSettings),
}

/// The central's knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralSettings {
    /// The global address space global networks' subnets come from.
    pub global_pool: Option<flotilla_core::ipam::Cidr>,
    /// Silence after which a region is DOWN.
    pub region_grace_period: Duration,
}

impl CentralSettings {
    /// Regions heartbeat four times per grace period.
    pub fn heartbeat_interval(&self) -> Duration {
        (self.region_grace_period / 4).max(Duration::from_millis(100))
    }
}

/// A federated region's knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionLinkSettings {
    /// The central's API, e.g. `https://central.example:7700`.
    pub central_url: String,
    /// The one-use token of the first registration; a restart uses the credential kept in the store.
    pub join_token: Option<String>,
    /// Where clients and other regions reach this region's API.
    pub advertise_url: String,
    /// PEM certificates trusted for the central's HTTPS besides the system's roots.
    pub ca_cert: Option<Vec<u8>>,
    /// How long a token validated by the central is trusted without asking again.
    pub token_cache_ttl: Duration,
}

/// What handlers know of the federation at run time.
#[derive(Debug, Clone, Default)]
pub enum Federation {
    #[default]
    Standalone,
    Central(Arc<CentralSettings>),
    Region(Arc<link::CentralLink>),
}

impl Federation {
    /// The run-time form of `role`: a region gets its (not yet registered) link.
    pub fn from_role(role: &Role) -> Result<Federation, link::LinkError> {
        Ok(match role {
            Role::Standalone => Federation::Standalone,
            Role::Central(settings) => Federation::Central(Arc::new(settings.clone())),
            Role::Region(settings) => {
                let link = link::CentralLink::new(&settings.central_url, settings.ca_cert.as_deref())?;
                Federation::Region(Arc::new(link.with_token_cache_ttl(settings.token_cache_ttl)))
            }
        })
    }

    /// The central's settings; anywhere but at a central, a 404 saying so.
    pub fn central(&self) -> Result<&CentralSettings, crate::error::ApiError> {
        match self {
            Federation::Central(settings) => Ok(settings),
            _ => Err(crate::error::ApiError::NotFound("not a central: this server has no regions (start it with --central)".into())),
        }
    }

    /// Refuses work that needs hosts at the central, which runs none (421).
    pub fn require_hosts(&self) -> Result<(), crate::error::ApiError> {
        match self {
            Federation::Central(_) => Err(crate::error::ApiError::Misdirected(
                "this server is the central: it runs no hosts; agents join a region's server".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The central's URL when this server is a federated region.
    pub fn central_url(&self) -> Option<&str> {
        match self {
            Federation::Region(link) => Some(link.url()),
            _ => None,
        }
    }
}
