//! The lab's DNS server, in-process on loopback: answers equal the world's over UDP and TCP,
//! the protocol edge cases the scanner relies on, and every fault knob.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;
use stsmap::lab::dns_server::{answer_message, DnsServer, DnsServerHandle};
use stsmap::lab::faults::{FaultConfig, RateLimit, RateLimitAction};
use stsmap::lab::world::{LabAddrs, Profile, Rcode, World};
use stsmap::lab::zone::{quote_string, ZoneSink};

const WAIT: Duration = Duration::from_secs(3);
const QTYPES: [RecordType; 5] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::MX,
    RecordType::TXT,
    RecordType::CNAME,
];

fn world() -> World {
    World::new(Profile::Adversarial, 7)
}

fn addrs() -> LabAddrs {
    LabAddrs {
        https_v4: Ipv4Addr::new(127, 0, 0, 44),
        https_v6: Some(Ipv6Addr::LOCALHOST),
    }
}

fn start(faults: FaultConfig) -> DnsServerHandle {
    DnsServer::start_with_sockets(world(), addrs(), "127.0.0.1:0".parse().unwrap(), faults, 2)
        .unwrap()
}

/// Names the scanner asks about, for a few hundred synthetic domains.
fn sample_names(domains: usize) -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..domains {
        let d = format!("site{i}.com");
        for p in ["", "_mta-sts.", "mta-sts.", "_smtp._tls."] {
            v.push(format!("{p}{d}"));
        }
    }
    v
}

fn query(id: u16, name: &str, t: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

/// Sends `q` and returns the next datagram, or None when none comes within `wait`.
fn udp(s: &UdpSocket, to: SocketAddr, q: &[u8], wait: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(wait)).unwrap();
    s.send_to(q, to).unwrap();
    recv(s)
}

fn recv(s: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_535];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn tcp(stream: &mut TcpStream, q: &[u8]) -> Vec<u8> {
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(q);
    stream.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).unwrap();
    buf
}

/// What the world says: rcode and answer records as zone-file lines.
fn world_answer(name: &str, t: RecordType) -> (Rcode, Vec<String>) {
    let mut sink = ZoneSink::default();
    let rc = world().resolve(name, u16::from(t), &addrs(), &mut sink);
    (rc, sink.lines().map(str::to_string).collect())
}

/// One parsed record as the zone-file line [`ZoneSink`] writes.
fn line(r: &Record) -> String {
    let owner = r.name.to_ascii().to_ascii_lowercase();
    let (t, rdata) = match &r.data {
        RData::A(a) => ("A", a.0.to_string()),
        RData::AAAA(a) => ("AAAA", a.0.to_string()),
        RData::CNAME(c) => ("CNAME", c.0.to_ascii().to_ascii_lowercase()),
        RData::MX(mx) => (
            "MX",
            format!(
                "{} {}",
                mx.preference,
                mx.exchange.to_ascii().to_ascii_lowercase()
            ),
        ),
        RData::TXT(txt) => {
            let mut s = String::new();
            for (i, part) in txt.txt_data.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                quote_string(&mut s, part);
            }
            ("TXT", s)
        }
        other => panic!("unexpected record {other:?}"),
    };
    format!("{owner}\t{}\tIN\t{t}\t{rdata}", r.ttl)
}

fn rcode_of(rc: Rcode) -> ResponseCode {
    match rc {
        Rcode::NoError => ResponseCode::NoError,
        Rcode::NxDomain => ResponseCode::NXDomain,
        Rcode::ServFail => ResponseCode::ServFail,
    }
}

fn assert_matches_world(reply: &[u8], id: u16, name: &str, t: RecordType) {
    let m = Message::from_vec(reply).unwrap();
    let (rc, lines) = world_answer(name, t);
    assert_eq!(m.metadata.id, id);
    assert!(m.metadata.authoritative, "{name} {t}: AA");
    assert!(!m.metadata.truncation, "{name} {t}: TC");
    assert_eq!(m.metadata.response_code, rcode_of(rc), "{name} {t}");
    assert_eq!(
        m.answers.iter().map(line).collect::<Vec<_>>(),
        lines,
        "{name} {t}"
    );
}

