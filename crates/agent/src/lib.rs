//! Flotilla's host agent: joins a region, makes the local runtime match the containers assigned
//! to its host, reports what it sees, and serves the server's interactive calls.
//!
//! Talks to the region only through the agent protocol (`flotilla_api::agent`); knows nothing of
//! the server's store or engine.

mod agent;
mod callback;
mod config;
mod dns;
mod error;
mod follow;
mod metrics;
pub mod overlay;
mod probe;
mod reconcile;
mod region;
mod routing;
pub mod runtime;
mod simulate;
mod state;
mod vitals;

pub use agent::Agent;
pub use config::{AgentConfig, CapacityOverride, Timings, advertised_address};
pub use error::AgentError;
pub use simulate::start_simulated;
