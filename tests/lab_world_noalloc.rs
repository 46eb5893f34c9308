//! `World::resolve` must not allocate: the lab's DNS server calls it per query
//! and has to keep pace with NSD. A counting allocator proves it.
//! (Its own test binary, because it installs a global allocator.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{Ipv4Addr, Ipv6Addr};

use stsmap::lab::world::{qtype, AnswerSink, LabAddrs, Profile, World};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts records and bytes, like a wire encoder would touch them, without allocating.
#[derive(Default)]
struct Tally {
    records: u64,
    bytes: u64,
}

impl AnswerSink for Tally {
    fn cname(&mut self, owner: &[&str], target: &[&str], _ttl: u32) {
        self.records += 1;
        self.bytes += (owner.concat_len() + target.concat_len()) as u64;
    }
    fn mx(&mut self, owner: &[&str], _p: u16, exchange: &[&str], _ttl: u32) {
        self.records += 1;
        self.bytes += (owner.concat_len() + exchange.concat_len()) as u64;
    }
    fn txt(&mut self, owner: &[&str], strings: &[&[u8]], _ttl: u32) {
        self.records += 1;
        self.bytes += (owner.concat_len() + strings.iter().map(|s| s.len()).sum::<usize>()) as u64;
    }
    fn a(&mut self, owner: &[&str], _addr: Ipv4Addr, _ttl: u32) {
        self.records += 1;
        self.bytes += owner.concat_len() as u64;
    }
    fn aaaa(&mut self, owner: &[&str], _addr: Ipv6Addr, _ttl: u32) {
        self.records += 1;
        self.bytes += owner.concat_len() as u64;
    }
}

trait ConcatLen {
    fn concat_len(&self) -> usize;
}
impl ConcatLen for &[&str] {
    fn concat_len(&self) -> usize {
        self.iter().map(|s| s.len()).sum()
    }
}

#[test]
fn resolve_never_allocates() {
    let addrs = LabAddrs {
        https_v4: Ipv4Addr::LOCALHOST,
        https_v6: Some(Ipv6Addr::LOCALHOST),
    };
    // Query names prepared up front: building them allocates, answering must not.
    let mut names = Vec::new();
    for i in 0..3000 {
        let d = format!("site{i}.example{}.com", i % 97);
        for prefix in [
            "",
            "_mta-sts.",
            "_smtp._tls.",
            "_tls.",
            "mta-sts.",
            "mx1.",
            "mx2.",
        ] {
            names.push(format!("{prefix}{d}"));
        }
    }
    names.push("alt1.aspmx.l.mail-provider-1.stsmap-lab.test".into());
    names.push("_mta-sts.customers.sts-provider.stsmap-lab.test".into());
    names.push("example-com.mail.protection.mail-provider-2.stsmap-lab.test".into());
    let qtypes = [qtype::A, qtype::AAAA, qtype::MX, qtype::TXT, qtype::CNAME];
    for profile in [Profile::Adversarial, Profile::Realistic] {
        let w = World::new(profile, 1);
        let mut tally = Tally::default();
        let before = ALLOCATIONS.with(|c| c.get());
        for n in &names {
            for qt in qtypes {
                w.resolve(n, qt, &addrs, &mut tally);
            }
        }
        let after = ALLOCATIONS.with(|c| c.get());
        assert!(tally.records > 10_000, "the queries produced answers");
        assert_eq!(
            after - before,
            0,
            "{profile:?}: {} allocations",
            after - before
        );
    }
}
