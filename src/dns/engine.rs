//! The socket side of the engine: UDP sockets with their in-flight tables, timeouts,
//! retries on other resolvers, TCP after truncation. The message logic is in `query`.
//!
//! ```text
//! RFC 5452 §9.2: use random ids and random source ports, and accept a reply only if its
//! id, source address and port, and question match an outstanding query.
//! RFC 7766 §5: a truncated UDP reply means the client retries the query over TCP.
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use std::os::fd::AsRawFd;

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::health::{Availability, Health, HealthConfig};
use super::limits::ResolverLimits;
use super::query::{
    message_id, parse_reply, reply_matches, Malformed, Outcome, Parsed, Qtype, Question, Records,
};
use super::resolvers::{self, ResolverError};
use super::send::{Outbox, Outgoing, Sender};
use super::stats::{bump, read_rcvbuf_errors, Counters, ResolverCounters, StatsSnapshot};
use crate::udp_batch::{RecvBatch, BATCH};

/// How the engine behaves. `EngineConfig::new(resolvers)` gives the defaults.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Resolvers to ask (at least one; duplicates dropped).
    pub resolvers: Vec<SocketAddr>,
    /// UDP sockets per address family in use; each gets its own random source port.
    pub sockets: usize,
    /// Wait for a reply to one attempt.
    pub timeout: Duration,
    /// Attempts after the first (on other resolvers when there are any).
    pub retries: u32,
    /// Pause before the first retry after a timeout, doubled after each further timeout.
    pub retry_backoff: Duration,
    /// Queries per second per resolver (None: unlimited).
    pub qps_per_resolver: Option<NonZeroU32>,
    /// Queries awaiting a reply, all resolvers together.
    pub max_in_flight: usize,
    /// Queries awaiting a reply from one resolver.
    pub max_in_flight_per_resolver: usize,
    /// Concurrent TCP connections (after truncated replies).
    pub max_tcp: usize,
    /// SO_RCVBUF requested per socket (None: /proc/sys/net/core/rmem_max, else 8 MiB).
    pub rcvbuf: Option<usize>,
    /// When to back a failing resolver off.
    pub health: HealthConfig,
    /// EDNS0 UDP payload size advertised (default 1232; tests lower it to force truncation).
    pub edns_payload: u16,
}

