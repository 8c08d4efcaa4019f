//! Identity services: password hashing, token secrets, the authenticated principal, bootstrap,
//! login throttling.

pub mod bootstrap;
pub mod password;
pub mod principal;
pub mod secret;
pub mod throttle;
