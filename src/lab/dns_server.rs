//! The lab's authoritative DNS server: a thin UDP/TCP adapter around [`World::resolve`].
//!
//! UDP: several sockets bound to one address with SO_REUSEPORT, one OS thread each, blocking
//! batched `recvmmsg`/`sendmmsg` (Linux; `recv_from`/`send_to` elsewhere and when faults are
//! on) over buffers allocated once per thread. TCP: one thread per
//! connection, RFC 1035 2-byte length prefix, several queries per connection, idle timeout.
//! Faults ([`FaultConfig`]) are applied per query; delayed UDP replies go through a delay
//! queue thread so a slow reply never holds back the next query.
//!
//! ```text
//! RFC 1035 4.2.1: "Messages carried by UDP are restricted to 512 bytes ... Longer messages
//!                  are truncated and the TC bit is set in the header."
//! RFC 1035 4.2.2: "The message is prefixed with a two byte length field which gives the
//!                  message length, excluding the two byte length field."
//! RFC 2308 3:     "Name servers authoritative for a zone MUST include the SOA record of the
//!                  zone in the authority section of the response when reporting an NXDOMAIN
//!                  or indicating that no data of the requested type exists"
//! ```

use super::faults::{self, Fate, FaultConfig, FaultRng, RateLimiter};
use super::wire::{self, Query, Reject, Response};
use super::world::{LabAddrs, Rcode, World};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often blocked socket calls wake up to notice a shutdown.
const POLL: Duration = Duration::from_millis(100);
/// A TCP connection with no query for this long is closed (RFC 7766 6.2.3 suggests seconds).
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many TCP connections are served at once; more are closed on accept.
const MAX_TCP_CONNECTIONS: usize = 512;
/// Largest DNS message (TCP length prefix limit).
const MAX_MESSAGE: usize = 65_535;

/// Starts lab DNS servers.
pub struct DnsServer;

/// A running server; dropping it (or [`DnsServerHandle::shutdown`]) stops every thread.
pub struct DnsServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// What every thread of a server reads.
struct Shared {
    world: World,
    addrs: LabAddrs,
    faults: FaultConfig,
    limiter: RateLimiter,
    stop: AtomicBool,
    tcp_connections: AtomicUsize,
    tcp_serial: AtomicU64,
}

/// A UDP reply held back by the latency knob.
struct Delayed {
    due: Instant,
    seq: u64,
    socket: usize,
    to: SocketAddr,
    data: Vec<u8>,
}

impl PartialEq for Delayed {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Delayed {
    /// Reversed so that `BinaryHeap` pops the earliest reply first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.due, o.seq).cmp(&(self.due, self.seq))
    }
}

impl DnsServer {
    /// Serves `world` on UDP and TCP at `bind` (port 0 picks one port for both), with one UDP
    /// socket per available CPU.
    pub fn start(
        world: World,
        addrs: LabAddrs,
        bind: SocketAddr,
        faults: FaultConfig,
    ) -> io::Result<DnsServerHandle> {
        let n = thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(16);
        Self::start_with_sockets(world, addrs, bind, faults, n)
    }

    /// Like [`DnsServer::start`] with `udp_sockets` SO_REUSEPORT sockets (one thread each).
    pub fn start_with_sockets(
        world: World,
        addrs: LabAddrs,
        bind: SocketAddr,
        faults: FaultConfig,
        udp_sockets: usize,
    ) -> io::Result<DnsServerHandle> {
        let (udp, tcp) = bind_all(bind, udp_sockets.max(1))?;
        let addr = tcp.local_addr()?;
        let shared = Arc::new(Shared {
            world,
            addrs,
            faults,
            limiter: RateLimiter::default(),
            stop: AtomicBool::new(false),
            tcp_connections: AtomicUsize::new(0),
            tcp_serial: AtomicU64::new(0),
        });
        let mut threads = Vec::new();
        let delay_tx = if shared.faults.latency.is_some() {
            let (tx, rx) = mpsc::channel();
            let clones = udp
                .iter()
                .map(UdpSocket::try_clone)
                .collect::<io::Result<Vec<_>>>()?;
            let s = shared.clone();
            threads.push(spawn("lab-dns-delay", move || delay_loop(rx, clones, &s))?);
            Some(tx)
        } else {
            None
        };
        for (i, sock) in udp.into_iter().enumerate() {
            sock.set_read_timeout(Some(POLL))?;
            let s = shared.clone();
            let tx = delay_tx.clone();
            threads.push(spawn("lab-dns-udp", move || udp_loop(sock, i, &s, tx))?);
        }
        drop(delay_tx);
        let s = shared.clone();
        threads.push(spawn("lab-dns-tcp", move || accept_loop(tcp, s))?);
        Ok(DnsServerHandle {
            addr,
            shared,
            threads,
        })
    }
}

impl DnsServerHandle {
    /// The address served on both UDP and TCP (the actual port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops every thread and waits for them (TCP connection threads notice within 100 ms).
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if self.shared.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for DnsServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name(name.into()).spawn(f)
}

