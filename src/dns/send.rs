//! The engine's sending side: queries are queued per socket and one OS thread sends them,
//! up to [`BATCH`] per `sendmmsg` system call (Linux).
//!
//! On loopback and fast networks most of a query's cost is the kernel's send path (routing,
//! building the packet, and on loopback delivering it into the server's socket). Done on a
//! thread of its own it runs beside the tokio threads that receive, match and parse replies,
//! as dnsperf's separate send and receive threads do; and a burst of queries made ready by one
//! batch of replies leaves in a few system calls instead of one each.
//!
//! A query whose send fails (no route, for instance) is failed at once: its entry is removed
//! from the socket's in-flight table, which ends the waiting attempt without a timeout.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::SockAddr;

/// Queries taken per `sendmmsg`.
pub const BATCH: usize = 64;

/// Room for one query message (a name of at most 255 bytes, the header, type, class, OPT).
const MAX_QUERY: usize = 512;

/// One query waiting to be sent: its message, the id to put in it, and where it goes. The
/// message is shared, not copied: the thread writes it, with the id, into its own buffer.
pub struct Outgoing {
    /// Destination (the resolver).
    pub to: SocketAddr,
    /// The query message (its id bytes are overwritten with `id`).
    pub wire: Arc<dyn AsRef<[u8]> + Send + Sync>,
    /// Its id and registration token, to fail the right in-flight entry if sending fails.
    pub id: u16,
    /// See `id`.
    pub token: u64,
}

/// What the sender thread needs from one socket.
pub trait Outbox: Send + Sync + 'static {
    /// The socket's file descriptor (kept open as long as the outbox lives).
    fn fd(&self) -> RawFd;
    /// The queue of queries for this socket.
    fn queue(&self) -> &Mutex<Vec<Outgoing>>;
    /// Sending `id` (registered as `token`) failed: end its attempt now.
    fn failed(&self, id: u16, token: u64);
}

struct Shared<O> {
    outboxes: Vec<Arc<O>>,
    /// The sender thread found nothing to do and is (about to be) parked.
    idle: AtomicBool,
    stop: AtomicBool,
}

/// The sender thread and the means to wake it.
pub struct Sender<O: Outbox> {
    shared: Arc<Shared<O>>,
    thread: Option<JoinHandle<()>>,
}