impl EngineConfig {
    /// Defaults: 8 sockets, 2 s timeout, 3 retries, 4096 in flight (2048 per resolver), 64 TCP.
    pub fn new(resolvers: Vec<SocketAddr>) -> EngineConfig {
        EngineConfig {
            resolvers,
            sockets: 8,
            timeout: Duration::from_secs(2),
            retries: 3,
            retry_backoff: Duration::from_millis(50),
            qps_per_resolver: None,
            max_in_flight: 4096,
            max_in_flight_per_resolver: 2048,
            max_tcp: 64,
            rcvbuf: None,
            health: HealthConfig::default(),
            edns_payload: super::query::EDNS_PAYLOAD,
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No resolver, or a bad one.
    #[error(transparent)]
    Resolvers(#[from] ResolverError),
    /// A UDP socket could not be opened.
    #[error("opening a UDP socket: {0}")]
    Socket(#[from] std::io::Error),
    /// A setting that cannot work (the text says which).
    #[error("invalid DNS engine setting: {0}")]
    Invalid(&'static str),
}

/// The end of one lookup: its outcome and how it got there.
///
/// ```text
/// RFC 1035 §7.2: "the resolver [...] should retransmit [...] to other servers"; every
/// attempt counts.
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<T = Records> {
    /// Answer, NXDOMAIN, NODATA, or the failure after all attempts.
    pub outcome: Outcome<T>,
    /// Queries sent for it (1 + retries used; a TCP follow-up is part of its attempt).
    pub attempts: u32,
    /// CNAME targets followed in the final reply (lowercase, no trailing dot).
    pub cname_chain: Vec<String>,
    /// Whether the final reply came over TCP (after TC=1).
    pub tcp: bool,
}

impl<T> Lookup<T> {
    fn map<U>(self, f: impl FnOnce(T) -> Option<U>) -> Lookup<U> {
        let outcome = match self.outcome {
            Outcome::Answer(t) => match f(t) {
                Some(u) => Outcome::Answer(u),
                None => Outcome::Malformed(Malformed::Undecodable),
            },
            other => other.map(|_| unreachable!("answer handled above")),
        };
        Lookup {
            outcome,
            attempts: self.attempts,
            cname_chain: self.cname_chain,
            tcp: self.tcp,
        }
    }
}

/// Identity hasher for random 16-bit ids.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    /// Fibonacci hashing: the id spread over all 64 bits. hashbrown takes its probe tags
    /// from the top bits, which a bare 16-bit id would leave all zero.
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u16(&mut self, n: u16) {
        self.0 = u64::from(n);
    }
}

/// An outstanding query on one socket.
struct Pending {
    resolver: SocketAddr,
    question: Arc<Question>,
    token: u64,
    /// When the socket's sweep gives up on it (dropping `tx` ends the attempt).
    deadline: Instant,
    tx: oneshot::Sender<Parsed>,
}

/// One UDP socket, the queries outstanding on it by id, and those waiting to be sent.
struct Slot {
    socket: UdpSocket,
    pending: Mutex<HashMap<u16, Pending, BuildHasherDefault<IdHasher>>>,
    tokens: AtomicU64,
    outgoing: Mutex<Vec<Outgoing>>,
}

impl Outbox for Slot {
    fn fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
    fn queue(&self) -> &Mutex<Vec<Outgoing>> {
        &self.outgoing
    }
    fn failed(&self, id: u16, token: u64) {
        // Dropping the entry drops its sender: the attempt ends at once.
        drop(PendingGuard {
            slot: self,
            id,
            token,
        });
    }
}

impl Slot {
    /// Registers a query under a fresh random id not outstanding on this socket.
    fn register(
        &self,
        resolver: SocketAddr,
        question: Arc<Question>,
        deadline: Instant,
        tx: oneshot::Sender<Parsed>,
    ) -> (u16, u64) {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let mut table = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut id: u16 = rand::random();
        while table.contains_key(&id) {
            id = rand::random();
        }
        table.insert(
            id,
            Pending {
                resolver,
                question,
                token,
                deadline,
                tx,
            },
        );
        (id, token)
    }
}

/// Removes a query from its socket's table when the attempt ends (however it ends).
struct PendingGuard<'a> {
    slot: &'a Slot,
    id: u16,
    token: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut table = self.slot.pending.lock().unwrap_or_else(|e| e.into_inner());
        if table.get(&self.id).is_some_and(|p| p.token == self.token) {
            table.remove(&self.id);
        }
    }
}

/// Ends the attempts on one socket whose deadline has passed, every `every`: one timer per
/// socket instead of one per query.
async fn sweep_loop(slot: Arc<Slot>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let expired: Vec<Pending> = {
            let mut table = slot.pending.lock().unwrap_or_else(|e| e.into_inner());
            if table.values().all(|p| p.deadline > now) {
                continue;
            }
            let ids: Vec<u16> = table
                .iter()
                .filter(|(_, p)| p.deadline <= now)
                .map(|(&id, _)| id)
                .collect();
            ids.iter().filter_map(|id| table.remove(id)).collect()
        };
        // Dropped outside the lock: each drop wakes its attempt with "no reply".
        drop(expired);
    }
}

/// Reads replies on one socket, a batch per system call, and hands each matched one, decoded,
/// to its waiting query. The in-flight table is locked once per batch, not once per reply.
async fn receive_loop(slot: Arc<Slot>, counters: Arc<Counters>) {
    // Room for the largest UDP payload there is, so a server that ignores the advertised
    // EDNS size (1232) and sends hundreds of records still arrives whole.
    let mut batch = RecvBatch::new(65_536);
    let mut matched: Vec<(oneshot::Sender<Parsed>, Parsed)> = Vec::with_capacity(BATCH);
    let fd = slot.socket.as_raw_fd();
    loop {
        if slot.socket.readable().await.is_err() {
            continue;
        }
        let n = match slot
            .socket
            .try_io(Interest::READABLE, || batch.recv(fd, libc::MSG_DONTWAIT))
        {
            Ok(n) => n,
            Err(_) => continue, // WouldBlock: readiness cleared, wait again
        };
        {
            let mut table = slot.pending.lock().unwrap_or_else(|e| e.into_inner());
            for i in 0..n {
                let Some((pkt, from)) = batch.get(i) else {
                    bump(&counters.unmatched);
                    continue;
                };
                let hit = message_id(pkt).and_then(|id| match table.get(&id) {
                    Some(p) if p.resolver == from && reply_matches(pkt, id, &p.question) => {
                        table.remove(&id)
                    }
                    _ => None,
                });
                match hit {
                    Some(p) => matched.push((p.tx, parse_reply(pkt, &p.question))),
                    None => bump(&counters.unmatched),
                }
            }
        }
        if !matched.is_empty() {
            counters
                .answered
                .fetch_add(matched.len() as u64, Ordering::Relaxed);
        }
        for (tx, pkt) in matched.drain(..) {
            let _ = tx.send(pkt);
        }
        // Let the woken lookups run (and send their next queries) between batches.
        tokio::task::consume_budget().await;
    }
}

struct Resolver {
    addr: SocketAddr,
    limits: ResolverLimits,
    health: Health,
    counters: ResolverCounters,
}

struct Inner {
    config: EngineConfig,
    resolvers: Vec<Resolver>,
    /// Sockets by index in `sender`'s outboxes: IPv4 ones first, then IPv6.
    v4: Vec<Arc<Slot>>,
    v6: Vec<Arc<Slot>>,
    sender: Sender<Slot>,
    next_slot: AtomicUsize,
    next_resolver: AtomicUsize,
    global: Semaphore,
    tcp: Semaphore,
    counters: Arc<Counters>,
    started: Instant,
    rcvbuf_at_start: Option<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A cheap-to-clone handle on the DNS engine, usable from many tasks at once.
///
/// ```text
/// RFC 5452 §9.2: "Resolver implementations MUST [...] use an unpredictable source port
/// [...] and an unpredictable query ID [...] and match [...] the response to the query."
/// ```
#[derive(Clone)]
pub struct DnsEngine {
    inner: Arc<Inner>,
}

/// One attempt's result.
enum Attempt {
    Reply(Parsed, bool),
    Timeout,
}

fn open_socket(v6: bool, rcvbuf: usize) -> std::io::Result<UdpSocket> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if v6 {
        s.set_only_v6(true)?;
    }
    // The kernel caps the request at rmem_max; a smaller buffer is not fatal.
    let _ = s.set_recv_buffer_size(rcvbuf);
    s.set_nonblocking(true)?;
    // Port 0: the kernel picks a random ephemeral port per socket.
    let bind: SocketAddr = if v6 {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&bind.into())?;
    UdpSocket::from_std(s.into())
}

fn default_rcvbuf() -> usize {
    std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(8 << 20)
}

impl DnsEngine {
    /// Opens the sockets and starts their receive tasks. Must run inside a tokio runtime.
    pub fn new(config: EngineConfig) -> Result<DnsEngine, ConfigError> {
        let resolver_addrs = resolvers::finish(config.resolvers.clone())?;
        if config.sockets == 0 || config.max_in_flight == 0 || config.max_tcp == 0 {
            return Err(ConfigError::Invalid(
                "sockets, in-flight and TCP caps must be at least 1",
            ));
        }
        let rcvbuf = config.rcvbuf.unwrap_or_else(default_rcvbuf);
        // An attempt ends between `timeout` and `timeout` + 1/16 of it (at least 1 ms).
        let sweep_every = (config.timeout / 16).max(Duration::from_millis(1));
        let counters = Arc::new(Counters::default());
        let mut tasks = Vec::new();
        let mut open = |v6: bool| -> Result<Vec<Arc<Slot>>, ConfigError> {
            if !resolver_addrs.iter().any(|a| a.is_ipv6() == v6) {
                return Ok(Vec::new());
            }
            let mut slots = Vec::with_capacity(config.sockets);
            for _ in 0..config.sockets {
                let slot = Arc::new(Slot {
                    socket: open_socket(v6, rcvbuf)?,
                    pending: Mutex::new(HashMap::default()),
                    tokens: AtomicU64::new(0),
                    outgoing: Mutex::new(Vec::new()),
                });
                tasks.push(tokio::spawn(receive_loop(slot.clone(), counters.clone())));
                tasks.push(tokio::spawn(sweep_loop(slot.clone(), sweep_every)));
                slots.push(slot);
            }
            Ok(slots)
        };
        let v4 = open(false)?;
        let v6 = open(true)?;
        let sender = Sender::start(v4.iter().chain(&v6).cloned().collect())?;
        let resolvers = resolver_addrs
            .iter()
            .map(|&addr| Resolver {
                addr,
                limits: ResolverLimits::new(
                    config.qps_per_resolver,
                    config.max_in_flight_per_resolver,
                ),
                health: Health::new(config.health),
                counters: ResolverCounters::default(),
            })
            .collect();
        Ok(DnsEngine {
            inner: Arc::new(Inner {
                global: Semaphore::new(config.max_in_flight),
                tcp: Semaphore::new(config.max_tcp),
                config: EngineConfig {
                    resolvers: resolver_addrs,
                    ..config
                },
                resolvers,
                v4,
                v6,
                sender,
                next_slot: AtomicUsize::new(0),
                next_resolver: AtomicUsize::new(0),
                counters,
                started: Instant::now(),
                rcvbuf_at_start: read_rcvbuf_errors(),
                tasks,
            }),
        })
    }

