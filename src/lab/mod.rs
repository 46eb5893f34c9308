//! The lab: a simulated mail-security world (DNS + HTTPS) with ground truth.
//!
//! `world` is pure: for any domain, profile and seed it derives what the world serves.
//! `dns_server` and `https_server` are thin socket adapters around it.

pub mod certs;
pub mod dns_server;
pub mod faults;
pub mod https_server;
#[cfg(target_os = "linux")]
mod mmsg;
pub mod truth;
pub mod wire;
pub mod world;
pub mod zone;

use dns_server::{DnsServer, DnsServerHandle};
use faults::FaultConfig;
use https_server::{HttpsServer, HttpsServerHandle};
use std::io;
use std::net::{IpAddr, SocketAddr};
use world::{LabAddrs, Profile, World};

/// What to start: the world and where to serve it.
#[derive(Debug, Clone)]
pub struct LabConfig {
    pub profile: Profile,
    pub seed: u64,
    /// UDP and TCP address of the DNS server (port 0: any free port).
    pub dns_bind: SocketAddr,
    /// Address of the HTTPS server; policy hosts resolve to its IP.
    pub https_bind: SocketAddr,
    /// Faults the DNS server injects.
    pub faults: FaultConfig,
}

impl LabConfig {
    /// A world on 127.0.0.1, both servers on free ports, no faults.
    pub fn loopback(profile: Profile, seed: u64) -> LabConfig {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        LabConfig {
            profile,
            seed,
            dns_bind: any,
            https_bind: any,
            faults: FaultConfig::default(),
        }
    }
}

/// A running lab: an authoritative DNS server and an HTTPS server for one world.
pub struct Lab {
    /// The world both servers act out.
    pub world: World,
    dns: DnsServerHandle,
    https: HttpsServerHandle,
}

impl Lab {
    /// Starts both servers; must be called inside a tokio runtime. Loopback only.
    pub fn start(config: LabConfig) -> io::Result<Lab> {
        let world = World::new(config.profile, config.seed);
        let https = HttpsServer::start(world, config.https_bind)?;
        let addrs = match https.local_addr().ip() {
            IpAddr::V4(v4) => LabAddrs {
                https_v4: v4,
                https_v6: None,
            },
            IpAddr::V6(v6) => LabAddrs {
                https_v4: std::net::Ipv4Addr::LOCALHOST,
                https_v6: Some(v6),
            },
        };
        if !may_bind(config.dns_bind.ip()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{BIND_RULE}, not {}", config.dns_bind),
            ));
        }
        let dns = DnsServer::start(world, addrs, config.dns_bind, config.faults)?;
        Ok(Lab { world, dns, https })
    }

    /// Where the DNS server answers (UDP and TCP).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr()
    }

    /// Where the HTTPS server listens.
    pub fn https_addr(&self) -> SocketAddr {
        self.https.local_addr()
    }

    /// The lab CA certificate (PEM) a scanner must trust.
    pub fn ca_pem(&self) -> &str {
        self.https.ca_pem()
    }

    /// Stops both servers.
    pub async fn shutdown(self) {
        self.dns.shutdown();
        self.https.shutdown().await;
    }
}

/// What [`may_bind`] allows, for error messages.
pub const BIND_RULE: &str =
    "the lab binds only loopback addresses, or any address inside a network namespace made with `ip netns`";

/// Where the lab may listen: a loopback address, or any address while this process runs in a
/// network namespace made with `ip netns add` (a test's, wired to the scanner by a veth pair),
/// where no packet reaches a real network unless someone routes it there.
pub fn may_bind(ip: IpAddr) -> bool {
    ip.is_loopback() || in_named_network_namespace()
}

/// True when this process's network namespace (`/proc/self/ns/net`, `net:[INODE]`) is one of
/// those `ip netns` keeps under `/run/netns` (bind mounts of the namespace, same inode). The
/// host's namespace is never there; `/proc/1/ns` is not readable on every machine.
fn in_named_network_namespace() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(link) = std::fs::read_link("/proc/self/ns/net") else {
        return false;
    };
    let Some(inode) = link.to_str().and_then(|l| {
        l.strip_prefix("net:[")?
            .strip_suffix(']')?
            .parse::<u64>()
            .ok()
    }) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return false;
    };
    entries
        .flatten()
        .any(|e| std::fs::metadata(e.path()).is_ok_and(|m| m.ino() == inode))
}
