//! MX answers (RFC 7505 null MX) and MX host vs policy pattern matching (RFC 8461 §4.1).

pub use crate::row::Coverage;

/// The meaning of an MX answer set.
///
/// ```text
/// RFC 7505 §3:
///   The null MX RR is an ordinary MX record with an RDATA section
///   consisting of preference number 0 and a zero-length label, written
///   in master files as ".", as the exchange domain, to denote that there
///   exists no mail exchanger for a domain.  [...] A domain that
///   advertises a null MX MUST NOT advertise any other MX RR.
/// ```
///
/// A lone record whose exchange is the root is read as a null MX whatever
/// its preference: no mail can be delivered to "." either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    /// Hosts ordered by preference (then name), lowercase, no trailing dot.
    Hosts(Vec<String>),
    /// A single `0 .` record (RFC 7505).
    NullMx,
    /// A null MX mixed with other records (RFC 7505 §3: a misconfiguration); the other hosts.
    NullMixed(Vec<String>),
    /// No records.
    Empty,
}

/// Lowercase, one trailing dot removed: the form hosts and patterns are compared in.
pub fn normalize_host(name: &str) -> String {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.to_ascii_lowercase()
}

/// Interprets MX records as (preference, exchange) pairs.
pub fn interpret(records: &[(u16, String)]) -> MxAnswer {
    if records.is_empty() {
        return MxAnswer::Empty;
    }
    let mut hosts: Vec<(u16, String)> = Vec::new();
    let mut nulls = 0;
    for (pref, exchange) in records {
        let host = normalize_host(exchange);
        if host.is_empty() {
            nulls += 1;
        } else {
            hosts.push((*pref, host));
        }
    }
    hosts.sort();
    // The same exchange listed twice keeps its best (lowest) preference.
    let mut names: Vec<String> = Vec::with_capacity(hosts.len());
    for (_, h) in hosts {
        if !names.contains(&h) {
            names.push(h);
        }
    }
    match (nulls, names.is_empty()) {
        (0, _) => MxAnswer::Hosts(names),
        (_, true) => MxAnswer::NullMx,
        (_, false) => MxAnswer::NullMixed(names),
    }
}

/// Whether `host` matches the policy `pattern` (RFC 8461 §4.1).
///
/// ```text
/// RFC 8461 §4.1 (in substance): MX host names are compared with the
/// policy's "mx" patterns case-insensitively, ignoring a trailing dot.
/// A pattern may begin with a wildcard "*." label, which matches exactly
/// one left-most label: "*.example.com" matches "mx1.example.com" but not
/// "example.com" nor "foo.mx1.example.com".
/// ```
///
/// A `*` anywhere else (`alt*.google.com`) matches nothing.
pub fn pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = normalize_host(pattern);
    let host = normalize_host(host);
    if host.is_empty() || host.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            if suffix.is_empty() || suffix.contains('*') {
                return false;
            }
            match host.split_once('.') {
                Some((label, rest)) => !label.is_empty() && rest == suffix,
                None => false,
            }
        }
        None => !pattern.contains('*') && pattern == host,
    }
}

/// How many of `hosts` the patterns cover, and which hosts are not covered (in order).
///
/// With no hosts at all nothing is covered: `(Coverage::None, [])`.
pub fn coverage(patterns: &[String], hosts: &[String]) -> (Coverage, Vec<String>) {
    let uncovered: Vec<String> = hosts
        .iter()
        .filter(|h| !patterns.iter().any(|p| pattern_matches(p, h)))
        .cloned()
        .collect();
    let c = if hosts.is_empty() || uncovered.len() == hosts.len() {
        Coverage::None
    } else if uncovered.is_empty() {
        Coverage::All
    } else {
        Coverage::Some
    };
    (c, uncovered)
}

#[cfg(test)]
mod tests;
