//! Test support: a fake region server speaking the agent protocol, and offline-built Docker images.
#![allow(dead_code)] // each test binary uses a part of it

pub mod docker;
pub mod region;
