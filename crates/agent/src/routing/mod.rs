//! Routers on a host: forwarding between the subnets each router joins, through Docker's
//! isolation of bridge networks and past its masquerading (iptables, driven by its command), and
//! the networks the host carries for them when they span hosts ([`carried`]).

mod iptables;
mod plan;
mod service;

pub(crate) use plan::carried;
pub(crate) use service::route;
