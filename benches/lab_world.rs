//! Criterion bench of `World::resolve`, the lab DNS server's per-query work,
//! on the scanner's query mix (MX, `_mta-sts` TXT, `_smtp._tls` TXT, policy-host A).
//!
//! Run: cargo bench --bench lab_world -- --warm-up-time 1 --measurement-time 3

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use stsmap::lab::world::{qtype, AnswerSink, LabAddrs, Profile, World};

/// Touches every byte like a wire encoder would, without allocating.
#[derive(Default)]
struct Bytes(u64);

fn len(parts: &[&str]) -> u64 {
    parts.iter().map(|p| p.len() as u64).sum()
}

impl AnswerSink for Bytes {
    fn cname(&mut self, o: &[&str], t: &[&str], _: u32) {
        self.0 += len(o) + len(t);
    }
    fn mx(&mut self, o: &[&str], _: u16, e: &[&str], _: u32) {
        self.0 += len(o) + len(e);
    }
    fn txt(&mut self, o: &[&str], s: &[&[u8]], _: u32) {
        self.0 += len(o) + s.iter().map(|x| x.len() as u64).sum::<u64>();
    }
    fn a(&mut self, o: &[&str], _: Ipv4Addr, _: u32) {
        self.0 += len(o);
    }
    fn aaaa(&mut self, o: &[&str], _: Ipv6Addr, _: u32) {
        self.0 += len(o);
    }
}

fn resolve(c: &mut Criterion) {
    let sample = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv"))
        .expect("data/sample.csv");
    let mut queries: Vec<(String, u16)> = Vec::new();
    for line in sample.lines().take(10_000) {
        let d = line.split_once(',').map_or(line, |(_, d)| d);
        queries.push((d.to_string(), qtype::MX));
        queries.push((format!("_mta-sts.{d}"), qtype::TXT));
        queries.push((format!("_smtp._tls.{d}"), qtype::TXT));
        queries.push((format!("mta-sts.{d}"), qtype::A));
    }
    let addrs = LabAddrs {
        https_v4: Ipv4Addr::LOCALHOST,
        https_v6: Some(Ipv6Addr::LOCALHOST),
    };
    let mut g = c.benchmark_group("world_resolve");
    g.throughput(Throughput::Elements(queries.len() as u64));
    for profile in [Profile::Realistic, Profile::Adversarial] {
        let w = World::new(profile, 1);
        g.bench_function(profile.as_str(), |b| {
            b.iter(|| {
                let mut sink = Bytes::default();
                for (q, t) in &queries {
                    black_box(w.resolve(black_box(q), *t, &addrs, &mut sink));
                }
                sink.0
            })
        });
    }
    g.finish();
}

criterion_group!(benches, resolve);
criterion_main!(benches);