/// Binds `n` UDP sockets and one TCP listener on the same address and port.
fn bind_all(bind: SocketAddr, n: usize) -> io::Result<(Vec<UdpSocket>, TcpListener)> {
    let mut last_err = None;
    // With port 0 the UDP port picked may be taken on TCP: try a few ports.
    for _ in 0..if bind.port() == 0 { 20 } else { 1 } {
        let first = udp_socket(bind)?;
        let port = first.local_addr()?.port();
        let at = SocketAddr::new(bind.ip(), port);
        let mut socks = vec![first];
        for _ in 1..n {
            socks.push(udp_socket(at)?);
        }
        match tcp_listener(at) {
            Ok(l) => return Ok((socks, l)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no port")))
}

fn udp_socket(at: SocketAddr) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::for_address(at), Type::DGRAM, Some(Protocol::UDP))?;
    if at.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_port(true)?;
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.bind(&at.into())?;
    Ok(s.into())
}

fn tcp_listener(at: SocketAddr) -> io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(at), Type::STREAM, Some(Protocol::TCP))?;
    if at.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.bind(&at.into())?;
    s.listen(1024)?;
    Ok(s.into())
}

/// Answers one query message into `out`. `udp` applies the client's UDP size limit;
/// `forced` replaces the world's answer with that rcode (fault knobs). None: send nothing.
pub fn answer_message(
    world: &World,
    addrs: &LabAddrs,
    msg: &[u8],
    out: &mut [u8],
    udp: bool,
    forced: Option<u8>,
) -> Option<usize> {
    let mut name = [0u8; 256];
    let q: Query = match wire::parse_query(msg, &mut name) {
        Ok(q) => q,
        Err(Reject::Ignore) => return None,
        Err(Reject::Header(rc)) => return Some(wire::header_reply(msg, rc, out)),
    };
    let max = if udp {
        q.edns
            .map_or(wire::CLASSIC_UDP_SIZE, |e| e.udp_size as usize)
            .clamp(wire::CLASSIC_UDP_SIZE, wire::MAX_UDP_REPLY)
    } else {
        MAX_MESSAGE
    };
    let mut r = Response::start(msg, &q, out, max);
    let rcode = if let Some(rc) = forced {
        rc
    } else if (q.qclass != wire::CLASS_IN && q.qclass != wire::CLASS_ANY)
        || q.qtype == wire::TYPE_AXFR
        || q.qtype == wire::TYPE_IXFR
    {
        wire::RCODE_REFUSED
    } else if q.name_len == 0 {
        apex(&mut r, q.qtype)
    } else if q.odd_name {
        r.authority_soa();
        wire::RCODE_NXDOMAIN
    } else {
        // Only ASCII bytes reach here (odd_name rejects the rest).
        let qname = std::str::from_utf8(&name[..q.name_len]).unwrap_or("");
        let rc = world.resolve(qname, q.qtype, addrs, &mut r);
        match rc {
            Rcode::ServFail => r.clear_records(),
            Rcode::NxDomain => r.authority_soa(),
            Rcode::NoError if r.answer_count() == 0 => r.authority_soa(),
            Rcode::NoError => {}
        }
        wire::rcode_byte(rc)
    };
    Some(r.finish(rcode, q.edns))
}

/// The zone apex (`.`): SOA and NS, NODATA for anything else.
fn apex(r: &mut Response<'_>, qtype: u16) -> u8 {
    match qtype {
        wire::TYPE_SOA => r.answer_soa(),
        wire::TYPE_NS => r.answer_ns(),
        255 => {
            r.answer_soa();
            r.answer_ns();
        }
        _ => r.authority_soa(),
    }
    wire::RCODE_NOERROR
}

/// Turns a fate into (forced rcode, malformed, spoof, delay); None means no reply.
fn unpack(fate: Fate) -> Option<(Option<u8>, bool, Option<faults::SpoofKind>, Duration)> {
    match fate {
        Fate::Drop => None,
        Fate::Refuse => Some((Some(wire::RCODE_REFUSED), false, None, Duration::ZERO)),
        Fate::Reply {
            servfail,
            malformed,
            spoof,
            delay,
        } => Some((
            servfail.then_some(wire::RCODE_SERVFAIL),
            malformed,
            spoof,
            delay,
        )),
    }
}

/// The fault-free fast path: batches of queries in, batches of replies out.
#[cfg(target_os = "linux")]
fn udp_loop_plain(sock: &UdpSocket, shared: &Shared) {
    use std::os::fd::AsRawFd;
    let fd = sock.as_raw_fd();
    let mut batch = super::mmsg::Batch::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok(n) = batch.recv(fd) else { continue };
        for i in 0..n {
            let (query, out) = batch.io(i);
            let Some(query) = query else { continue };
            if let Some(len) = answer_message(&shared.world, &shared.addrs, query, out, true, None)
            {
                batch.queue_reply(i, len);
            }
        }
        batch.flush(fd);
    }
}

