//! Batched UDP I/O for the DNS server's fault-free fast path: one `recvmmsg` takes up to
//! [`BATCH`] queued queries, one `sendmmsg` sends all their replies (Linux).
//!
//! All buffers and headers are allocated once per socket thread; the kernel writes into
//! them through raw pointers that stay valid because the boxed slices never move.

use super::wire::MAX_UDP_REPLY;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::RawFd;
use std::ptr::null_mut;

/// Datagrams taken per `recvmmsg`.
pub const BATCH: usize = 32;
/// Room for one query; longer datagrams are flagged truncated and ignored.
const SLOT: usize = 4096;

/// Receive and send state of one socket thread.
pub struct Batch {
    inbuf: Box<[u8]>,
    outbuf: Box<[u8]>,
    names: Box<[libc::sockaddr_storage]>,
    iov_in: Box<[libc::iovec]>,
    hdr_in: Box<[libc::mmsghdr]>,
    iov_out: Box<[libc::iovec]>,
    hdr_out: Box<[libc::mmsghdr]>,
    /// Replies queued for the next flush.
    queued: usize,
    /// Datagrams from the last receive.
    received: usize,
}

impl Batch {
    pub fn new() -> Batch {
        // SAFETY: these are plain C structs for which all-zero bytes are a valid value.
        let zero_name = || unsafe { zeroed::<libc::sockaddr_storage>() };
        let zero_hdr = || unsafe { zeroed::<libc::mmsghdr>() };
        let zero_iov = || libc::iovec {
            iov_base: null_mut(),
            iov_len: 0,
        };
        let mut b = Batch {
            inbuf: vec![0u8; BATCH * SLOT].into_boxed_slice(),
            outbuf: vec![0u8; BATCH * MAX_UDP_REPLY].into_boxed_slice(),
            names: (0..BATCH).map(|_| zero_name()).collect(),
            iov_in: (0..BATCH).map(|_| zero_iov()).collect(),
            hdr_in: (0..BATCH).map(|_| zero_hdr()).collect(),
            iov_out: (0..BATCH).map(|_| zero_iov()).collect(),
            hdr_out: (0..BATCH).map(|_| zero_hdr()).collect(),
            queued: 0,
            received: 0,
        };
        for i in 0..BATCH {
            b.iov_in[i].iov_base = b.inbuf[i * SLOT..].as_mut_ptr().cast();
            b.iov_in[i].iov_len = SLOT;
            let h = &mut b.hdr_in[i].msg_hdr;
            h.msg_name = (&mut b.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_iov = &mut b.iov_in[i];
            h.msg_iovlen = 1;
            b.hdr_out[i].msg_hdr.msg_iov = &mut b.iov_out[i];
            b.hdr_out[i].msg_hdr.msg_iovlen = 1;
        }
        b
    }

    /// Blocks until at least one datagram is queued (or the socket's read timeout passes),
    /// then takes up to [`BATCH`]; returns how many.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        for h in self.hdr_in.iter_mut() {
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: every header points into buffers owned by `self`, sized as declared.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdr_in.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                null_mut(),
            )
        };
        if n < 0 {
            self.received = 0;
            return Err(io::Error::last_os_error());
        }
        self.received = n as usize;
        Ok(self.received)
    }

    /// Datagram `i` of the last receive (None when it did not fit a slot) and its reply buffer.
    pub fn io(&mut self, i: usize) -> (Option<&[u8]>, &mut [u8]) {
        let h = &self.hdr_in[i];
        let query = (h.msg_hdr.msg_flags & libc::MSG_TRUNC == 0)
            .then(|| &self.inbuf[i * SLOT..i * SLOT + h.msg_len as usize]);
        (
            query,
            &mut self.outbuf[i * MAX_UDP_REPLY..(i + 1) * MAX_UDP_REPLY],
        )
    }

    /// Queues the first `len` bytes of reply buffer `i` for the sender of datagram `i`.
    pub fn queue_reply(&mut self, i: usize, len: usize) {
        let k = self.queued;
        self.iov_out[k].iov_base = self.outbuf[i * MAX_UDP_REPLY..].as_mut_ptr().cast();
        self.iov_out[k].iov_len = len;
        let h = &mut self.hdr_out[k].msg_hdr;
        h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = self.hdr_in[i].msg_hdr.msg_namelen;
        self.queued += 1;
    }

    /// Sends every queued reply (a reply the kernel refuses is skipped).
    pub fn flush(&mut self, fd: RawFd) {
        let mut sent = 0;
        while sent < self.queued {
            // SAFETY: headers `sent..queued` point at live buffers set by `queue_reply`.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdr_out[sent..].as_mut_ptr(),
                    (self.queued - sent) as libc::c_uint,
                    0,
                )
            };
            sent += if r > 0 { r as usize } else { 1 };
        }
        self.queued = 0;
    }
}
