//! The process roles of the binary: `flotilla server`, `flotilla agent` and `flotilla dev`, and what they share.

pub mod agent;
pub mod agent_settings;
pub mod backup;
pub mod dev;
pub mod dev_regions;
pub mod dev_reset;
pub mod dev_terminal;
pub mod logging;
pub mod migrate;
pub mod server;
pub mod settings;
pub mod shutdown;