    /// The resolvers in use.
    pub fn resolvers(&self) -> &[SocketAddr] {
        &self.inner.config.resolvers
    }

    /// Looks `name` up, retrying as configured, and returns the typed outcome.
    pub async fn lookup(&self, name: &str, qtype: Qtype) -> Lookup {
        let inner = &*self.inner;
        bump(&inner.counters.lookups);
        let question = match Question::with_payload(name, qtype, inner.config.edns_payload) {
            Ok(q) => Arc::new(q),
            Err(m) => {
                return Lookup {
                    outcome: Outcome::Malformed(m),
                    attempts: 0,
                    cname_chain: Vec::new(),
                    tcp: false,
                }
            }
        };
        let mut tried: u64 = 0;
        let mut timeouts = 0u32;
        let mut last = Lookup {
            outcome: Outcome::Timeout,
            attempts: 0,
            cname_chain: Vec::new(),
            tcp: false,
        };
        while last.attempts <= inner.config.retries {
            if last.attempts > 0 {
                bump(&inner.counters.retried);
                if timeouts > 0 {
                    let pause = inner.config.retry_backoff * 2u32.saturating_pow(timeouts - 1);
                    tokio::time::sleep(pause.min(inner.config.timeout)).await;
                }
            }
            let ri = inner.pick_resolver(tried);
            tried |= 1 << (ri % 64);
            last.attempts += 1;
            let resolver = &inner.resolvers[ri];
            match inner.attempt(&question, resolver).await {
                Attempt::Timeout => {
                    timeouts += 1;
                    bump(&resolver.counters.timed_out);
                    bump(&inner.counters.timed_out);
                    resolver.health.failure(Instant::now());
                    last.outcome = Outcome::Timeout;
                    last.cname_chain.clear();
                    last.tcp = false;
                }
                Attempt::Reply(parsed, tcp) => {
                    last.cname_chain = parsed.cname_chain;
                    last.tcp = tcp;
                    match parsed.outcome {
                        Outcome::ServFail | Outcome::Refused => {
                            if parsed.outcome == Outcome::ServFail {
                                bump(&inner.counters.servfail);
                            } else {
                                bump(&inner.counters.refused);
                            }
                            bump(&resolver.counters.failed);
                            resolver.health.failure(Instant::now());
                            last.outcome = parsed.outcome;
                        }
                        outcome => {
                            resolver.health.success();
                            last.outcome = outcome;
                            return last;
                        }
                    }
                }
            }
        }
        last
    }

