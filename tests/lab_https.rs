//! The lab HTTPS server and the policy fetcher against each other, over loopback.
//!
//! Every behaviour the world can give a policy host is served in-process and fetched
//! through the scanner's fetcher; the outcome must carry the exact results.csv codes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use stsmap::fetch::{
    BoxFuture, ConnectFailure, DnsFailure, FetchConfig, FetchError, FetchOutcome, HostResolver,
    PolicyFetcher, StaticResolver, TimeoutPhase, TlsFailure,
};
use stsmap::lab::https_server::{HttpsServer, HttpsServerHandle, HttpsSource};
use stsmap::lab::world::{
    qtype, BodySpec, CertSpec, Collect, HttpsSpec, LabAddrs, Profile, Rcode, World,
};
use stsmap::row::PolicyStatus;

const POLICY: &[u8] = b"version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A fixed world: policy host → spec.
struct Table(HashMap<String, HttpsSpec>);

impl HttpsSource for Table {
    fn https(&self, host: &str) -> Option<HttpsSpec> {
        self.0.get(host).cloned()
    }
}

fn spec(cert: CertSpec, status: u16, headers: &[(&str, &str)], body: BodySpec) -> HttpsSpec {
    HttpsSpec {
        cert,
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body,
    }
}

fn ok(cert: CertSpec) -> HttpsSpec {
    spec(
        cert,
        200,
        &[("Content-Type", "text/plain")],
        BodySpec::Bytes(POLICY.to_vec()),
    )
}

/// The value of `hugeheader.test`'s 1 MiB header.
static HUGE_HEADER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "a".repeat(1 << 20));

/// The table every test serves; domain `d` is served as `mta-sts.d`.
fn table() -> Table {
    let entries = [
        ("valid.test", ok(CertSpec::Valid)),
        ("expired.test", ok(CertSpec::Expired)),
        ("notyet.test", ok(CertSpec::NotYetValid)),
        ("wrongname.test", ok(CertSpec::WrongName)),
        ("untrusted.test", ok(CertSpec::UntrustedCa)),
        ("stall.test", ok(CertSpec::HandshakeStall)),
        ("nottls.test", ok(CertSpec::NotTls)),
        (
            "html.test",
            spec(
                CertSpec::Valid,
                200,
                &[("Content-Type", "text/html; charset=utf-8")],
                BodySpec::Bytes(b"<html>policy</html>".to_vec()),
            ),
        ),
        (
            "notfound.test",
            spec(CertSpec::Valid, 404, &[], BodySpec::Bytes(b"nope".to_vec())),
        ),
        (
            "error.test",
            spec(CertSpec::Valid, 500, &[], BodySpec::Bytes(Vec::new())),
        ),
        (
            "redirect.test",
            spec(
                CertSpec::Valid,
                301,
                &[("Location", "https://elsewhere.test/policy.txt")],
                BodySpec::Bytes(Vec::new()),
            ),
        ),
        (
            "oversize.test",
            spec(
                CertSpec::Valid,
                200,
                &[("Content-Type", "text/plain")],
                BodySpec::Oversize { len: 100_000 },
            ),
        ),
        (
            "exact64k.test",
            spec(
                CertSpec::Valid,
                200,
                &[("Content-Type", "text/plain")],
                BodySpec::Oversize { len: 64 * 1024 },
            ),
        ),
        (
            "trickle.test",
            spec(
                CertSpec::Valid,
                200,
                &[("Content-Type", "text/plain")],
                BodySpec::Trickle { interval_ms: 100 },
            ),
        ),
        (
            // 16 MiB of body: far past the 64 KiB cap, read no further than it.
            "endless.test",
            spec(
                CertSpec::Valid,
                200,
                &[("Content-Type", "text/plain")],
                BodySpec::Oversize { len: 16 << 20 },
            ),
        ),
        (
            // A 1 MiB header line.
            "hugeheader.test",
            spec(
                CertSpec::Valid,
                200,
                &[("Content-Type", "text/plain"), ("X-Padding", &HUGE_HEADER)],
                BodySpec::Bytes(POLICY.to_vec()),
            ),
        ),
    ];
    Table(
        entries
            .into_iter()
            .map(|(d, s)| (format!("mta-sts.{d}"), s))
            .collect(),
    )
}

