//! stsmap: measures how domains protect mail in transit with MTA-STS (RFC 8461)
//! and TLS reporting (RFC 8460).
//!
//! The core is pure and deterministic (record and policy parsers, MX matching,
//! classification, DNS message handling, the lab's world model); sockets, hyper
//! and files live in thin adapters around it.

pub mod diff;
pub mod dns;
pub mod fetch;
pub mod input;
pub mod lab;
pub mod lint;
pub mod merge;
pub mod mx;
pub mod policy;
pub mod report;
pub mod row;
pub mod scan;
pub mod shard;
pub mod sts_record;
pub mod tlsrpt;
mod udp_batch;
