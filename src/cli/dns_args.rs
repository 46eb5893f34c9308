//! Command-line flags for the DNS engine, for subcommands to `#[command(flatten)]`.
//!
//! ```text
//! issue 4: "--resolver IP[:PORT] (repeatable) and --resolvers-file FILE (one per line,
//! massdns/zdns style). No silent default: /etc/resolv.conf is read only with
//! --system-resolvers; with no resolver named the scan stops with a message saying how
//! to name one."
//! ```

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use stsmap::dns::resolvers::{self, ResolverError};
use stsmap::dns::{ConfigError, EngineConfig};

/// DNS engine flags shared by the subcommands that resolve names.
#[derive(clap::Args, Debug, Clone)]
pub struct DnsArgs {
    /// Resolver to ask, IP[:PORT] (IPv6 as [IP]:PORT); repeatable.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    pub resolvers: Vec<String>,
    /// File of resolvers, one IP[:PORT] per line, '#' comments (massdns/zdns style).
    #[arg(long, value_name = "FILE")]
    pub resolvers_file: Option<String>,
    /// Also use the nameservers of /etc/resolv.conf (never used unless asked for).
    #[arg(long)]
    pub system_resolvers: bool,
    /// Queries per second sent to each resolver (default: unlimited).
    #[arg(long, value_name = "N")]
    pub qps_per_resolver: Option<NonZeroU32>,
    /// Retries after the first attempt (on another resolver when there is one).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seconds to wait for one DNS reply.
    #[arg(long, default_value_t = 2.0)]
    pub dns_timeout: f64,
    /// DNS queries awaiting a reply, all resolvers together.
    #[arg(long, default_value_t = 4096)]
    pub dns_in_flight: usize,
    /// DNS queries awaiting a reply from one resolver.
    #[arg(long, default_value_t = 2048)]
    pub dns_in_flight_per_resolver: usize,
    /// UDP sockets (each with its own random source port).
    #[arg(long, default_value_t = 8)]
    pub dns_sockets: usize,
}

impl DnsArgs {
    /// The resolvers named, in order: `--resolver`, then the file, then resolv.conf.
    pub fn resolver_list(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        let mut list = Vec::new();
        for r in &self.resolvers {
            list.push(resolvers::parse_arg(r)?);
        }
        if let Some(path) = &self.resolvers_file {
            let text = std::fs::read_to_string(path).map_err(|e| ResolverError::BadEntry {
                origin: path.clone(),
                text: format!("unreadable: {e}"),
            })?;
            list.extend(resolvers::parse_file(&text, path)?);
        }
        if self.system_resolvers {
            let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            list.extend(resolvers::parse_resolv_conf(&text));
        }
        Ok(resolvers::finish(list)?)
    }

    /// The engine configuration these flags describe.
    pub fn to_config(&self) -> Result<EngineConfig, ConfigError> {
        if !(self.dns_timeout.is_finite() && self.dns_timeout > 0.0) {
            return Err(ConfigError::Invalid(
                "--dns-timeout must be a positive number of seconds",
            ));
        }
        let mut c = EngineConfig::new(self.resolver_list()?);
        c.qps_per_resolver = self.qps_per_resolver;
        c.retries = self.retries;
        c.timeout = Duration::from_secs_f64(self.dns_timeout);
        c.max_in_flight = self.dns_in_flight;
        c.max_in_flight_per_resolver = self.dns_in_flight_per_resolver;
        c.sockets = self.dns_sockets;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        dns: DnsArgs,
    }

    fn parse(args: &[&str]) -> DnsArgs {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .dns
    }

    #[test]
    fn repeated_resolver_flags_become_the_list() {
        let c = parse(&["--resolver", "127.0.0.1:5353", "--resolver", "127.0.0.2"])
            .to_config()
            .unwrap();
        assert_eq!(
            c.resolvers,
            vec![
                "127.0.0.1:5353".parse::<SocketAddr>().unwrap(),
                "127.0.0.2:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn no_resolver_flag_is_an_error_naming_the_flags() {
        let err = parse(&[]).to_config().unwrap_err().to_string();
        assert!(err.contains("--resolver IP[:PORT]"), "{err}");
    }

    #[test]
    fn bad_resolver_is_reported_with_its_text() {
        let err = parse(&["--resolver", "dns.example"])
            .to_config()
            .unwrap_err()
            .to_string();
        assert!(err.contains("dns.example"), "{err}");
    }
}
