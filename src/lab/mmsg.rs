//! Batched UDP I/O for the DNS server's fault-free fast path: one `recvmmsg` takes up to
//! [`BATCH`] queued queries (the receive half is `crate::udp_batch`, shared with the DNS
//! engine), one `sendmmsg` sends all their replies (Linux).
//!
//! All buffers and headers are allocated once per socket thread; the kernel writes into
//! them through raw pointers that stay valid because the boxed slices never move.

use super::wire::MAX_UDP_REPLY;
use crate::udp_batch::{RecvBatch, BATCH};
use std::io;
use std::mem::zeroed;
use std::os::fd::RawFd;
use std::ptr::null_mut;

/// Room for one query; longer datagrams are flagged truncated and ignored.
const SLOT: usize = 4096;

/// Receive and send state of one socket thread.
pub struct Batch {
    recv: RecvBatch,
    outbuf: Box<[u8]>,
    iov_out: Box<[libc::iovec]>,
    hdr_out: Box<[libc::mmsghdr]>,
    /// Replies queued for the next flush.
    queued: usize,
}

impl Batch {
    pub fn new() -> Batch {
        // SAFETY: a plain C struct for which all-zero bytes are a valid value.
        let zero_hdr = || unsafe { zeroed::<libc::mmsghdr>() };
        let zero_iov = || libc::iovec {
            iov_base: null_mut(),
            iov_len: 0,
        };
        let mut b = Batch {
            recv: RecvBatch::new(SLOT),
            outbuf: vec![0u8; BATCH * MAX_UDP_REPLY].into_boxed_slice(),
            iov_out: (0..BATCH).map(|_| zero_iov()).collect(),
            hdr_out: (0..BATCH).map(|_| zero_hdr()).collect(),
            queued: 0,
        };
        for i in 0..BATCH {
            b.hdr_out[i].msg_hdr.msg_iov = &mut b.iov_out[i];
            b.hdr_out[i].msg_hdr.msg_iovlen = 1;
        }
        b
    }

    /// Blocks until at least one datagram is queued (or the socket's read timeout passes),
    /// then takes up to [`BATCH`]; returns how many.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.recv.recv(fd, libc::MSG_WAITFORONE)
    }

    /// Datagram `i` of the last receive (None when it did not fit a slot) and its reply buffer.
    pub fn io(&mut self, i: usize) -> (Option<&[u8]>, &mut [u8]) {
        (
            self.recv.datagram(i),
            &mut self.outbuf[i * MAX_UDP_REPLY..(i + 1) * MAX_UDP_REPLY],
        )
    }

    /// Queues the first `len` bytes of reply buffer `i` for the sender of datagram `i`.
    pub fn queue_reply(&mut self, i: usize, len: usize) {
        let k = self.queued;
        self.iov_out[k].iov_base = self.outbuf[i * MAX_UDP_REPLY..].as_mut_ptr().cast();
        self.iov_out[k].iov_len = len;
        let (name, len) = self.recv.raw_sender(i);
        let h = &mut self.hdr_out[k].msg_hdr;
        h.msg_name = name.cast();
        h.msg_namelen = len;
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
