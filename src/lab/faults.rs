//! Fault and realism knobs of the lab's DNS server: what real networks and resolvers do to
//! a scanner's queries (latency, loss, SERVFAIL, rate limits, malformed and spoofed replies).
//!
//! Every random draw comes from a generator seeded with [`FaultConfig::seed`] and the
//! socket (or TCP connection) index, so a run with one client socket is reproducible.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which faults the server injects. `Default` injects none.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Each reply is held back by a delay drawn uniformly from `[lo, hi]`, without
    /// holding back other queries.
    pub latency: Option<(Duration, Duration)>,
    /// Share of UDP queries silently dropped (a lost packet).
    pub loss: f64,
    /// Share of queries answered SERVFAIL instead of the world's answer.
    pub servfail: f64,
    /// Per-source-IP query rate limit, as public resolvers apply.
    pub rate_limit: Option<RateLimit>,
    /// Share of queries answered by truncated garbage (a reply cut short) instead of the real reply.
    pub malformed: f64,
    /// Share of UDP queries that get a spoofed reply (wrong id or wrong question) sent just
    /// before the real one: a client must ignore it.
    pub spoof: f64,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency: None,
            loss: 0.0,
            servfail: 0.0,
            rate_limit: None,
            malformed: 0.0,
            spoof: 0.0,
            seed: 0,
        }
    }
}

/// At most `qps` queries per second per source IP; past it, `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub qps: u32,
    pub action: RateLimitAction,
}

/// What a rate-limited query gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitAction {
    /// A REFUSED reply.
    Refused,
    /// No reply at all.
    Drop,
}

impl FaultConfig {
    /// True when no fault is configured: the server then takes its allocation-free fast path.
    pub fn is_none(&self) -> bool {
        self.latency.is_none()
            && self.loss <= 0.0
            && self.servfail <= 0.0
            && self.rate_limit.is_none()
            && self.malformed <= 0.0
            && self.spoof <= 0.0
    }
}

/// How a spoofed reply differs from the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoofKind {
    /// Same message, another transaction id.
    WrongId,
    /// Same id, another question name (or type, for the root).
    WrongQuestion,
}

/// What happens to one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// No reply (loss or rate limit with `Drop`).
    Drop,
    /// A REFUSED reply (rate limit).
    Refuse,
    /// A reply, possibly altered.
    Reply {
        servfail: bool,
        malformed: bool,
        spoof: Option<SpoofKind>,
        delay: Duration,
    },
}

impl Fate {
    /// The fate of every query when no fault is configured.
    pub const PLAIN: Fate = Fate::Reply {
        servfail: false,
        malformed: false,
        spoof: None,
        delay: Duration::ZERO,
    };
}

/// Per-source-IP fixed one-second windows, shared by every socket of a server.
#[derive(Debug)]
pub struct RateLimiter {
    epoch: Instant,
    windows: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            epoch: Instant::now(),
            windows: Mutex::new(HashMap::new()),
        }
    }
}

impl RateLimiter {
    /// Counts one query from `ip`; true when it is within `qps` for the current second.
    pub fn admit(&self, ip: IpAddr, qps: u32) -> bool {
        let second = self.epoch.elapsed().as_secs();
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 65_536 {
            map.retain(|_, (s, _)| *s == second);
        }
        let w = map.entry(ip).or_insert((second, 0));
        if w.0 != second {
            *w = (second, 0);
        }
        w.1 += 1;
        w.1 <= qps
    }
}

/// The random source of one socket or connection.
#[derive(Debug)]
pub struct FaultRng(SmallRng);

impl FaultRng {
    /// A generator for stream `stream` (socket or connection index) of a server seeded `seed`.
    pub fn new(seed: u64, stream: u64) -> FaultRng {
        let mixed = seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        FaultRng(SmallRng::seed_from_u64(mixed))
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.0.random::<f64>() < p
    }

    /// A number in `lo..hi` (for cutting a malformed reply).
    pub fn below(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..hi)
        }
    }
}

