//! The agent's DNS server: each network the host carries answers its names (from the
//! assignments) on its gateway address, port 53, UDP and TCP; containers are pointed at it, and
//! other names go to the host's resolvers.

mod names;
mod resolvers;
mod server;
mod service;

pub use names::Names;
pub use resolvers::Resolvers;
pub use server::NameServer;
pub(crate) use service::serve_names;
