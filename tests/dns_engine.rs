//! The DNS engine against tiny purpose-built responders on loopback: spoofed and garbage
//! replies, truncation, dead and failing resolvers, retries. (Fault tests against the lab
//! DNS server and through unbound are in `dns_engine/lab.rs`.)

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{MX, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use stsmap::dns::{DnsEngine, EngineConfig, HealthConfig, Outcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Fault tests against the lab DNS server (`include!` keeps the path the same whether this
/// file is its own test target or a module of `tests/tests.rs`).
mod lab {
    use super::*;
    include!("dns_engine/lab.rs");
}

/// What a responder sends back for one query.
enum Out {
    /// From the responder's own socket.
    Main(Vec<u8>),
    /// From another socket (another source port): must be ignored.
    OtherPort(Vec<u8>),
    /// From another address (127.0.0.2, the resolver's port unknown to it): must be ignored.
    OtherAddr(Vec<u8>),
}

type Handler = dyn Fn(&Message) -> Vec<Out> + Send + Sync;

/// A UDP responder on 127.0.0.1; returns its address and a count of queries received.
async fn responder(handler: Arc<Handler>) -> (SocketAddr, Arc<AtomicU64>) {
    responder_on(UdpSocket::bind("127.0.0.1:0").await.unwrap(), handler).await
}

/// A UDP socket and a TCP listener on the same free port (bound TCP first: a UDP port of
/// the same number is seldom taken, and a clash only means another try).
async fn udp_and_tcp_on_one_port() -> (UdpSocket, TcpListener) {
    for _ in 0..100 {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        if let Ok(udp) = UdpSocket::bind(tcp.local_addr().unwrap()).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP in 100 tries");
}

async fn responder_on(sock: UdpSocket, handler: Arc<Handler>) -> (SocketAddr, Arc<AtomicU64>) {
    let other = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let elsewhere = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                continue;
            };
            seen.fetch_add(1, Ordering::Relaxed);
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            for s in handler(&query) {
                let _ = match s {
                    Out::Main(b) => sock.send_to(&b, from).await,
                    Out::OtherPort(b) => other.send_to(&b, from).await,
                    Out::OtherAddr(b) => elsewhere.send_to(&b, from).await,
                };
            }
        }
    });
    (addr, count)
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A reply to `query` with `rcode` and `answers`; `id` and question may be overridden.
fn reply_to(query: &Message, rcode: ResponseCode, answers: Vec<Record>) -> Message {
    let mut m = Message::response(query.metadata.id, OpCode::Query);
    m.metadata.response_code = rcode;
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.add_queries(query.queries.clone());
    m.add_answers(answers);
    m
}

/// MX `10 mx.<qname>` for MX queries, TXT "v=STSv1; id=<qname>" for TXT queries.
fn good_answer(query: &Message) -> Message {
    let q = &query.queries[0];
    let owner = q.name().clone();
    let rdata = match q.query_type() {
        RecordType::MX => RData::MX(MX::new(10, name(&format!("mx.{owner}")))),
        _ => RData::TXT(TXT::new(vec![format!("v=STSv1; id={owner}")])),
    };
    reply_to(
        query,
        ResponseCode::NoError,
        vec![Record::from_rdata(owner, 60, rdata)],
    )
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}

fn config(resolvers: Vec<SocketAddr>) -> EngineConfig {
    let mut c = EngineConfig::new(resolvers);
    c.timeout = Duration::from_millis(300);
    c.retry_backoff = Duration::from_millis(5);
    c.sockets = 2;
    c
}

fn expected_mx(domain: &str) -> Outcome<Vec<(u16, String)>> {
    Outcome::Answer(vec![(10, format!("mx.{domain}"))])
}

#[tokio::test]
async fn plain_mx_and_txt_answers_come_back_typed() {
    let (addr, _) = responder(Arc::new(|q: &Message| {
        vec![Out::Main(bytes(&good_answer(q)))]
    }))
    .await;
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    let mx = engine.mx("Example.COM").await;
    assert_eq!(mx.outcome, expected_mx("example.com"));
    assert_eq!(mx.attempts, 1);
    let txt = engine.txt("_mta-sts.example.com").await;
    assert_eq!(
        txt.outcome,
        Outcome::Answer(vec![b"v=STSv1; id=_mta-sts.example.com.".to_vec()])
    );
}

#[tokio::test]
async fn spoofed_replies_before_the_real_one_are_never_accepted() {
    let handler = |q: &Message| {
        let evil = |mut m: Message| {
            m.answers = vec![Record::from_rdata(
                m.queries[0].name().clone(),
                60,
                RData::MX(MX::new(1, name("evil.example."))),
            )];
            m
        };
        let mut wrong_id = evil(good_answer(q));
        wrong_id.metadata.id = q.metadata.id.wrapping_add(1);
        let mut wrong_name = evil(good_answer(q));
        wrong_name.queries = vec![Query::query(name("other.example."), RecordType::MX)];
        let mut wrong_type = evil(good_answer(q));
        wrong_type.queries = vec![Query::query(q.queries[0].name().clone(), RecordType::TXT)];
        let wrong_port = evil(good_answer(q));
        vec![
            Out::Main(bytes(&wrong_id)),
            Out::Main(bytes(&wrong_name)),
            Out::Main(bytes(&wrong_type)),
            Out::OtherPort(bytes(&wrong_port)),
            Out::Main(vec![0xde, 0xad]),
            Out::Main(bytes(&good_answer(q))),
        ]
    };
    let (addr, _) = responder(Arc::new(handler)).await;
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            let d = format!("d{i}.example");
            (e.mx(&d).await.outcome, expected_mx(&d))
        }));
    }
    for t in tasks {
        let (got, want) = t.await.unwrap();
        assert_eq!(got, want);
    }
    let s = engine.stats();
    assert_eq!(s.unmatched, 200 * 5, "{s}");
    assert_eq!(s.answered, 200, "{s}");
}

