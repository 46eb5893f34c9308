//! The raw-UDP DNS engine: thousands of lookups in flight over the engine's own sockets,
//! per-resolver rate limits, retries on other resolvers, TCP after truncation, typed outcomes.
//!
//! hickory-proto is used as a codec only (building queries, decoding replies); there is no
//! system resolver, no hickory-resolver and no getaddrinfo.
//!
//! ```text
//! RFC 1035 §4.2.1: "UDP [...] queries [...] the resolver should retransmit
//! [...] to other servers"; §4.2.2: TCP messages carry a two-byte length prefix.
//! ```

pub mod engine;
pub mod health;
pub mod limits;
pub mod query;
pub mod resolvers;
mod send;
pub mod stats;

pub use engine::{ConfigError, DnsEngine, EngineConfig, Lookup};
pub use health::HealthConfig;
pub use query::{Malformed, Outcome, Qtype, Records};
pub use resolvers::ResolverError;
pub use stats::StatsSnapshot;