fn config(port: u16, ca: &str) -> FetchConfig {
    FetchConfig {
        https_port: Some(port),
        connect_timeout: Duration::from_secs(2),
        tls_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        extra_ca_pem: vec![ca.as_bytes().to_vec()],
        ..FetchConfig::default()
    }
}

fn resolver() -> StaticResolver {
    let mut r = StaticResolver::everything_to(LOOPBACK);
    let mut fail = |name: &str, answer| r.names.insert(format!("mta-sts.{name}"), answer);
    fail("nxdomain.test", Err(DnsFailure::NxDomain));
    fail("noaddress.test", Ok(Vec::new()));
    fail("servfail.test", Err(DnsFailure::ServFail));
    r
}

struct Lab {
    server: HttpsServerHandle,
    fetcher: PolicyFetcher,
}

fn lab_with(edit: impl FnOnce(&mut FetchConfig)) -> Lab {
    let server = HttpsServer::start_with(Arc::new(table()), "127.0.0.1:0".parse().unwrap())
        .expect("lab HTTPS server starts");
    let mut cfg = config(server.local_addr().port(), server.ca_pem());
    edit(&mut cfg);
    let fetcher = PolicyFetcher::new(cfg, Arc::new(resolver())).expect("fetcher builds");
    Lab { server, fetcher }
}

fn lab() -> Lab {
    lab_with(|_| {})
}

async fn error_of(fetcher: &PolicyFetcher, domain: &str) -> (FetchError, Option<u16>) {
    let outcome = fetcher.fetch_policy(domain).await;
    let status = outcome.http_status();
    match outcome {
        FetchOutcome::Failed { error, .. } => (error, status),
        FetchOutcome::Ok { body, .. } => panic!("{domain}: expected a failure, got {body:?}"),
    }
}

#[tokio::test]
async fn valid_certificate_and_200_yield_the_exact_body() {
    let lab = lab();
    let outcome = lab.fetcher.fetch_policy("valid.test").await;
    assert_eq!(
        outcome,
        FetchOutcome::Ok {
            content_type: Some("text/plain".into()),
            body: POLICY.to_vec()
        }
    );
    assert_eq!(outcome.http_status(), Some(200));
    assert_eq!((outcome.as_status(), outcome.as_error_code()), (None, None));
}

#[tokio::test]
async fn wrong_content_type_is_recorded_not_judged() {
    let lab = lab();
    let outcome = lab.fetcher.fetch_policy("html.test").await;
    assert_eq!(outcome.content_type(), Some("text/html; charset=utf-8"));
    assert!(matches!(outcome, FetchOutcome::Ok { ref body, .. } if body == b"<html>policy</html>"));
}

#[tokio::test]
async fn each_certificate_fault_is_classified_exactly() {
    let lab = lab();
    let cases = [
        ("expired.test", TlsFailure::Expired, "expired"),
        ("notyet.test", TlsFailure::NotYetValid, "not_yet_valid"),
        ("wrongname.test", TlsFailure::NameMismatch, "name_mismatch"),
        (
            "untrusted.test",
            TlsFailure::UnknownIssuer,
            "unknown_issuer",
        ),
    ];
    for (domain, failure, code) in cases {
        let (error, status) = error_of(&lab.fetcher, domain).await;
        assert_eq!(error, FetchError::Tls(failure), "{domain}");
        assert_eq!(
            (error.as_status(), error.as_error_code().as_str()),
            ("tls_error", code)
        );
        assert_eq!(status, None, "{domain}: no response may arrive");
    }
}

#[tokio::test]
async fn lab_ca_is_not_trusted_without_ca_file() {
    let lab = lab_with(|cfg| cfg.extra_ca_pem.clear());
    let (error, _) = error_of(&lab.fetcher, "valid.test").await;
    assert_eq!(error, FetchError::Tls(TlsFailure::UnknownIssuer));
}