#[tokio::test]
async fn truncated_udp_reply_is_asked_again_over_tcp() {
    let (udp, listener) = udp_and_tcp_on_one_port().await;
    let (addr, _) = responder_on(
        udp,
        Arc::new(|q: &Message| {
            let mut m = reply_to(q, ResponseCode::NoError, vec![]);
            m.metadata.truncation = true;
            vec![Out::Main(bytes(&m))]
        }),
    )
    .await;
    // The TCP listener on the same port serves the full answer.
    let tcp_queries = Arc::new(AtomicU64::new(0));
    let seen = tcp_queries.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await.unwrap();
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                s.read_exact(&mut buf).await.unwrap();
                let q = Message::from_vec(&buf).unwrap();
                let long: Vec<String> = (0..20).map(|i| format!("{i:0>200}")).collect();
                let rec =
                    Record::from_rdata(q.queries[0].name().clone(), 60, RData::TXT(TXT::new(long)));
                let out = bytes(&reply_to(&q, ResponseCode::NoError, vec![rec]));
                s.write_all(&(out.len() as u16).to_be_bytes())
                    .await
                    .unwrap();
                s.write_all(&out).await.unwrap();
            });
        }
    });
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    let got = engine.txt("_mta-sts.big.example").await;
    assert!(got.tcp);
    let expected: Vec<u8> = (0..20)
        .flat_map(|i| format!("{i:0>200}").into_bytes())
        .collect();
    assert_eq!(got.outcome, Outcome::Answer(vec![expected]));
    assert_eq!(tcp_queries.load(Ordering::Relaxed), 1);
    assert_eq!(engine.stats().tcp_fallbacks, 1);
}

#[tokio::test]
async fn nxdomain_and_nodata_are_answers_and_never_retried() {
    let (addr, count) = responder(Arc::new(|q: &Message| {
        let rcode = if q.queries[0].query_type() == RecordType::MX {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        vec![Out::Main(bytes(&reply_to(q, rcode, vec![])))]
    }))
    .await;
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    let nx = engine.mx("gone.example").await;
    assert_eq!((nx.outcome, nx.attempts), (Outcome::NxDomain, 1));
    let nodata = engine.txt("_mta-sts.gone.example").await;
    assert_eq!((nodata.outcome, nodata.attempts), (Outcome::NoData, 1));
    assert_eq!(count.load(Ordering::Relaxed), 2);
    assert_eq!(engine.stats().retried, 0);
}

#[tokio::test]
async fn servfail_on_one_resolver_is_retried_on_the_other() {
    let (bad, bad_count) = responder(Arc::new(|q: &Message| {
        vec![Out::Main(bytes(&reply_to(
            q,
            ResponseCode::ServFail,
            vec![],
        )))]
    }))
    .await;
    let (good, _) = responder(Arc::new(|q: &Message| {
        vec![Out::Main(bytes(&good_answer(q)))]
    }))
    .await;
    let engine = DnsEngine::new(config(vec![bad, good])).unwrap();
    for i in 0..100 {
        let d = format!("s{i}.example");
        let got = engine.mx(&d).await;
        assert_eq!(got.outcome, expected_mx(&d));
        assert!(got.attempts <= 2);
    }
    let s = engine.stats();
    assert!(bad_count.load(Ordering::Relaxed) >= 1);
    assert!(s.servfail >= 1, "{s}");
    // The failing resolver was backed off: it did not get half the load.
    assert!(s.resolvers[0].backoffs >= 1, "{s}");
    assert!(bad_count.load(Ordering::Relaxed) < 50, "{s}");
}

#[tokio::test]
async fn dead_resolver_is_backed_off_and_the_run_goes_on() {
    // Bound but never answers.
    let dead_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dead = dead_sock.local_addr().unwrap();
    let (good, _) = responder(Arc::new(|q: &Message| {
        vec![Out::Main(bytes(&good_answer(q)))]
    }))
    .await;
    let mut c = config(vec![dead, good]);
    c.timeout = Duration::from_millis(100);
    c.health = HealthConfig {
        failures_to_back_off: 3,
        backoff_min: Duration::from_secs(5),
        backoff_max: Duration::from_secs(5),
    };
    let engine = DnsEngine::new(c).unwrap();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            // Staggered so that most lookups start after the backoff.
            tokio::time::sleep(Duration::from_millis(i)).await;
            let d = format!("x{i}.example");
            (e.mx(&d).await, expected_mx(&d))
        }));
    }
    for t in tasks {
        let (got, want) = t.await.unwrap();
        assert_eq!(got.outcome, want);
    }
    let s = engine.stats();
    let dead_stats = &s.resolvers[0];
    assert!(dead_stats.backed_off && dead_stats.backoffs >= 1, "{s}");
    assert!(
        dead_stats.sent < 100,
        "dead resolver kept getting load: {s}"
    );
}

