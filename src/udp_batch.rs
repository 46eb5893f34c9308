//! Batched UDP receive, shared by the DNS engine (replies) and the lab's DNS server (queries):
//! one `recvmmsg` takes up to [`BATCH`] datagrams (Linux), so a burst costs one system call
//! instead of one each.
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

/// Receive state of one socket.
pub struct RecvBatch {
    /// Room for one datagram; a longer one is flagged truncated and not returned. The
    /// buffers are zeroed allocations: pages a datagram never reaches stay unmapped.
    slot: usize,
    buf: Box<[u8]>,
    names: Box<[libc::sockaddr_storage]>,
    iov: Box<[libc::iovec]>,
    hdr: Box<[libc::mmsghdr]>,
}

// SAFETY: the raw pointers only point into the struct's own boxed slices.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams of up to `slot` bytes each.
    pub fn new(slot: usize) -> RecvBatch {
        // SAFETY: plain C structs for which all-zero bytes are a valid value.
        let zero_name = || unsafe { zeroed::<libc::sockaddr_storage>() };
        let zero_hdr = || unsafe { zeroed::<libc::mmsghdr>() };
        let mut b = RecvBatch {
            slot,
            buf: vec![0u8; BATCH * slot].into_boxed_slice(),
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
            b.iov[i].iov_base = b.buf[i * slot..].as_mut_ptr().cast();
            b.iov[i].iov_len = slot;
            let h = &mut b.hdr[i].msg_hdr;
            h.msg_name = (&mut b.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_iov = &mut b.iov[i];
            h.msg_iovlen = 1;
        }
        b
    }

    /// Takes up to [`BATCH`] queued datagrams; `flags` say how to wait: `MSG_DONTWAIT`
    /// (WouldBlock when none) or `MSG_WAITFORONE` (block for the first, up to the socket's
    /// read timeout).
    pub fn recv(&mut self, fd: RawFd, flags: libc::c_int) -> io::Result<usize> {
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
                flags,
                null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Datagram `i` of the last receive, None if it did not fit its slot.
    pub fn datagram(&self, i: usize) -> Option<&[u8]> {
        let h = &self.hdr[i];
        (h.msg_hdr.msg_flags & libc::MSG_TRUNC == 0)
            .then(|| &self.buf[i * self.slot..i * self.slot + h.msg_len as usize])
    }

    /// Datagram `i` of the last receive and its sender; None if it did not fit its slot or
    /// came from an address family other than IPv4/IPv6.
    pub fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        Some((self.datagram(i)?, sockaddr(&self.names[i])?))
    }

    /// The raw sender address of datagram `i` and its length, for replying with `sendmmsg`
    /// (valid until the next receive).
    pub fn raw_sender(&mut self, i: usize) -> (*mut libc::sockaddr_storage, libc::socklen_t) {
        (&mut self.names[i], self.hdr[i].msg_hdr.msg_namelen)
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
        let mut b = RecvBatch::new(4096);
        assert_eq!(
            b.recv(rx.as_raw_fd(), libc::MSG_DONTWAIT)
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock
        );
        for msg in [&b"one"[..], b"two", b"three"] {
            tx.send_to(msg, rx.local_addr().unwrap()).unwrap();
        }
        let mut got = Vec::new();
        // Loopback delivery is synchronous, but read until all three are in, bounded.
        for _ in 0..100 {
            if let Ok(n) = b.recv(rx.as_raw_fd(), libc::MSG_DONTWAIT) {
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
