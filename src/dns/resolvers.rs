//! Which resolvers to ask. There is no silent default: an empty list is an error whose
//! message says how to name one, and `/etc/resolv.conf` is read only when asked for.
//!
//! ```text
//! massdns / zdns resolver files: one resolver per line, "IP" or "IP:PORT",
//! IPv6 as "[IP]:PORT"; blank lines and '#' comments ignored.
//! resolv.conf(5): "nameserver Name server IP address".
//! ```

use std::net::{IpAddr, SocketAddr};

/// Port used when a resolver is named without one.
pub const DNS_PORT: u16 = 53;

/// The advice printed when no resolver was named.
pub const HOW_TO_NAME: &str = "no DNS resolver named: pass --resolver IP[:PORT] (repeatable), \
     --resolvers-file FILE (one IP[:PORT] per line), or --system-resolvers to use /etc/resolv.conf";

/// Errors in naming resolvers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolverError {
    /// A resolver entry that is not `IP`, `IP:PORT` or `[IPv6]:PORT`.
    #[error(
        "{origin}: {text:?} is not a resolver address (want IP or IP:PORT, IPv6 as [IP]:PORT)"
    )]
    BadEntry {
        /// Where the entry came from (command line, file:line).
        origin: String,
        /// The offending text.
        text: String,
    },
    /// Nothing to ask.
    #[error("{HOW_TO_NAME}")]
    Empty,
}

/// Parses `IP`, `IP:PORT`, `[IPv6]` or `[IPv6]:PORT` (a bare IPv6 address takes port 53).
pub fn parse_resolver(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
}

/// Parses one entry named on the command line (`--resolver`).
pub fn parse_arg(text: &str) -> Result<SocketAddr, ResolverError> {
    parse_resolver(text).ok_or_else(|| ResolverError::BadEntry {
        origin: "--resolver".into(),
        text: text.into(),
    })
}

/// Parses a massdns/zdns style resolvers file: one resolver per line, `#` starts a comment.
/// `origin` names the file in error messages.
pub fn parse_file(contents: &str, origin: &str) -> Result<Vec<SocketAddr>, ResolverError> {
    let mut out = Vec::new();
    for (n, line) in contents.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(parse_resolver(line).ok_or_else(|| ResolverError::BadEntry {
            origin: format!("{origin}:{}", n + 1),
            text: line.into(),
        })?);
    }
    Ok(out)
}

/// Parses resolv.conf(5) `nameserver` lines (port 53; IPv6 zone ids are not supported and skipped).
pub fn parse_resolv_conf(contents: &str) -> Vec<SocketAddr> {
    contents
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, DNS_PORT))
        })
        .collect()
}

/// Removes duplicates (keeping first occurrences) and refuses an empty list.
pub fn finish(list: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, ResolverError> {
    let mut out: Vec<SocketAddr> = Vec::with_capacity(list.len());
    for sa in list {
        if !out.contains(&sa) {
            out.push(sa);
        }
    }
    if out.is_empty() {
        return Err(ResolverError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_with_and_without_port_parse() {
        assert_eq!(parse_resolver("127.0.0.1"), "127.0.0.1:53".parse().ok());
        assert_eq!(
            parse_resolver("127.0.0.1:5353"),
            "127.0.0.1:5353".parse().ok()
        );
        assert_eq!(parse_resolver("::1"), "[::1]:53".parse().ok());
        assert_eq!(parse_resolver("[::1]"), "[::1]:53".parse().ok());
        assert_eq!(parse_resolver("[::1]:5300"), "[::1]:5300".parse().ok());
        assert_eq!(parse_resolver(" 127.0.0.2 "), "127.0.0.2:53".parse().ok());
        assert_eq!(parse_resolver("localhost"), None);
        assert_eq!(parse_resolver("127.0.0.1:99999"), None);
    }

    #[test]
    fn file_skips_comments_and_blank_lines_and_names_bad_line() {
        let f = "# resolvers\n127.0.0.1\n\n  127.0.0.2:5353  # lab\n[::1]:53\n";
        assert_eq!(
            parse_file(f, "r.txt").unwrap(),
            vec![
                "127.0.0.1:53".parse().unwrap(),
                "127.0.0.2:5353".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        let err = parse_file("127.0.0.1\nnot-an-ip\n", "r.txt").unwrap_err();
        assert_eq!(
            err,
            ResolverError::BadEntry {
                origin: "r.txt:2".into(),
                text: "not-an-ip".into()
            }
        );
    }

    #[test]
    fn resolv_conf_nameserver_lines_only() {
        let f = "# x\nsearch lan\nnameserver 127.0.0.53\noptions edns0\nnameserver ::1\nnameserver fe80::1%eth0\n";
        assert_eq!(
            parse_resolv_conf(f),
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn empty_list_is_an_error_that_says_how_to_name_a_resolver() {
        let err = finish(vec![]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--resolver IP[:PORT]"), "{msg}");
        assert!(msg.contains("--resolvers-file"), "{msg}");
        assert!(msg.contains("--system-resolvers"), "{msg}");
    }

    #[test]
    fn duplicates_are_removed_in_order() {
        let a: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:53".parse().unwrap();
        assert_eq!(finish(vec![a, b, a]).unwrap(), vec![a, b]);
    }
}