#[tokio::test]
async fn stalled_handshake_times_out_in_tls_phase() {
    let lab = lab();
    let (error, _) = error_of(&lab.fetcher, "stall.test").await;
    assert_eq!(error, FetchError::Timeout(TimeoutPhase::TlsHandshake));
    assert_eq!(error.as_error_code(), "tls_handshake");
}

#[tokio::test]
async fn whole_request_timeout_during_handshake_still_names_the_handshake() {
    // The TLS bound is longer than the whole-request bound, so the latter fires first.
    let lab = lab_with(|cfg| {
        cfg.tls_timeout = Duration::from_secs(30);
        cfg.timeout = Duration::from_secs(1);
    });
    let (error, _) = error_of(&lab.fetcher, "stall.test").await;
    assert_eq!(error, FetchError::Timeout(TimeoutPhase::TlsHandshake));
}

#[tokio::test]
async fn plain_text_answer_to_client_hello_is_not_tls() {
    let lab = lab();
    let (error, _) = error_of(&lab.fetcher, "nottls.test").await;
    assert_eq!(error, FetchError::Tls(TlsFailure::NotTls));
    assert_eq!(error.as_error_code(), "not_tls");
}

#[tokio::test]
async fn non_200_statuses_are_http_errors() {
    let lab = lab();
    let (error, status) = error_of(&lab.fetcher, "notfound.test").await;
    assert_eq!(
        (error.as_status(), error.as_error_code().as_str()),
        ("http_error", "HTTP 404")
    );
    assert_eq!(status, Some(404));
    let (error, status) = error_of(&lab.fetcher, "error.test").await;
    assert_eq!(error.as_error_code(), "HTTP 500");
    assert_eq!(status, Some(500));
}

#[tokio::test]
async fn redirect_is_reported_with_location_and_not_followed() {
    let lab = lab();
    let (error, status) = error_of(&lab.fetcher, "redirect.test").await;
    assert_eq!(
        error,
        FetchError::Http {
            status: 301,
            location: Some("https://elsewhere.test/policy.txt".into())
        }
    );
    assert_eq!(
        error.as_error_code(),
        "HTTP 301 Location: https://elsewhere.test/policy.txt"
    );
    assert_eq!(status, Some(301));
}

#[tokio::test]
async fn body_over_64_kib_is_too_large_but_64_kib_exactly_is_accepted() {
    let lab = lab();
    let (error, status) = error_of(&lab.fetcher, "oversize.test").await;
    assert_eq!(
        (error.as_status(), error.as_error_code().as_str()),
        ("invalid", "body_too_large")
    );
    assert_eq!(status, Some(200));
    match lab.fetcher.fetch_policy("exact64k.test").await {
        FetchOutcome::Ok { body, .. } => assert_eq!(body.len(), 64 * 1024),
        other => panic!("64 KiB body rejected: {other:?}"),
    }
}

#[tokio::test]
async fn trickling_body_is_ended_by_the_whole_request_timeout() {
    let lab = lab();
    let (error, status) = error_of(&lab.fetcher, "trickle.test").await;
    assert_eq!(error, FetchError::Timeout(TimeoutPhase::Body));
    assert_eq!(error.as_error_code(), "body");
    assert_eq!(status, Some(200));
}

#[tokio::test]
async fn dns_failures_come_from_the_resolver_not_the_system() {
    let lab = lab();
    let (error, _) = error_of(&lab.fetcher, "nxdomain.test").await;
    assert_eq!(error, FetchError::Dns(DnsFailure::NxDomain));
    let (error, _) = error_of(&lab.fetcher, "noaddress.test").await;
    assert_eq!(
        (error.as_status(), error.as_error_code().as_str()),
        ("dns_error", "no_address")
    );
    let (error, _) = error_of(&lab.fetcher, "servfail.test").await;
    assert_eq!(error.as_error_code(), "servfail");
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let lab = lab_with(|cfg| cfg.https_port = Some(port));
    let (error, _) = error_of(&lab.fetcher, "valid.test").await;
    assert_eq!(error, FetchError::Connect(ConnectFailure::Refused));
    assert_eq!(error.as_error_code(), "refused");
}

