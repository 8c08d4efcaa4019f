//! Identity services: password hashing, token secrets, the authenticated principal (and its
//! one-second cache), bootstrap, login throttling.

pub mod auth_cache;
pub mod bootstrap;
pub mod password;
pub mod principal;
pub mod secret;
pub mod throttle;
