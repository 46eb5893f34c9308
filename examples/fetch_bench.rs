//! Measures policy fetches per second: the lab HTTPS server and the fetcher in one
//! process over loopback, every fetch a new host (new certificate, new TLS handshake).
//!
//! ```text
//! cargo run --release --example fetch_bench -- [FETCHES] [IN_FLIGHT]
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stsmap::fetch::{FetchConfig, FetchOutcome, PolicyFetcher, StaticResolver};
use stsmap::lab::https_server::{HttpsServer, HttpsSource};
use stsmap::lab::world::{BodySpec, CertSpec, HttpsSpec};

/// Every host serves a valid policy.
struct AllValid;

impl HttpsSource for AllValid {
    fn https(&self, _host: &str) -> Option<HttpsSpec> {
        Some(HttpsSpec {
            cert: CertSpec::Valid,
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: BodySpec::Bytes(
                b"version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n".to_vec(),
            ),
        })
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let fetches: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let in_flight: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let server = HttpsServer::start_with(Arc::new(AllValid), "127.0.0.1:0".parse().unwrap())
        .expect("server");
    let config = FetchConfig {
        https_port: Some(server.local_addr().port()),
        extra_ca_pem: vec![server.ca_pem().as_bytes().to_vec()],
        timeout: Duration::from_secs(30),
        tls_timeout: Duration::from_secs(30),
        ..FetchConfig::default()
    };
    let resolver = StaticResolver::everything_to(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let fetcher = Arc::new(PolicyFetcher::new(config, Arc::new(resolver)).expect("fetcher"));
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..fetches {
        let (fetcher, gate) = (fetcher.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            matches!(
                fetcher.fetch_policy(&format!("d{i}.bench.test")).await,
                FetchOutcome::Ok { .. }
            )
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += usize::from(r.unwrap_or(false));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{fetches} fetches ({ok} ok), {in_flight} in flight: {secs:.2} s, {:.0} fetches/s",
        fetches as f64 / secs
    );
    server.shutdown().await;
}
