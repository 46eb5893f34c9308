//! Engine counters, and the kernel's UDP receive-buffer drops from /proc/net/snmp.
//!
//! ```text
//! /proc/net/snmp "Udp:" RcvbufErrors: datagrams dropped because a socket's receive buffer
//! was full (Linux; system-wide, so other programs' drops count too).
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Engine-wide counters (relaxed atomics: they are statistics, not synchronisation).
#[derive(Debug, Default)]
pub struct Counters {
    /// Lookups started.
    pub lookups: AtomicU64,
    /// UDP queries sent (every attempt).
    pub sent: AtomicU64,
    /// Replies matched to an outstanding query (UDP and TCP).
    pub answered: AtomicU64,
    /// Attempts after the first of a lookup.
    pub retried: AtomicU64,
    /// Attempts that saw no matching reply in time.
    pub timed_out: AtomicU64,
    /// Truncated replies followed by a TCP query.
    pub tcp_fallbacks: AtomicU64,
    /// Datagrams that matched no outstanding query (late, spoofed, garbage) and were dropped.
    pub unmatched: AtomicU64,
    /// SERVFAIL replies.
    pub servfail: AtomicU64,
    /// REFUSED replies.
    pub refused: AtomicU64,
}

/// Counters of one resolver.
#[derive(Debug, Default)]
pub struct ResolverCounters {
    /// Queries sent to it.
    pub sent: AtomicU64,
    /// Matched replies from it.
    pub answered: AtomicU64,
    /// Attempts to it that timed out.
    pub timed_out: AtomicU64,
    /// SERVFAIL or REFUSED replies from it.
    pub failed: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// A point-in-time copy of one resolver's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResolverSnapshot {
    /// The resolver.
    pub addr: SocketAddr,
    /// Queries sent.
    pub sent: u64,
    /// Matched replies.
    pub answered: u64,
    /// Timed-out attempts.
    pub timed_out: u64,
    /// SERVFAIL/REFUSED replies.
    pub failed: u64,
    /// Queries sent per second since the engine started.
    pub qps: f64,
    /// Times it was put into backoff.
    pub backoffs: u64,
    /// Whether it is in backoff now.
    pub backed_off: bool,
    /// Queries outstanding now.
    pub in_flight: usize,
}

/// A point-in-time copy of the engine's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatsSnapshot {
    /// Time since the engine started.
    pub elapsed: Duration,
    /// Lookups started.
    pub lookups: u64,
    /// Queries sent over UDP.
    pub sent: u64,
    /// Matched replies.
    pub answered: u64,
    /// Retry attempts.
    pub retried: u64,
    /// Timed-out attempts.
    pub timed_out: u64,
    /// TCP fallbacks after TC=1.
    pub tcp_fallbacks: u64,
    /// Unmatched datagrams dropped.
    pub unmatched: u64,
    /// SERVFAIL replies.
    pub servfail: u64,
    /// REFUSED replies.
    pub refused: u64,
    /// Growth of the kernel's UDP RcvbufErrors since the engine started (None where unreadable).
    pub rcvbuf_errors: Option<u64>,
    /// Per resolver.
    pub resolvers: Vec<ResolverSnapshot>,
}

impl Counters {
    /// Copies the engine-wide counters (resolvers and rcvbuf filled in by the engine).
    pub fn snapshot(&self, elapsed: Duration) -> StatsSnapshot {
        StatsSnapshot {
            elapsed,
            lookups: get(&self.lookups),
            sent: get(&self.sent),
            answered: get(&self.answered),
            retried: get(&self.retried),
            timed_out: get(&self.timed_out),
            tcp_fallbacks: get(&self.tcp_fallbacks),
            unmatched: get(&self.unmatched),
            servfail: get(&self.servfail),
            refused: get(&self.refused),
            rcvbuf_errors: None,
            resolvers: Vec::new(),
        }
    }
}

impl ResolverCounters {
    /// Copies one resolver's counters.
    pub fn snapshot(&self, addr: SocketAddr, elapsed: Duration) -> ResolverSnapshot {
        let sent = get(&self.sent);
        ResolverSnapshot {
            addr,
            sent,
            answered: get(&self.answered),
            timed_out: get(&self.timed_out),
            failed: get(&self.failed),
            qps: sent as f64 / elapsed.as_secs_f64().max(1e-9),
            backoffs: 0,
            backed_off: false,
            in_flight: 0,
        }
    }
}

/// The `RcvbufErrors` value of the `Udp:` lines in /proc/net/snmp text.
pub fn parse_rcvbuf_errors(snmp: &str) -> Option<u64> {
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let header = udp.next()?;
    let values = udp.next()?;
    let col = header
        .split_whitespace()
        .position(|w| w == "RcvbufErrors")?;
    values.split_whitespace().nth(col)?.parse().ok()
}

/// The kernel's UDP receive-buffer drop count, where readable (Linux).
pub fn read_rcvbuf_errors() -> Option<u64> {
    parse_rcvbuf_errors(&std::fs::read_to_string("/proc/net/snmp").ok()?)
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "dns: {} lookups, {} sent ({:.0} q/s), {} answered ({:.0}/s), {} retried, {} timed out, \
             {} tcp fallbacks, {} unmatched, {} servfail, {} refused, rcvbuf errors {}",
            self.lookups,
            self.sent,
            self.sent as f64 / secs,
            self.answered,
            self.answered as f64 / secs,
            self.retried,
            self.timed_out,
            self.tcp_fallbacks,
            self.unmatched,
            self.servfail,
            self.refused,
            self.rcvbuf_errors
                .map_or_else(|| "unreadable".to_string(), |n| n.to_string()),
        )?;
        for r in &self.resolvers {
            writeln!(
                f,
                "  {}: {} sent ({:.0} q/s), {} answered, {} timed out, {} failed, {} in flight, \
                 {} backoffs{}",
                r.addr,
                r.sent,
                r.qps,
                r.answered,
                r.timed_out,
                r.failed,
                r.in_flight,
                r.backoffs,
                if r.backed_off {
                    " (backed off now)"
                } else {
                    ""
                }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcvbuf_errors_read_from_the_udp_lines() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
            Udp: 100 2 3 90 17 0\n\
            UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
            UdpLite: 0 0 0 0 99 0\n";
        assert_eq!(parse_rcvbuf_errors(snmp), Some(17));
        assert_eq!(parse_rcvbuf_errors("Ip: x\nIp: 1\n"), None);
    }
}
