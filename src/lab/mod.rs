//! The lab: a deterministic simulated mail-security world (DNS + HTTPS) with ground truth.
//!
//! `world` is pure: for any domain, profile and seed it derives what the world serves.
//! `dns_server` and `https_server` are thin socket adapters around it.

pub mod dns_server;
pub mod faults;
#[cfg(target_os = "linux")]
mod mmsg;
pub mod truth;
pub mod wire;
pub mod world;
pub mod zone;
