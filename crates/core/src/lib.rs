//! Flotilla's domain model: typed ids, names, roles, listing rules and object specs. Pure: no IO.

pub mod action;
pub mod audit;
pub mod bounds;
pub mod cluster;
pub mod container;
pub mod event;
pub mod host;
pub mod identity;
pub mod ids;
pub mod image;
pub mod ipam;
pub mod listing;
pub mod metadata;
pub mod name;
mod named;
pub mod network;
pub mod node;
pub mod overlay;
pub mod policy;
pub mod profile;
pub mod quota;
pub mod resize;
pub mod role;
pub mod router;
pub mod scheduler;
pub mod selector;
pub mod validation;
pub mod volume;

pub use ids::{
    ActionId, ClusterId, ContainerId, EventId, HostId, IdempotencyScope, ImageId, JoinTokenId, NetworkId, NodeId, PolicyId, PortId,
    ProfileId, ProjectId, ReceiverId, RoleAssignmentId, RouterId, ServiceId, SubnetId, TokenId, UserId, VolumeId,
};
pub use listing::{ListParams, Page, SortDir, SortKey};
pub use metadata::Metadata;
pub use name::Name;
pub use role::Role;
pub use validation::ValidationError;

/// A point in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The current time at the millisecond precision every store keeps.
pub fn now() -> Timestamp {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
