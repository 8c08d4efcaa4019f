//! The server's side of the agent protocol: host authentication, the gateway agents call,
//! batched heartbeats, long-poll wake-ups, and the calls the server makes to agents.

pub mod auth;
pub mod calls;
pub mod engine;
pub mod gateway;
pub mod heartbeats;
pub mod wakers;