#[tokio::test]
async fn unknown_sni_is_reset_before_any_certificate() {
    let lab = lab();
    let (error, status) = error_of(&lab.fetcher, "not-in-the-world.test").await;
    assert_eq!(error, FetchError::Connect(ConnectFailure::Reset));
    assert_eq!(
        (error.as_status(), error.as_error_code().as_str()),
        ("connect_error", "reset")
    );
    assert_eq!(status, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_fetches_all_succeed_on_one_shared_client() {
    let server =
        HttpsServer::start_with(Arc::new(ManyHosts), "127.0.0.1:0".parse().unwrap()).unwrap();
    // Generous bounds: this test is about concurrency, not timeouts, on a shared machine.
    let cfg = FetchConfig {
        tls_timeout: Duration::from_secs(30),
        timeout: Duration::from_secs(60),
        ..config(server.local_addr().port(), server.ca_pem())
    };
    let fetcher = Arc::new(PolicyFetcher::new(cfg, Arc::new(resolver())).unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let fetcher = fetcher.clone();
        tasks.spawn(async move { fetcher.fetch_policy(&format!("d{i}.many.test")).await });
    }
    let mut ok = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            FetchOutcome::Ok { body, .. } if body == POLICY => ok += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 300);
    assert_eq!(server.certificates_minted(), 300);
    server.shutdown().await;
}

/// Every `mta-sts.*.many.test` host serves a valid policy.
struct ManyHosts;

impl HttpsSource for ManyHosts {
    fn https(&self, host: &str) -> Option<HttpsSpec> {
        host.ends_with(".many.test").then(|| ok(CertSpec::Valid))
    }
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let lab = lab();
    assert!(matches!(
        lab.fetcher.fetch_policy("valid.test").await,
        FetchOutcome::Ok { .. }
    ));
    lab.server.shutdown().await;
    let (error, _) = error_of(&lab.fetcher, "valid.test").await;
    assert_eq!(error, FetchError::Connect(ConnectFailure::Refused));
}

/// Resolves policy hosts through the world's own answers (A/AAAA, CNAMEs followed),
/// as the lab DNS server would, with policy hosts on 127.0.0.1.
struct WorldResolver(World);

impl HostResolver for WorldResolver {
    fn lookup(&self, host: &str) -> BoxFuture<Result<Vec<IpAddr>, DnsFailure>> {
        let addrs = LabAddrs {
            https_v4: Ipv4Addr::LOCALHOST,
            https_v6: None,
        };
        let mut answer = Collect::default();
        let rcode = self.0.resolve(host, qtype::A, &addrs, &mut answer);
        self.0.resolve(host, qtype::AAAA, &addrs, &mut answer);
        let result = match rcode {
            Rcode::NxDomain => Err(DnsFailure::NxDomain),
            Rcode::ServFail => Err(DnsFailure::ServFail),
            Rcode::NoError => Ok(answer
                .a
                .iter()
                .map(|a| IpAddr::V4(*a))
                .chain(answer.aaaa.iter().map(|a| IpAddr::V6(*a)))
                .collect()),
        };
        Box::pin(std::future::ready(result))
    }
}

/// Every policy the adversarial world serves, fetched for real, gives the policy
/// columns `lab truth` predicts (status, error code, HTTP status, Content-Type);
/// a 200 body arrives byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_of_the_adversarial_world_match_lab_truth() {
    let world = World::new(Profile::Adversarial, 7);
    let server = HttpsServer::start(world, "127.0.0.1:0".parse().unwrap()).unwrap();
    let cfg = FetchConfig {
        // Bounds long enough for a loaded debug build, short enough that the stall and
        // trickle cases (which must hit them) keep the test brief.
        connect_timeout: Duration::from_secs(20),
        tls_timeout: Duration::from_secs(3),
        timeout: Duration::from_secs(6),
        ..config(server.local_addr().port(), server.ca_pem())
    };
    let fetcher = Arc::new(PolicyFetcher::new(cfg, Arc::new(WorldResolver(world))).unwrap());
    let sample = std::fs::read_to_string("data/sample.csv").expect("data/sample.csv");
    let domains: Vec<String> = sample
        .lines()
        .filter_map(|l| l.split(',').nth(1))
        .take(3000)
        .map(str::to_string)
        .collect();
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for domain in domains {
        let truth = world.truth(0, &domain);
        if truth.policy_status == Some(PolicyStatus::NotFetched) {
            continue;
        }
        let (fetcher, gate) = (fetcher.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let outcome = fetcher.fetch_policy(&domain).await;
            (domain, truth, outcome)
        });
    }
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    while let Some(joined) = tasks.join_next().await {
        let (domain, truth, outcome) = joined.unwrap();
        let expect_http = truth.policy_http_status;
        assert_eq!(outcome.http_status(), expect_http, "{domain}: {outcome:?}");
        let content_type = outcome.content_type().unwrap_or_default();
        assert_eq!(content_type, truth.policy_content_type, "{domain}");
        let key = match &outcome {
            FetchOutcome::Failed { error, .. } => {
                let got = (error.as_status(), error.as_error_code());
                let want = (
                    truth.policy_status.unwrap().as_str(),
                    truth.policy_error.clone(),
                );
                assert_eq!(got, want, "{domain}");
                // Group redirects by status for the summary (each Location was compared above).
                let code = got
                    .1
                    .split(" Location:")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                format!("{} {code}", got.0)
            }
            FetchOutcome::Ok { body, .. } => {
                let served = match world.https(&format!("mta-sts.{domain}")).unwrap().body {
                    BodySpec::Bytes(b) => b,
                    other => panic!("{domain}: 200 body from {other:?}"),
                };
                assert_eq!(body, &served, "{domain}");
                let status = truth.policy_status.unwrap();
                assert!(
                    status == PolicyStatus::Valid
                        || (status == PolicyStatus::Invalid
                            && truth.policy_error != "body_too_large"),
                    "{domain}: truth {status:?} {}",
                    truth.policy_error
                );
                "fetched".to_string()
            }
        };
        *seen.entry(key).or_default() += 1;
    }
    // The sample must actually exercise the interesting cases.
    for wanted in [
        "fetched",
        "tls_error expired",
        "tls_error not_yet_valid",
        "tls_error name_mismatch",
        "tls_error unknown_issuer",
        "tls_error not_tls",
        "timeout tls_handshake",
        "timeout body",
        "invalid body_too_large",
    ] {
        assert!(seen.contains_key(wanted), "no `{wanted}` case in {seen:?}");
    }
    assert!(
        seen.keys().any(|k| k.starts_with("http_error HTTP 3")),
        "{seen:?}"
    );
    eprintln!("policy outcomes checked against truth: {seen:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn body_of_16_mib_is_cut_at_64_kib_as_too_large() {
    let lab = lab();
    let (error, status) = tokio::time::timeout(
        Duration::from_secs(30),
        error_of(&lab.fetcher, "endless.test"),
    )
    .await
    .expect("ends within the bound");
    assert_eq!(
        (error.as_status(), error.as_error_code().as_str()),
        ("invalid", "body_too_large")
    );
    assert_eq!(status, Some(200));
}

#[tokio::test]
async fn one_mib_header_is_refused_and_classified() {
    let lab = lab();
    let (error, status) = tokio::time::timeout(
        Duration::from_secs(30),
        error_of(&lab.fetcher, "hugeheader.test"),
    )
    .await
    .expect("ends within the bound");
    eprintln!(
        "1 MiB header: {} / {} / {status:?}",
        error.as_status(),
        error.as_error_code()
    );
    assert_eq!(
        (error.as_status(), error.as_error_code().as_str(), status),
        ("connect_error", "malformed HTTP response", None),
        "hyper refuses a head over its buffer limit (about 400 KB): a parse error"
    );
}
