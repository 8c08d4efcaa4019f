//! Typed UUIDv7 identifiers, one newtype per object kind so ids of different kinds never mix.

use std::fmt;
use std::str::FromStr;

macro_rules! typed_id {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

typed_id!(
    UserId,
    ProjectId,
    RoleAssignmentId,
    TokenId,
    ProfileId,
    HostId,
    ContainerId,
    ImageId,
    JoinTokenId,
    RegionId,
    EventId,
    ClusterId,
    NodeId,
    ActionId,
    PolicyId,
    ReceiverId,
    ServiceId,
    NetworkId,
    SubnetId,
    PortId,
    VolumeId,
    RouterId,
);

/// Whose idempotency keys a key belongs to: keys are per user, so two users never collide.
pub type IdempotencyScope = UserId;