/// Decides the fate of one query from `src`; `udp` enables loss and spoofing, which only
/// make sense for datagrams.
pub fn decide(
    cfg: &FaultConfig,
    rng: &mut FaultRng,
    limiter: &RateLimiter,
    src: IpAddr,
    udp: bool,
) -> Fate {
    if let Some(rl) = cfg.rate_limit {
        if !limiter.admit(src, rl.qps) {
            return match rl.action {
                RateLimitAction::Refused => Fate::Refuse,
                RateLimitAction::Drop => Fate::Drop,
            };
        }
    }
    if udp && rng.chance(cfg.loss) {
        return Fate::Drop;
    }
    let servfail = rng.chance(cfg.servfail);
    let malformed = rng.chance(cfg.malformed);
    let spoof = (udp && rng.chance(cfg.spoof)).then(|| {
        if rng.0.random::<bool>() {
            SpoofKind::WrongId
        } else {
            SpoofKind::WrongQuestion
        }
    });
    let delay = match cfg.latency {
        Some((lo, hi)) if hi > lo => {
            let span = (hi - lo).as_nanos() as u64;
            lo + Duration::from_nanos(rng.0.random_range(0..=span))
        }
        Some((lo, _)) => lo,
        None => Duration::ZERO,
    };
    Fate::Reply {
        servfail,
        malformed,
        spoof,
        delay,
    }
}

/// Turns `reply` into a spoofed copy of itself.
pub fn spoof(reply: &mut [u8], kind: SpoofKind) {
    match kind {
        SpoofKind::WrongId => {
            reply[0] ^= 0x5a;
            reply[1] ^= 0xa5;
        }
        SpoofKind::WrongQuestion => {
            // First byte of the first qname label; the root has no label, so change the qtype.
            if reply.len() > 13 && reply[12] != 0 {
                let b = reply[13].to_ascii_lowercase();
                reply[13] = if b == b'x' { b'q' } else { b'x' };
            } else if reply.len() >= 15 {
                reply[14] ^= 0x01;
            }
        }
    }
}

/// Parses `20ms..200ms` (or a single `50ms`) into a latency range.
pub fn parse_latency(s: &str) -> Result<(Duration, Duration), String> {
    let (lo, hi) = match s.split_once("..") {
        Some((a, b)) => (parse_duration(a)?, parse_duration(b)?),
        None => {
            let d = parse_duration(s)?;
            (d, d)
        }
    };
    if hi < lo {
        return Err(format!("latency range {s:?} ends before it starts"));
    }
    Ok((lo, hi))
}

/// Parses `250ms`, `2s` or `1500us`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "us" => Ok(Duration::from_micros(n)),
        _ => Err(format!("bad duration unit in {s:?} (use us, ms or s)")),
    }
}

/// Parses a probability in `[0, 1]`.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("bad rate {s:?}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("rate {s:?} is not within 0..1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_ranges_parse() {
        assert_eq!(
            parse_latency("20ms..200ms"),
            Ok((Duration::from_millis(20), Duration::from_millis(200)))
        );
        assert_eq!(
            parse_latency("1s"),
            Ok((Duration::from_secs(1), Duration::from_secs(1)))
        );
        assert!(parse_latency("200ms..20ms").is_err());
        assert!(parse_latency("20 parsecs").is_err());
    }

    #[test]
    fn rates_outside_unit_interval_are_rejected() {
        assert_eq!(parse_rate("0.05"), Ok(0.05));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("x").is_err());
    }

    #[test]
    fn same_seed_gives_same_fates() {
        let cfg = FaultConfig {
            loss: 0.3,
            servfail: 0.3,
            spoof: 0.3,
            latency: Some((Duration::from_millis(1), Duration::from_millis(9))),
            seed: 42,
            ..FaultConfig::default()
        };
        let lim = RateLimiter::default();
        let ip = IpAddr::from([127, 0, 0, 1]);
        let run = || {
            let mut rng = FaultRng::new(cfg.seed, 0);
            (0..200)
                .map(|_| decide(&cfg, &mut rng, &lim, ip, true))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.contains(&Fate::Drop));
        assert!(a
            .iter()
            .any(|f| matches!(f, Fate::Reply { servfail: true, .. })));
    }

    #[test]
    fn rate_limiter_refuses_past_qps_within_a_second() {
        let lim = RateLimiter::default();
        let ip = IpAddr::from([127, 0, 0, 9]);
        // The first `qps` of any window pass; a thousand in a row cannot all fit one window.
        let verdicts: Vec<bool> = (0..1000).map(|_| lim.admit(ip, 3)).collect();
        assert!(verdicts[..3].iter().all(|&v| v));
        assert!(verdicts.contains(&false));
    }

    #[test]
    fn spoofed_question_differs_ignoring_case() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[1, b'X', 0, 0, 1, 0, 1]);
        spoof(&mut m, SpoofKind::WrongQuestion);
        assert_eq!(m[13], b'q');
    }
}