#[test]
fn udp_answers_equal_the_world_model() {
    let server = start(FaultConfig::default());
    let s = client();
    let mut id = 0u16;
    for name in sample_names(60) {
        for t in QTYPES {
            id = id.wrapping_add(1);
            let reply =
                udp(&s, server.addr(), &query(id, &name, t, Some(4096)), WAIT).expect("a reply");
            assert_matches_world(&reply, id, &name, t);
        }
    }
}

#[test]
fn tcp_answers_equal_the_world_model_many_per_connection() {
    let server = start(FaultConfig::default());
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut id = 0u16;
    for name in sample_names(30) {
        for t in QTYPES {
            id = id.wrapping_add(1);
            let reply = tcp(&mut stream, &query(id, &name, t, None));
            assert_matches_world(&reply, id, &name, t);
        }
    }
}

/// The first sample name (and type) whose world answer satisfies `pred`.
fn find(pred: impl Fn(Rcode, &[String], &str) -> bool, t: RecordType) -> String {
    sample_names(2000)
        .into_iter()
        .find(|n| {
            let (rc, lines) = world_answer(n, t);
            pred(rc, &lines, n)
        })
        .expect("the adversarial world has every case")
}

#[test]
fn nxdomain_and_nodata_differ_and_both_carry_the_soa() {
    let server = start(FaultConfig::default());
    let s = client();
    let nx = find(
        |rc, l, _| rc == Rcode::NxDomain && l.is_empty(),
        RecordType::MX,
    );
    let nodata = find(
        |rc, l, _| rc == Rcode::NoError && l.is_empty(),
        RecordType::TXT,
    );
    for (name, t, want) in [
        (&nx, RecordType::MX, ResponseCode::NXDomain),
        (&nodata, RecordType::TXT, ResponseCode::NoError),
    ] {
        let m = Message::from_vec(&udp(&s, server.addr(), &query(9, name, t, None), WAIT).unwrap())
            .unwrap();
        assert_eq!(m.metadata.response_code, want, "{name}");
        assert!(m.answers.is_empty(), "{name}");
        assert_eq!(m.authorities.len(), 1);
        assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    }
}

#[test]
fn cname_comes_first_in_the_answer_then_the_target_records() {
    let server = start(FaultConfig::default());
    let s = client();
    let name = find(
        |_, l, _| l.len() >= 2 && l[0].contains("\tCNAME\t") && !l[1].contains("\tCNAME\t"),
        RecordType::TXT,
    );
    let m = Message::from_vec(
        &udp(
            &s,
            server.addr(),
            &query(5, &name, RecordType::TXT, Some(4096)),
            WAIT,
        )
        .unwrap(),
    )
    .unwrap();
    let RData::CNAME(target) = &m.answers[0].data else {
        panic!("{:?}", m.answers)
    };
    assert_eq!(m.answers[0].name.to_ascii(), format!("{name}."));
    assert!(m.answers[1..]
        .iter()
        .all(|r| r.name == target.0 && r.record_type() == RecordType::TXT));
}

