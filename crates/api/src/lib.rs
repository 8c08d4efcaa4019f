//! Wire types of the Flotilla REST API: what clients send and receive, with OpenAPI schemas.

pub mod agent;
pub mod cluster;
pub mod container;
pub mod dashboard;
pub mod error;
pub mod event;
pub mod exec_session;
pub mod global_network;
pub mod host;
pub mod identity;
pub mod image;
pub mod listing;
pub mod network;
pub mod plan;
pub mod profile;
pub mod quota;
pub mod region;
pub mod router;
pub mod spec_schema;
pub mod version;
pub mod volume;

pub use cluster::*;
pub use container::*;
pub use dashboard::DashboardLink;
pub use error::{ErrorBody, ErrorDetail};
pub use event::*;
pub use exec_session::{ExecControl, ExecSession, TerminalSize};
pub use host::*;
pub use identity::*;
pub use image::*;
pub use listing::{LabelQuery, ListQuery};
pub use network::*;
pub use plan::{DryRunQuery, Plan, PlannedContainer};
pub use profile::*;
pub use quota::*;
pub use router::*;
pub use version::VersionInfo;
pub use volume::*;

/// Header carrying the token, besides `Authorization: Bearer`.
pub const AUTH_TOKEN_HEADER: &str = "x-auth-token";
/// Header naming another token to validate or revoke (`/v1/auth/tokens`).
pub const SUBJECT_TOKEN_HEADER: &str = "x-subject-token";
/// Header making a retried POST safe.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Header set on a response replayed for a repeated idempotency key.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "idempotent-replayed";
/// Header carrying the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