    /// MX records of `name`: (preference, exchange) as on the wire, exchange lowercase without
    /// the trailing dot (the null MX target becomes "").
    pub async fn mx(&self, name: &str) -> Lookup<Vec<(u16, String)>> {
        self.lookup(name, Qtype::Mx).await.map(|r| match r {
            Records::Mx(v) => Some(v),
            _ => None,
        })
    }

    /// TXT records of `name`, each one's strings concatenated, records kept apart.
    pub async fn txt(&self, name: &str) -> Lookup<Vec<Vec<u8>>> {
        self.lookup(name, Qtype::Txt).await.map(|r| match r {
            Records::Txt(v) => Some(v),
            _ => None,
        })
    }

    /// A (`Qtype::A`) or AAAA (`Qtype::Aaaa`) addresses of `name`.
    pub async fn ips(&self, name: &str, qtype: Qtype) -> Lookup<Vec<IpAddr>> {
        self.lookup(name, qtype).await.map(|r| match r {
            Records::Addrs(v) => Some(v),
            _ => None,
        })
    }

    /// A and AAAA of `name` asked concurrently and merged (IPv4 first). An answer if either
    /// has addresses; otherwise the A outcome unless it is an answer-less success and the
    /// AAAA lookup failed, in which case the failure (the name's addresses are then unknown).
    pub async fn addrs(&self, name: &str) -> Lookup<Vec<IpAddr>> {
        let (a, aaaa) = tokio::join!(self.ips(name, Qtype::A), self.ips(name, Qtype::Aaaa));
        merge_addrs(a, aaaa)
    }