#[test]
fn question_is_echoed_as_sent_and_matched_ignoring_case() {
    let server = start(FaultConfig::default());
    let s = client();
    let name = find(|_, l, _| !l.is_empty(), RecordType::MX);
    let shouted = name.to_ascii_uppercase();
    let m = Message::from_vec(
        &udp(
            &s,
            server.addr(),
            &query(3, &shouted, RecordType::MX, None),
            WAIT,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(m.queries[0].name().to_ascii(), format!("{shouted}."));
    assert!(!m.answers.is_empty());
    assert!(m.metadata.recursion_desired, "RD is copied");
}

#[test]
fn oversized_answer_sets_tc_over_udp_and_comes_whole_over_tcp() {
    let server = start(FaultConfig::default());
    let s = client();
    // The world's `ValidAmongMany` case: a `_mta-sts` TXT set of about 2.5 KB, over the
    // 1232-byte EDNS size the server offers.
    let t = RecordType::TXT;
    let name = find(
        |_, lines, _| {
            lines
                .iter()
                .filter(|l| l.contains("site-verification-"))
                .count()
                >= 40
        },
        t,
    );
    let mut out = vec![0u8; 65_535];
    let len = answer_message(
        &world(),
        &addrs(),
        &query(1, &name, t, None),
        &mut out,
        false,
        None,
    )
    .unwrap();
    assert!(len > 1232, "{name}: {len} bytes over TCP");
    let full = {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        tcp(&mut stream, &query(1, &name, t, None))
    };
    let full = Message::from_vec(&full).unwrap();
    assert!(!full.metadata.truncation);
    assert_eq!(
        full.answers.iter().map(line).collect::<Vec<_>>(),
        world_answer(&name, t).1
    );
    // EDNS sizes under 512 count as 512 (RFC 6891 6.2.5); 1232 is still too small.
    for edns in [None, Some(300), Some(1232)] {
        let m =
            Message::from_vec(&udp(&s, server.addr(), &query(2, &name, t, edns), WAIT).unwrap())
                .unwrap();
        assert!(m.metadata.truncation, "{edns:?}");
        assert!(m.answers.is_empty());
        assert_eq!(m.queries[0].name().to_ascii(), format!("{name}."));
        assert_eq!(m.edns.is_some(), edns.is_some(), "OPT echoed iff sent");
    }
    let big =
        Message::from_vec(&udp(&s, server.addr(), &query(4, &name, t, Some(4096)), WAIT).unwrap())
            .unwrap();
    assert!(!big.metadata.truncation);
    assert_eq!(big.answers, full.answers);
}

#[test]
fn junk_gets_formerr_and_other_opcodes_notimp() {
    let server = start(FaultConfig::default());
    let s = client();
    let mut junk = query(77, "a.example.", RecordType::A, None);
    junk.truncate(15);
    let m = Message::from_vec(&udp(&s, server.addr(), &junk, WAIT).unwrap()).unwrap();
    assert_eq!(
        (m.metadata.id, m.metadata.response_code),
        (77, ResponseCode::FormErr)
    );
    let mut status = query(78, "a.example.", RecordType::A, None);
    status[2] |= 2 << 3;
    let m = Message::from_vec(&udp(&s, server.addr(), &status, WAIT).unwrap()).unwrap();
    assert_eq!(
        (m.metadata.id, m.metadata.response_code),
        (78, ResponseCode::NotImp)
    );
    assert_eq!(m.metadata.op_code, OpCode::Status);
}

#[test]
fn total_loss_drops_every_query_and_partial_loss_some() {
    let all = start(FaultConfig {
        loss: 1.0,
        ..FaultConfig::default()
    });
    let s = client();
    for id in 0..5 {
        let q = query(id, "site1.com.", RecordType::MX, None);
        assert!(udp(&s, all.addr(), &q, Duration::from_millis(200)).is_none());
    }
    let half = start(FaultConfig {
        loss: 0.5,
        seed: 3,
        ..FaultConfig::default()
    });
    let answered = (0..40)
        .filter(|&id| {
            udp(
                &s,
                half.addr(),
                &query(id, "site1.com.", RecordType::MX, None),
                Duration::from_millis(300),
            )
            .is_some()
        })
        .count();
    assert!(answered > 0 && answered < 40, "{answered} of 40 answered");
}

#[test]
fn servfail_rate_replaces_some_answers() {
    let server = start(FaultConfig {
        servfail: 0.5,
        seed: 11,
        ..FaultConfig::default()
    });
    let s = client();
    let name = find(|_, l, _| !l.is_empty(), RecordType::MX);
    let codes: Vec<ResponseCode> = (0..40)
        .map(|id| {
            let r = udp(
                &s,
                server.addr(),
                &query(id, &name, RecordType::MX, None),
                WAIT,
            )
            .unwrap();
            Message::from_vec(&r).unwrap().metadata.response_code
        })
        .collect();
    assert!(codes.contains(&ResponseCode::ServFail));
    assert!(codes.contains(&ResponseCode::NoError));
}

#[test]
fn rate_limit_refuses_past_the_per_ip_budget() {
    let server = start(FaultConfig {
        rate_limit: Some(RateLimit {
            qps: 5,
            action: RateLimitAction::Refused,
        }),
        ..FaultConfig::default()
    });
    let s = client();
    let mut codes = Vec::new();
    for id in 0..1000u16 {
        let r = udp(
            &s,
            server.addr(),
            &query(id, "site2.com.", RecordType::MX, None),
            WAIT,
        )
        .unwrap();
        codes.push(Message::from_vec(&r).unwrap().metadata.response_code);
        if codes.last() == Some(&ResponseCode::Refused) {
            break;
        }
    }
    assert!(
        codes[..5].iter().all(|c| *c != ResponseCode::Refused),
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&ResponseCode::Refused));
}

#[test]
fn rate_limit_can_drop_instead() {
    let server = start(FaultConfig {
        rate_limit: Some(RateLimit {
            qps: 2,
            action: RateLimitAction::Drop,
        }),
        ..FaultConfig::default()
    });
    let s = client();
    let dropped = (0..1000u16).find(|&id| {
        udp(
            &s,
            server.addr(),
            &query(id, "site2.com.", RecordType::MX, None),
            Duration::from_millis(300),
        )
        .is_none()
    });
    assert!(dropped.is_some_and(|id| id >= 2), "{dropped:?}");
}

#[test]
fn spoofed_reply_arrives_before_the_real_one() {
    let server = start(FaultConfig {
        spoof: 1.0,
        seed: 5,
        ..FaultConfig::default()
    });
    let s = client();
    let name = "site3.com";
    let mut kinds = (false, false);
    for id in 100..140u16 {
        let first = udp(
            &s,
            server.addr(),
            &query(id, name, RecordType::MX, None),
            WAIT,
        )
        .unwrap();
        let second = recv(&s).expect("the real reply follows");
        let f = Message::from_vec(&first).unwrap();
        let real = Message::from_vec(&second).unwrap();
        assert_eq!(real.metadata.id, id);
        assert_eq!(real.queries[0].name().to_ascii(), format!("{name}."));
        let wrong_id = f.metadata.id != id;
        let wrong_q = f.queries[0].name() != real.queries[0].name();
        assert!(wrong_id ^ wrong_q, "the spoof differs in exactly one way");
        kinds.0 |= wrong_id;
        kinds.1 |= wrong_q;
    }
    assert!(kinds.0 && kinds.1, "both spoof kinds occur");
}

#[test]
fn malformed_replies_do_not_parse() {
    let server = start(FaultConfig {
        malformed: 1.0,
        seed: 9,
        ..FaultConfig::default()
    });
    let s = client();
    for id in 0..20u16 {
        let r = udp(
            &s,
            server.addr(),
            &query(id, "site4.com.", RecordType::MX, Some(1232)),
            WAIT,
        )
        .unwrap();
        assert!(Message::from_vec(&r).is_err(), "{r:?}");
    }
}

#[test]
fn delayed_replies_still_arrive_and_all_of_them() {
    let server = start(FaultConfig {
        latency: Some((Duration::from_millis(5), Duration::from_millis(60))),
        seed: 2,
        ..FaultConfig::default()
    });
    let s = client();
    // Send a burst first, then collect: each query's reply comes exactly once.
    for id in 0..30u16 {
        s.send_to(
            &query(id, "site5.com.", RecordType::MX, None),
            server.addr(),
        )
        .unwrap();
    }
    let mut ids: Vec<u16> = (0..30)
        .map(|_| {
            Message::from_vec(&recv(&s).expect("reply"))
                .unwrap()
                .metadata
                .id
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..30).collect::<Vec<_>>());
}

#[test]
fn apex_has_soa_and_ns() {
    let server = start(FaultConfig::default());
    let s = client();
    for (t, want) in [
        (RecordType::SOA, RecordType::SOA),
        (RecordType::NS, RecordType::NS),
    ] {
        let m = Message::from_vec(&udp(&s, server.addr(), &query(1, ".", t, None), WAIT).unwrap())
            .unwrap();
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].record_type(), want);
    }
}

