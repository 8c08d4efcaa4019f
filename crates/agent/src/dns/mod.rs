//! The agent's DNS server: each network the host carries answers its names (asked of the region
//! name by name, or listed with the assignments by an older server) on its gateway address, port
//! 53, UDP and TCP; containers are pointed at it, and other names go to the host's resolvers.

mod lookup;
mod names;
mod resolvers;
mod server;
mod service;

pub use lookup::{NameLookup, NameUpstream};
pub use names::{NameSource, Names};
pub use resolvers::Resolvers;
pub use server::NameServer;
pub(crate) use service::serve_names;
