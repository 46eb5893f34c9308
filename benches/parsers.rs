//! Criterion benches of the three parsers on real inputs.
//!
//! Run: cargo bench --bench parsers -- --warm-up-time 1 --measurement-time 3

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn fixture(rel: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policies/");
    std::fs::read(format!("{path}{rel}")).expect("fixture")
}

fn policies(c: &mut Criterion) {
    let mut g = c.benchmark_group("policy");
    let cases = [
        ("rfc_example", b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n".to_vec()),
        ("google_7mx", fixture("36_google_7mx_legacy_googlemail.mta-sts.txt")),
        ("template_noise", fixture("08_template_comment_only_lines.mta-sts.txt")),
        ("front_matter", fixture("21_jekyll_front_matter_with_comments.mta-sts.txt")),
    ];
    for (name, body) in &cases {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(*name, |b| b.iter(|| stsmap::policy::parse(black_box(body))));
    }
    // The whole 346-file corpus, one iteration = every file once.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policies/corpus"
    );
    let corpus: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "INDEX.tsv"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let bytes: usize = corpus.iter().map(|b| b.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("corpus_346", |b| {
        b.iter(|| {
            for body in &corpus {
                black_box(stsmap::policy::parse(black_box(body)));
            }
        })
    });
    g.finish();
}

fn records(c: &mut Criterion) {
    let mut g = c.benchmark_group("records");
    let sts = vec![
        b"v=spf1 include:_spf.google.com ~all".to_vec(),
        b"v=STSv1; id=20160831085700Z;".to_vec(),
    ];
    g.bench_function("sts_record", |b| {
        b.iter(|| stsmap::sts_record::parse_answer(black_box(&sts)))
    });
    let rpt = vec![
        b"v=TLSRPTv1; rua=mailto:26e6fd52@in.mailhardener.com,https://tlsrpt.example.com/v1"
            .to_vec(),
    ];
    g.bench_function("tlsrpt_record", |b| {
        b.iter(|| stsmap::tlsrpt::parse_answer(black_box(&rpt)))
    });
    g.finish();
}

criterion_group!(benches, policies, records);
criterion_main!(benches);