impl<O: Outbox> Sender<O> {
    /// Starts the thread sending for `outboxes`.
    pub fn start(outboxes: Vec<Arc<O>>) -> io::Result<Sender<O>> {
        let shared = Arc::new(Shared {
            outboxes,
            idle: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("stsmap-dns-send".into())
            .spawn(move || run(&s))?;
        Ok(Sender {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `msg` on outbox `i` and wakes the thread if it sleeps.
    pub fn send(&self, i: usize, msg: Outgoing) {
        let ob = &self.shared.outboxes[i];
        ob.queue()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
        if self.shared.idle.load(Ordering::SeqCst) && self.shared.idle.swap(false, Ordering::SeqCst)
        {
            if let Some(t) = &self.thread {
                t.thread().unpark();
            }
        }
    }
}

impl<O: Outbox> Drop for Sender<O> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn run<O: Outbox>(shared: &Shared<O>) {
    let mut taken: Vec<Outgoing> = Vec::with_capacity(BATCH);
    let mut batch = SendBatch::default();
    while !shared.stop.load(Ordering::SeqCst) {
        let mut sent = 0;
        for ob in &shared.outboxes {
            {
                let mut q = ob.queue().lock().unwrap_or_else(|e| e.into_inner());
                if q.is_empty() {
                    continue;
                }
                std::mem::swap(&mut *q, &mut taken);
            }
            sent += taken.len();
            for chunk in taken.chunks(BATCH) {
                batch.send_all(ob.fd(), chunk, |m| ob.failed(m.id, m.token));
            }
            taken.clear();
            if taken.capacity() > 16 * BATCH {
                taken.shrink_to(BATCH);
            }
        }
        if sent > 0 {
            continue;
        }
        shared.idle.store(true, Ordering::SeqCst);
        let pending = shared.outboxes.iter().any(|ob| {
            !ob.queue()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
        });
        if !pending {
            // Woken by `send` (or `Drop`); the timeout only bounds a missed wakeup.
            std::thread::park_timeout(Duration::from_millis(100));
        }
        shared.idle.store(false, Ordering::SeqCst);
    }
}

/// Messages and headers for one `sendmmsg`, reused between calls.
struct SendBatch {
    bufs: Box<[[u8; MAX_QUERY]]>,
    names: Vec<SockAddr>,
    iov: Vec<libc::iovec>,
    hdr: Vec<libc::mmsghdr>,
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch {
            bufs: vec![[0u8; MAX_QUERY]; BATCH].into_boxed_slice(),
            names: Vec::with_capacity(BATCH),
            iov: Vec::with_capacity(BATCH),
            hdr: Vec::with_capacity(BATCH),
        }
    }
}

impl SendBatch {
    /// Sends every message of `msgs` (at most [`BATCH`]) on `fd`, waiting while the socket's
    /// buffer is full; calls `failed` for each message the kernel refuses.
    fn send_all(&mut self, fd: RawFd, msgs: &[Outgoing], mut failed: impl FnMut(&Outgoing)) {
        self.names.clear();
        self.names.extend(msgs.iter().map(|m| SockAddr::from(m.to)));
        self.iov.clear();
        for (m, buf) in msgs.iter().zip(self.bufs.iter_mut()) {
            let wire = (*m.wire).as_ref();
            let len = wire.len().min(MAX_QUERY);
            buf[..len].copy_from_slice(&wire[..len]);
            if len >= 2 {
                buf[..2].copy_from_slice(&m.id.to_be_bytes());
            }
            self.iov.push(libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: len,
            });
        }
        self.hdr.clear();
        for i in 0..msgs.len() {
            // SAFETY: an all-zero mmsghdr is a valid (empty) value.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = self.names[i].as_ptr() as *mut libc::c_void;
            h.msg_hdr.msg_namelen = self.names[i].len();
            h.msg_hdr.msg_iov = &mut self.iov[i];
            h.msg_hdr.msg_iovlen = 1;
            self.hdr.push(h);
        }
        let mut at = 0;
        while at < msgs.len() {
            // SAFETY: headers, addresses and iovecs point into `self` and `msgs`, which
            // outlive the call; the kernel only reads the message bytes.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdr[at..].as_mut_ptr(),
                    (msgs.len() - at) as libc::c_uint,
                    0,
                )
            };
            if n > 0 {
                at += n as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => wait_writable(fd),
                _ => {
                    failed(&msgs[at]);
                    at += 1;
                }
            }
        }
    }
}

/// Waits (at most 100 ms) until `fd` can take another datagram.
fn wait_writable(fd: RawFd) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe {
        libc::poll(&mut p, 1, 100);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    struct Plain {
        sock: std::net::UdpSocket,
        queue: Mutex<Vec<Outgoing>>,
        failed: Mutex<Vec<u16>>,
    }

    impl Outbox for Plain {
        fn fd(&self) -> RawFd {
            self.sock.as_raw_fd()
        }
        fn queue(&self) -> &Mutex<Vec<Outgoing>> {
            &self.queue
        }
        fn failed(&self, id: u16, _token: u64) {
            self.failed.lock().unwrap().push(id);
        }
    }

    fn msg(to: SocketAddr, id: u16) -> Outgoing {
        Outgoing {
            to,
            wire: Arc::new([0u8, 0]),
            id,
            token: 0,
        }
    }

    #[test]
    fn every_queued_message_arrives_and_a_refused_one_is_failed() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let out = Arc::new(Plain {
            sock: std::net::UdpSocket::bind("127.0.0.1:0").unwrap(),
            queue: Mutex::new(Vec::new()),
            failed: Mutex::new(Vec::new()),
        });
        let sender = Sender::start(vec![out.clone()]).unwrap();
        let to = rx.local_addr().unwrap();
        // More than one batch, but few enough for a default receive buffer (≈ 200 KiB; a
        // datagram costs ≈ 1 KiB of it) while this test does not read yet.
        for id in 0..100u16 {
            sender.send(0, msg(to, id));
        }
        // An IPv6 destination on an IPv4 socket: the kernel refuses it.
        sender.send(0, msg("[::1]:53".parse().unwrap(), 999));
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while got.len() < 100 {
            let n = rx.recv(&mut buf).unwrap();
            got.push(u16::from_be_bytes([buf[0], buf[1]]));
            assert_eq!(n, 2);
        }
        got.sort_unstable();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        for _ in 0..500 {
            if !out.failed.lock().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(sender);
        assert_eq!(*out.failed.lock().unwrap(), vec![999]);
    }
}
