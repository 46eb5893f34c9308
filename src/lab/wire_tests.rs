//! Unit tests of the wire encoder, checked by parsing its output with hickory-proto.

use super::*;
use hickory_proto::op::{
    Edns as HEdns, Message, MessageType, OpCode, Query as HQuery, ResponseCode,
};
use hickory_proto::rr::{Name, RData, RecordType};

fn query(name: &str, rtype: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), rtype));
    if let Some(size) = edns {
        let mut e = HEdns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

/// Parses `q`, lets `fill` write records, finishes with `rcode`; returns the raw reply.
fn respond(q: &[u8], max: usize, rcode: u8, fill: impl FnOnce(&mut Response<'_>)) -> Vec<u8> {
    let mut name = [0u8; 256];
    let parsed = parse_query(q, &mut name).unwrap();
    let mut buf = vec![0u8; 65_535];
    let mut r = Response::start(q, &parsed, &mut buf, max);
    fill(&mut r);
    let len = r.finish(rcode, parsed.edns);
    buf.truncate(len);
    buf
}

#[test]
fn qname_is_lowercased_for_lookup_and_echoed_as_sent() {
    let q = query("MTA-STS.Example.COM.", RecordType::A, None);
    let mut name = [0u8; 256];
    let parsed = parse_query(&q, &mut name).unwrap();
    assert_eq!(&name[..parsed.name_len], b"mta-sts.example.com");
    let reply = respond(&q, 512, RCODE_NOERROR, |r| {
        r.a(&["mta-sts.", "example.com"], Ipv4Addr::LOCALHOST, 60)
    });
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.queries[0].name().to_ascii(), "MTA-STS.Example.COM.");
    assert!(m.metadata.authoritative && m.metadata.recursion_desired);
    assert_eq!(m.metadata.message_type, MessageType::Response);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));
}

#[test]
fn names_are_compressed_against_the_question_and_earlier_records() {
    let q = query("example.com.", RecordType::MX, None);
    let reply = respond(&q, 512, RCODE_NOERROR, |r| {
        r.mx(&["example.com"], 10, &["mx1.", "example.com"], 300);
        r.mx(&["example.com"], 20, &["mx2.", "example.com"], 300);
    });
    // Header 12 + question 17; each MX: owner pointer 2 + 10 fixed + pref 2 + "mx1" label 4 + pointer 2.
    assert_eq!(reply.len(), 12 + 17 + 2 * 20);
    let m = Message::from_vec(&reply).unwrap();
    let exchanges: Vec<String> = m
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::MX(mx) => mx.exchange.to_ascii(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(exchanges, ["mx1.example.com.", "mx2.example.com."]);
}

#[test]
fn answer_over_the_udp_limit_is_truncated_to_the_question() {
    let q = query("example.com.", RecordType::TXT, Some(600));
    let big = vec![b'x'; 250];
    let fill = |r: &mut Response<'_>| {
        for _ in 0..4 {
            r.txt(&["example.com"], &[&big], 300);
        }
    };
    let reply = respond(&q, 600, RCODE_NOERROR, fill);
    let m = Message::from_vec(&reply).unwrap();
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty() && m.authorities.is_empty());
    assert_eq!(m.queries.len(), 1);
    assert!(m.edns.is_some(), "the OPT still rides along");
    // The same answer fits a TCP-sized limit, with all four records.
    let full = Message::from_vec(&respond(&q, 65_535, RCODE_NOERROR, fill)).unwrap();
    assert!(!full.metadata.truncation);
    assert_eq!(full.answers.len(), 4);
}

#[test]
fn negative_answer_carries_the_apex_soa() {
    let q = query("nope.example.", RecordType::MX, None);
    let reply = respond(&q, 512, RCODE_NXDOMAIN, |r| r.authority_soa());
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert!(m.authorities[0].name.is_root());
}

#[test]
fn txt_strings_keep_their_boundaries() {
    let q = query("_mta-sts.example.com.", RecordType::TXT, None);
    let reply = respond(&q, 512, RCODE_NOERROR, |r| {
        r.txt(&["_mta-sts.example.com"], &[b"v=STSv1; ", b"id=1;"], 300)
    });
    let m = Message::from_vec(&reply).unwrap();
    match &m.answers[0].data {
        RData::TXT(t) => assert_eq!(t.txt_data.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn edns_version_above_zero_gets_badvers() {
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.add_query(HQuery::query(
        Name::from_ascii("a.example.").unwrap(),
        RecordType::A,
    ));
    let mut e = HEdns::new();
    e.set_version(1);
    m.set_edns(e);
    let q = m.to_vec().unwrap();
    let reply = respond(&q, 512, RCODE_NOERROR, |r| {
        r.a(&["a.example"], Ipv4Addr::LOCALHOST, 1)
    });
    let m = Message::from_vec(&reply).unwrap();
    // BADVERS and BADSIG share code 16.
    assert_eq!(u16::from(m.metadata.response_code), 16);
    assert!(m.answers.is_empty());
}

#[test]
fn junk_gets_formerr_and_responses_are_ignored() {
    let mut name = [0u8; 256];
    assert_eq!(parse_query(&[1, 2, 3], &mut name), Err(Reject::Ignore));
    let mut q = query("a.example.", RecordType::A, None);
    q.truncate(q.len() - 3);
    assert_eq!(
        parse_query(&q, &mut name),
        Err(Reject::Header(RCODE_FORMERR))
    );
    let mut resp = query("a.example.", RecordType::A, None);
    resp[2] |= 0x80;
    assert_eq!(parse_query(&resp, &mut name), Err(Reject::Ignore));
    let mut notify = query("a.example.", RecordType::A, None);
    notify[2] |= 4 << 3;
    assert_eq!(
        parse_query(&notify, &mut name),
        Err(Reject::Header(RCODE_NOTIMP))
    );
    let mut out = [0u8; 12];
    header_reply(&notify, RCODE_NOTIMP, &mut out);
    let m = Message::from_vec(&out).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(m.metadata.id, 0x1234);
}

#[test]
fn an_unencodable_world_name_becomes_servfail() {
    let q = query("a.example.", RecordType::CNAME, None);
    let reply = respond(&q, 512, RCODE_NOERROR, |r| {
        r.cname(&["a.example"], &["bad..name"], 1)
    });
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(m.answers.is_empty());
}

#[test]
fn names_over_255_octets_are_formerr() {
    // Four 63-byte labels: 4 * 64 + 1 = 257 octets on the wire.
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for _ in 0..4 {
        q.push(63);
        q.extend_from_slice(&[b'a'; 63]);
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut name = [0u8; 256];
    assert_eq!(
        parse_query(&q, &mut name),
        Err(Reject::Header(RCODE_FORMERR))
    );
    // Three 63-byte labels and one of 61: exactly 255 octets, accepted.
    let mut ok = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for len in [63usize, 63, 63, 61] {
        ok.push(len as u8);
        ok.extend(std::iter::repeat_n(b'b', len));
    }
    ok.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(parse_query(&ok, &mut name).map(|q| q.name_len), Ok(253));
}