#[tokio::test]
async fn no_reply_anywhere_ends_in_timeout_after_all_retries() {
    let dead_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut c = config(vec![dead_sock.local_addr().unwrap()]);
    c.timeout = Duration::from_millis(50);
    c.retries = 2;
    let engine = DnsEngine::new(c).unwrap();
    let got = engine.txt("_smtp._tls.example.com").await;
    assert_eq!(got.outcome, Outcome::Timeout);
    assert_eq!(got.attempts, 3);
    let s = engine.stats();
    assert_eq!((s.sent, s.timed_out, s.retried), (3, 3, 2));
}

#[tokio::test]
async fn garbage_with_the_right_id_is_dropped_and_the_real_reply_used() {
    let (addr, _) = responder(Arc::new(|q: &Message| {
        let mut junk = vec![0u8; 40];
        junk[..2].copy_from_slice(&q.metadata.id.to_be_bytes());
        junk[2] = 0x80;
        vec![Out::Main(junk), Out::Main(bytes(&good_answer(q)))]
    }))
    .await;
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    assert_eq!(
        engine.mx("g.example").await.outcome,
        expected_mx("g.example")
    );
    assert_eq!(engine.stats().unmatched, 1);
}

#[tokio::test]
async fn many_lookups_in_flight_at_once_all_resolve() {
    let (addr, _) = responder(Arc::new(|q: &Message| {
        vec![Out::Main(bytes(&good_answer(q)))]
    }))
    .await;
    let mut c = config(vec![addr]);
    c.timeout = Duration::from_secs(2);
    // 3000 lookups wait at once; at most 256 queries are outstanding, so the one-task
    // responder's socket buffer is not what the test measures.
    c.max_in_flight_per_resolver = 256;
    let engine = DnsEngine::new(c).unwrap();
    let mut tasks = Vec::new();
    for i in 0..3000 {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            let d = format!("m{i}.example");
            (e.mx(&d).await.outcome, expected_mx(&d))
        }));
    }
    for t in tasks {
        let (got, want) = t.await.unwrap();
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn hundreds_of_records_in_one_reply_come_back_whole() {
    // 500 MX records: a 15 KB datagram, within the 64 KiB a DNS message can ever be (the bound
    // on what one reply can cost, over UDP or TCP).
    let (addr, _) = responder(Arc::new(|q: &Message| {
        let owner = q.queries[0].name().clone();
        let answers = (0..500u16)
            .map(|i| {
                let host = name(&format!("mx{i}.{owner}"));
                Record::from_rdata(owner.clone(), 60, RData::MX(MX::new(i, host)))
            })
            .collect();
        vec![Out::Main(bytes(&reply_to(
            q,
            ResponseCode::NoError,
            answers,
        )))]
    }))
    .await;
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    let mx = engine.mx("many.example").await;
    match mx.outcome {
        Outcome::Answer(hosts) => {
            assert_eq!(hosts.len(), 500);
            assert_eq!(hosts[499], (499, "mx499.many.example".to_string()));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn replies_from_another_address_are_never_accepted() {
    let handler = |q: &Message| {
        let mut evil = good_answer(q);
        evil.answers = vec![Record::from_rdata(
            q.queries[0].name().clone(),
            60,
            RData::MX(MX::new(1, name("evil.example."))),
        )];
        let mut out = vec![Out::OtherAddr(bytes(&evil))];
        // Only names starting "real" also get the real reply.
        if q.queries[0].name().to_ascii().starts_with("real") {
            out.push(Out::Main(bytes(&good_answer(q))));
        }
        out
    };
    let (addr, _) = responder(Arc::new(handler)).await;
    let engine = DnsEngine::new(config(vec![addr])).unwrap();
    assert_eq!(
        engine.mx("real.example").await.outcome,
        expected_mx("real.example")
    );
    let only_evil = engine.mx("fake.example").await;
    assert_eq!(only_evil.outcome, Outcome::Timeout, "ends classified");
    assert!(engine.stats().unmatched >= 2, "{}", engine.stats());
}
