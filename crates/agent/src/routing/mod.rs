//! Routers on a host: forwarding between the subnets each router joins, through Docker's
//! isolation of bridge networks and past its masquerading (iptables, driven by its command).

mod iptables;
mod plan;
mod service;

pub(crate) use service::route;
