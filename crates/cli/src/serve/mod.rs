//! The process roles of the binary: `flotilla server` and `flotilla dev`, and what they share.

pub mod dev;
pub mod logging;
pub mod server;
pub mod settings;
pub mod shutdown;