    /// Counters and per-resolver figures now.
    pub fn stats(&self) -> StatsSnapshot {
        let inner = &*self.inner;
        let elapsed = inner.started.elapsed();
        let mut s = inner.counters.snapshot(elapsed);
        s.rcvbuf_errors = match (inner.rcvbuf_at_start, read_rcvbuf_errors()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        s.resolvers = inner
            .resolvers
            .iter()
            .map(|r| {
                let mut rs = r.counters.snapshot(r.addr, elapsed);
                rs.backoffs = r.health.backoffs.load(Ordering::Relaxed);
                rs.backed_off = r.health.is_backed_off();
                rs.in_flight = r
                    .limits
                    .in_flight_now(inner.config.max_in_flight_per_resolver);
                rs
            })
            .collect();
        s
    }
}

fn merge_addrs(a: Lookup<Vec<IpAddr>>, aaaa: Lookup<Vec<IpAddr>>) -> Lookup<Vec<IpAddr>> {
    let attempts = a.attempts + aaaa.attempts;
    let tcp = a.tcp || aaaa.tcp;
    let cname_chain = if a.cname_chain.is_empty() {
        aaaa.cname_chain.clone()
    } else {
        a.cname_chain.clone()
    };
    let outcome = match (a.outcome, aaaa.outcome) {
        (Outcome::Answer(mut v4), Outcome::Answer(v6)) => {
            v4.extend(v6);
            Outcome::Answer(v4)
        }
        (Outcome::Answer(v), _) | (_, Outcome::Answer(v)) => Outcome::Answer(v),
        (a @ (Outcome::NoData | Outcome::NxDomain), b) if b.is_retryable() => {
            let _ = a;
            b
        }
        (a, _) => a,
    };
    Lookup {
        outcome,
        attempts,
        cname_chain,
        tcp,
    }
}

impl Inner {
    /// Chooses the resolver for the next attempt: a healthy one not yet tried with room in
    /// flight, else a healthy untried one, else any healthy one; a backed-off resolver whose
    /// time is up gets its probe; if all are backed off, the one that recovers first.
    /// `tried` is a bitmask of resolver indices modulo 64 (beyond 64 resolvers a collision
    /// only makes an untried resolver look tried).
    fn pick_resolver(&self, tried: u64) -> usize {
        let n = self.resolvers.len();
        let now = Instant::now();
        let start = self.next_resolver.fetch_add(1, Ordering::Relaxed);
        let mut untried_busy = None;
        let mut tried_ok = None;
        let mut earliest: Option<(Instant, usize)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            let r = &self.resolvers[i];
            match r.health.check(now) {
                Availability::Probe => return i,
                Availability::Usable => {
                    if tried & (1 << (i % 64)) != 0 {
                        tried_ok.get_or_insert(i);
                    } else if r.limits.in_flight.available_permits() > 0 {
                        return i;
                    } else {
                        untried_busy.get_or_insert(i);
                    }
                }
                Availability::BackedOff(until) => {
                    if earliest.is_none_or(|(t, _)| until < t) {
                        earliest = Some((until, i));
                    }
                }
            }
        }
        untried_busy
            .or(tried_ok)
            .or(earliest.map(|(_, i)| i))
            .unwrap_or(start % n)
    }

    /// The next socket of `addr`'s family, round robin, and its index among the outboxes.
    fn slot_for(&self, addr: SocketAddr) -> (usize, &Slot) {
        let (slots, base) = if addr.is_ipv6() {
            (&self.v6, self.v4.len())
        } else {
            (&self.v4, 0)
        };
        let i = self.next_slot.fetch_add(1, Ordering::Relaxed) % slots.len();
        (base + i, &slots[i])
    }

