//! HTTP plumbing shared by every route: request ids, body extraction, metrics, idempotency.

pub mod drain;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod no_nul;
pub mod region_metrics;
pub mod request_id;
pub mod serve;
