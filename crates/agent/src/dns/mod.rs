//! The agent's DNS server: each network the host carries answers its names (from the
//! assignments) on its gateway address, port 53, UDP and TCP; containers are pointed at it.

mod names;
mod server;
mod service;

pub use names::Names;
pub use server::NameServer;
pub(crate) use service::serve_names;