fn udp_loop(sock: UdpSocket, index: usize, shared: &Shared, delay_tx: Option<Sender<Delayed>>) {
    #[cfg(target_os = "linux")]
    if shared.faults.is_none() {
        return udp_loop_plain(&sock, shared);
    }
    let mut inbuf = vec![0u8; MAX_MESSAGE];
    let mut out = vec![0u8; wire::MAX_UDP_REPLY];
    let mut spoofed = vec![0u8; wire::MAX_UDP_REPLY];
    let plain = shared.faults.is_none();
    let mut rng = FaultRng::new(shared.faults.seed, index as u64);
    let mut seq = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok((n, src)) = sock.recv_from(&mut inbuf) else {
            continue;
        };
        let msg = &inbuf[..n];
        if plain {
            if let Some(len) =
                answer_message(&shared.world, &shared.addrs, msg, &mut out, true, None)
            {
                let _ = sock.send_to(&out[..len], src);
            }
            continue;
        }
        let fate = faults::decide(&shared.faults, &mut rng, &shared.limiter, src.ip(), true);
        let Some((forced, malformed, spoof, delay)) = unpack(fate) else {
            continue;
        };
        let Some(mut len) =
            answer_message(&shared.world, &shared.addrs, msg, &mut out, true, forced)
        else {
            continue;
        };
        if let Some(kind) = spoof {
            spoofed[..len].copy_from_slice(&out[..len]);
            faults::spoof(&mut spoofed[..len], kind);
            let _ = sock.send_to(&spoofed[..len], src);
        }
        if malformed {
            len = rng.below(2, len);
        }
        match &delay_tx {
            Some(tx) if !delay.is_zero() => {
                seq += 1;
                let _ = tx.send(Delayed {
                    due: Instant::now() + delay,
                    seq,
                    socket: index,
                    to: src,
                    data: out[..len].to_vec(),
                });
            }
            _ => {
                let _ = sock.send_to(&out[..len], src);
            }
        }
    }
}

/// Sends held-back UDP replies when they fall due.
fn delay_loop(rx: Receiver<Delayed>, socks: Vec<UdpSocket>, shared: &Shared) {
    let mut heap = BinaryHeap::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while heap.peek().is_some_and(|d: &Delayed| d.due <= now) {
            let d = heap.pop().expect("peeked");
            let _ = socks[d.socket].send_to(&d.data, d.to);
        }
        let wait = heap
            .peek()
            .map_or(POLL, |d| d.due.saturating_duration_since(now).min(POLL));
        match rx.recv_timeout(wait) {
            Ok(d) => heap.push(d),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = conn else { continue };
        if shared.tcp_connections.fetch_add(1, Ordering::SeqCst) >= MAX_TCP_CONNECTIONS {
            shared.tcp_connections.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let s = shared.clone();
        let spawned = spawn("lab-dns-conn", move || {
            tcp_connection(stream, &s);
            s.tcp_connections.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            shared.tcp_connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Serves length-prefixed queries on one connection until EOF, idle timeout or shutdown.
fn tcp_connection(mut stream: TcpStream, shared: &Shared) {
    if stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let peer = match stream.peer_addr() {
        Ok(p) => p.ip(),
        Err(_) => return,
    };
    let serial = shared.tcp_serial.fetch_add(1, Ordering::Relaxed);
    let mut rng = FaultRng::new(shared.faults.seed, (1 << 32) | serial);
    let mut inbuf = vec![0u8; MAX_MESSAGE];
    let mut out = vec![0u8; 2 + MAX_MESSAGE];
    loop {
        let mut len = [0u8; 2];
        if !read_full(&mut stream, &mut len, shared) {
            return;
        }
        let n = u16::from_be_bytes(len) as usize;
        if n == 0 || !read_full(&mut stream, &mut inbuf[..n], shared) {
            return;
        }
        let fate = if shared.faults.is_none() {
            Fate::PLAIN
        } else {
            faults::decide(&shared.faults, &mut rng, &shared.limiter, peer, false)
        };
        let Some((forced, malformed, _, delay)) = unpack(fate) else {
            continue;
        };
        let Some(mut rlen) = answer_message(
            &shared.world,
            &shared.addrs,
            &inbuf[..n],
            &mut out[2..],
            false,
            forced,
        ) else {
            continue;
        };
        if malformed {
            rlen = rng.below(2, rlen);
        }
        out[..2].copy_from_slice(&(rlen as u16).to_be_bytes());
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        if stream.write_all(&out[..2 + rlen]).is_err() {
            return;
        }
    }
}

/// Fills `buf` from the stream; false on EOF, error, idle timeout or shutdown.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], shared: &Shared) -> bool {
    let mut got = 0;
    let mut last = Instant::now();
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return false,
            Ok(k) => {
                got += k;
                last = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stop.load(Ordering::Relaxed) || last.elapsed() >= TCP_IDLE_TIMEOUT {
                    return false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}