    /// One query to one resolver: UDP, then TCP if the reply is truncated.
    async fn attempt(&self, question: &Arc<Question>, resolver: &Resolver) -> Attempt {
        let (Ok(_global), Ok(_local)) = (
            self.global.acquire().await,
            resolver.limits.in_flight.acquire().await,
        ) else {
            return Attempt::Timeout;
        };
        resolver.limits.until_ready().await;
        let (index, slot) = self.slot_for(resolver.addr);
        let (tx, rx) = oneshot::channel();
        let deadline = Instant::now() + self.config.timeout;
        let (id, token) = slot.register(resolver.addr, question.clone(), deadline, tx);
        let _guard = PendingGuard { slot, id, token };
        bump(&self.counters.sent);
        bump(&resolver.counters.sent);
        self.sender.send(
            index,
            Outgoing {
                to: resolver.addr,
                wire: question.clone(),
                id,
                token,
            },
        );
        // The entry is dropped, failing `rx`, when the deadline passes (the socket's sweep)
        // or the kernel refuses the send.
        let Ok(parsed) = rx.await else {
            return Attempt::Timeout;
        };
        bump(&resolver.counters.answered);
        if !parsed.truncated {
            return Attempt::Reply(parsed, false);
        }
        bump(&self.counters.tcp_fallbacks);
        // Boxed: the rare TCP path should not grow every lookup's future.
        match Box::pin(self.tcp_exchange(question, resolver.addr)).await {
            Some(reply) => {
                bump(&self.counters.answered);
                let mut parsed = parse_reply(&reply, question);
                if parsed.truncated {
                    parsed.outcome = Outcome::Malformed(Malformed::TcpFailed);
                }
                Attempt::Reply(parsed, true)
            }
            None => Attempt::Timeout,
        }
    }

    /// The same question over TCP (RFC 1035 §4.2.2: two-byte length prefix), bounded by the
    /// TCP semaphore and the attempt timeout. None if no matching reply came back.
    async fn tcp_exchange(&self, question: &Question, addr: SocketAddr) -> Option<Vec<u8>> {
        let _permit = self.tcp.acquire().await.ok()?;
        let id: u16 = rand::random();
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await.ok()?;
            let wire = question.with_id(id);
            let mut msg = Vec::with_capacity(wire.len() + 2);
            msg.extend_from_slice(&(wire.len() as u16).to_be_bytes());
            msg.extend_from_slice(&wire);
            stream.write_all(&msg).await.ok()?;
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await.ok()?;
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut reply).await.ok()?;
            Some(reply)
        };
        let reply = tokio::time::timeout(self.config.timeout, exchange)
            .await
            .ok()??;
        if reply_matches(&reply, id, question) {
            Some(reply)
        } else {
            bump(&self.counters.unmatched);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(outcome: Outcome<Vec<IpAddr>>) -> Lookup<Vec<IpAddr>> {
        Lookup {
            outcome,
            attempts: 1,
            cname_chain: Vec::new(),
            tcp: false,
        }
    }

    #[test]
    fn addresses_of_both_families_are_merged_ipv4_first() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let m = merge_addrs(l(Outcome::Answer(vec![v4])), l(Outcome::Answer(vec![v6])));
        assert_eq!(m.outcome, Outcome::Answer(vec![v4, v6]));
        assert_eq!(m.attempts, 2);
    }

    #[test]
    fn one_family_answering_is_an_answer() {
        let v6: IpAddr = "::1".parse().unwrap();
        let m = merge_addrs(l(Outcome::NoData), l(Outcome::Answer(vec![v6])));
        assert_eq!(m.outcome, Outcome::Answer(vec![v6]));
    }

    #[test]
    fn nodata_plus_failure_is_the_failure() {
        assert_eq!(
            merge_addrs(l(Outcome::NoData), l(Outcome::Timeout)).outcome,
            Outcome::Timeout
        );
        assert_eq!(
            merge_addrs(l(Outcome::NxDomain), l(Outcome::NxDomain)).outcome,
            Outcome::NxDomain
        );
        assert_eq!(
            merge_addrs(l(Outcome::ServFail), l(Outcome::NoData)).outcome,
            Outcome::ServFail
        );
    }

    #[test]
    fn engine_without_resolvers_says_how_to_name_one() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(async { DnsEngine::new(EngineConfig::new(vec![])).err() })
            .unwrap();
        assert!(err.to_string().contains("--resolver IP[:PORT]"), "{err}");
    }
}
