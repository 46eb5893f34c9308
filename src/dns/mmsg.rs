//! Batched receive for the engine's UDP sockets: one `recvmmsg` takes up to [`BATCH`] replies
//! (Linux), so a burst of replies costs one system call instead of one each.
//!
//! The buffers and headers are allocated once per socket; the kernel writes into them through
//! raw pointers that stay valid because the boxed slices never move.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::ptr::null_mut;

/// Datagrams taken per `recvmmsg`.
pub const BATCH: usize = 32;
/// Room for one reply: the largest UDP payload there is, so a server that ignores the
/// advertised EDNS size (1232) and sends hundreds of records still arrives whole. The
/// buffers are zeroed allocations: pages a reply never reaches stay unmapped.
const SLOT: usize = 65_536;

/// Receive state of one socket.
pub struct RecvBatch {
    buf: Box<[u8]>,
    names: Box<[libc::sockaddr_storage]>,
    iov: Box<[libc::iovec]>,
    hdr: Box<[libc::mmsghdr]>,
}

// SAFETY: the raw pointers only point into the struct's own boxed slices.
unsafe impl Send for RecvBatch {}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams of up to 4 KiB.
    pub fn new() -> RecvBatch {
        // SAFETY: plain C structs for which all-zero bytes are a valid value.
        let zero_name = || unsafe { zeroed::<libc::sockaddr_storage>() };
        let zero_hdr = || unsafe { zeroed::<libc::mmsghdr>() };
        let mut b = RecvBatch {
            buf: vec![0u8; BATCH * SLOT].into_boxed_slice(),
            names: (0..BATCH).map(|_| zero_name()).collect(),
            iov: (0..BATCH)
                .map(|_| libc::iovec {
                    iov_base: null_mut(),
                    iov_len: 0,
                })
                .collect(),
            hdr: (0..BATCH).map(|_| zero_hdr()).collect(),
        };
        for i in 0..BATCH {
            b.iov[i].iov_base = b.buf[i * SLOT..].as_mut_ptr().cast();
            b.iov[i].iov_len = SLOT;
            let h = &mut b.hdr[i].msg_hdr;
            h.msg_name = (&mut b.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_iov = &mut b.iov[i];
            h.msg_iovlen = 1;
        }
        b
    }

    /// Takes up to [`BATCH`] queued datagrams without blocking (WouldBlock when none).
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        for h in self.hdr.iter_mut() {
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: every header points into buffers owned by `self`, sized as declared.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdr.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Datagram `i` of the last receive and its sender; None if it did not fit its slot or
    /// came from an address family other than IPv4/IPv6.
    pub fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        let h = &self.hdr[i];
        if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            return None;
        }
        let data = &self.buf[i * SLOT..i * SLOT + h.msg_len as usize];
        Some((data, sockaddr(&self.names[i])?))
    }
}

/// The sender's address as a `SocketAddr`.
fn sockaddr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, which it is large enough for.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(
                SocketAddrV6::new(
                    ip,
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )
                .into(),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_batch_returns_each_datagram_with_its_sender() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut b = RecvBatch::new();
        assert_eq!(
            b.recv(rx.as_raw_fd()).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        for msg in [&b"one"[..], b"two", b"three"] {
            tx.send_to(msg, rx.local_addr().unwrap()).unwrap();
        }
        let mut got = Vec::new();
        // Loopback delivery is synchronous, but read until all three are in, bounded.
        for _ in 0..100 {
            if let Ok(n) = b.recv(rx.as_raw_fd()) {
                for i in 0..n {
                    let (data, from) = b.get(i).unwrap();
                    assert_eq!(from, tx.local_addr().unwrap());
                    got.push(data.to_vec());
                }
            }
            if got.len() == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            got,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
    }
}