#[test]
fn shutdown_stops_answering() {
    let server = start(FaultConfig::default());
    let addr = server.addr();
    let s = client();
    assert!(udp(&s, addr, &query(1, "site1.com.", RecordType::A, None), WAIT).is_some());
    server.shutdown();
    assert!(udp(
        &s,
        addr,
        &query(2, "site1.com.", RecordType::A, None),
        Duration::from_millis(300)
    )
    .is_none());
    assert!(TcpStream::connect(addr).is_err());
}

/// The exported zone (as NSD would load it) for the sample domains.
fn exported_zone() -> String {
    let w = world();
    let mut ex = stsmap::lab::zone::ZoneExporter::new(&w, addrs());
    let mut out = Vec::new();
    stsmap::lab::zone::write_apex(&mut out).unwrap();
    for i in 0..150 {
        ex.export_domain(&format!("site{i}.com"), &mut out).unwrap();
    }
    ex.export_lab(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_exported_rrset_is_what_the_server_answers() {
    let zone = exported_zone();
    let mut rrsets: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for l in zone
        .lines()
        .filter(|l| !l.starts_with('$') && !l.starts_with('.'))
    {
        let f: Vec<&str> = l.split('\t').collect();
        rrsets
            .entry((f[0].to_string(), f[3].to_string()))
            .or_default()
            .push(l.to_string());
    }
    assert!(rrsets.len() > 300, "{} rrsets", rrsets.len());
    let server = start(FaultConfig::default());
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    for ((owner, t), lines) in &rrsets {
        let rt: RecordType = t.parse().unwrap();
        let m = Message::from_vec(&tcp(&mut stream, &query(1, owner, rt, None))).unwrap();
        let got: Vec<String> = m
            .answers
            .iter()
            .filter(|r| r.name.to_ascii() == *owner)
            .map(line)
            .collect();
        assert_eq!(&got, lines, "{owner} {t}");
    }
}

#[test]
fn exported_zone_loads_in_nsd_checkzone_when_installed() {
    let Ok(out) = std::process::Command::new("nsd-checkzone")
        .arg("-h")
        .output()
    else {
        eprintln!("nsd-checkzone not installed: skipped");
        return;
    };
    let _ = out;
    let path = std::env::temp_dir().join(format!("stsmap-lab-zone-{}.txt", std::process::id()));
    std::fs::write(&path, exported_zone()).unwrap();
    let check = std::process::Command::new("nsd-checkzone")
        .arg(".")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn pipelined_tcp_queries_are_answered_in_order() {
    let server = start(FaultConfig::default());
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut framed = Vec::new();
    for id in 1..=3u16 {
        let q = query(id, &format!("site{id}.com."), RecordType::MX, None);
        framed.extend_from_slice(&(q.len() as u16).to_be_bytes());
        framed.extend_from_slice(&q);
    }
    stream.write_all(&framed).unwrap();
    for id in 1..=3u16 {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut buf).unwrap();
        assert_matches_world(&buf, id, &format!("site{id}.com"), RecordType::MX);
    }
}
