//! Test support: a fake region server speaking the agent protocol, offline-built Docker images,
//! and the contract of networks and volumes every runtime keeps.
#![allow(dead_code)] // each test binary uses a part of it

pub mod docker;
pub mod objects;
pub mod region;
