use super::*;
use hickory_proto::rr::rdata::{CNAME, MX, SOA, TXT};
use hickory_proto::rr::Record;
use std::net::Ipv4Addr;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A reply to `q` with `id`, `rcode` and the given answer records.
fn reply(q: &Question, id: u16, rcode: ResponseCode, answers: Vec<Record>) -> Vec<u8> {
    let mut msg = Message::response(id, OpCode::Query);
    msg.metadata.response_code = rcode;
    msg.add_query(Query::query(q.name(), q.qtype.record_type()));
    msg.add_answers(answers);
    msg.to_vec().unwrap()
}

fn mx(owner: &str, pref: u16, exchange: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::MX(MX::new(pref, name(exchange))))
}

fn txt(owner: &str, strings: &[&str]) -> Record {
    let strings = strings.iter().map(|s| s.to_string()).collect();
    Record::from_rdata(name(owner), 300, RData::TXT(TXT::new(strings)))
}

fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
}

#[test]
fn query_sets_rd_edns_1232_and_the_asked_question() {
    let q = Question::new("Example.COM", Qtype::Mx).unwrap();
    let wire = q.with_id(0xBEEF);
    let msg = Message::from_vec(&wire).unwrap();
    assert_eq!(msg.metadata.id, 0xBEEF);
    assert!(msg.metadata.recursion_desired);
    assert_eq!(msg.metadata.message_type, MessageType::Query);
    assert_eq!(msg.edns.as_ref().unwrap().max_payload(), EDNS_PAYLOAD);
    assert_eq!(msg.queries.len(), 1);
    assert_eq!(msg.queries[0].name(), &name("example.com."));
    assert_eq!(msg.queries[0].query_type(), RecordType::MX);
}

#[test]
fn invalid_name_is_refused_before_sending() {
    let long_label = "a".repeat(64);
    assert_eq!(
        Question::new(&format!("{long_label}.com"), Qtype::Txt).unwrap_err(),
        Malformed::BadName
    );
}

#[test]
fn matching_reply_is_accepted_even_with_other_case() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    let q_upper = Question::new("EXAMPLE.com", Qtype::Mx).unwrap();
    let r = reply(&q_upper, 7, ResponseCode::NoError, vec![]);
    assert!(reply_matches(&r, 7, &q));
}

#[test]
fn reply_with_wrong_id_type_or_name_is_unmatched() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    assert!(!reply_matches(
        &reply(&q, 8, ResponseCode::NoError, vec![]),
        7,
        &q
    ));
    let other_type = Question::new("example.com", Qtype::Txt).unwrap();
    assert!(!reply_matches(
        &reply(&other_type, 7, ResponseCode::NoError, vec![]),
        7,
        &q
    ));
    let other_name = Question::new("example.org", Qtype::Mx).unwrap();
    assert!(!reply_matches(
        &reply(&other_name, 7, ResponseCode::NoError, vec![]),
        7,
        &q
    ));
    let longer = Question::new("a.example.com", Qtype::Mx).unwrap();
    assert!(!reply_matches(
        &reply(&longer, 7, ResponseCode::NoError, vec![]),
        7,
        &q
    ));
}

#[test]
fn a_query_echoed_back_is_not_a_reply() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    assert!(!reply_matches(&q.with_id(7), 7, &q));
}

#[test]
fn short_garbage_is_unmatched() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    assert!(!reply_matches(&[0, 7, 0x80], 7, &q));
    assert!(!reply_matches(&[], 7, &q));
}

#[test]
fn mx_answer_is_lowercased_without_trailing_dot() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![
            mx("example.com.", 10, "MX1.Example.com."),
            mx("example.com.", 20, "mx2.example.com."),
        ],
    );
    let p = parse_reply(&r, &q);
    assert_eq!(
        p.outcome,
        Outcome::Answer(Records::Mx(vec![
            (10, "mx1.example.com".into()),
            (20, "mx2.example.com".into())
        ]))
    );
    assert!(!p.truncated);
}

#[test]
fn null_mx_target_is_kept_as_empty_string() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![mx("example.com.", 0, ".")],
    );
    assert_eq!(
        parse_reply(&r, &q).outcome,
        Outcome::Answer(Records::Mx(vec![(0, String::new())]))
    );
}

#[test]
fn txt_strings_are_concatenated_and_records_kept_apart() {
    let q = Question::new("_mta-sts.example.com", Qtype::Txt).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![
            txt("_mta-sts.example.com.", &["v=STSv1; ", "id=1"]),
            txt("_mta-sts.example.com.", &["other"]),
        ],
    );
    assert_eq!(
        parse_reply(&r, &q).outcome,
        Outcome::Answer(Records::Txt(vec![
            b"v=STSv1; id=1".to_vec(),
            b"other".to_vec()
        ]))
    );
}

#[test]
fn cname_chain_is_followed_and_recorded() {
    let q = Question::new("_mta-sts.example.com", Qtype::Txt).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![
            cname("_mta-sts.example.com.", "A.provider.net."),
            cname("a.provider.net.", "b.provider.net."),
            txt("b.provider.net.", &["v=STSv1; id=2"]),
            txt("unrelated.example.", &["v=STSv1; id=evil"]),
        ],
    );
    let p = parse_reply(&r, &q);
    assert_eq!(p.cname_chain, vec!["a.provider.net", "b.provider.net"]);
    assert_eq!(
        p.outcome,
        Outcome::Answer(Records::Txt(vec![b"v=STSv1; id=2".to_vec()]))
    );
}

#[test]
fn cname_to_nothing_is_nodata_with_chain() {
    let q = Question::new("_mta-sts.example.com", Qtype::Txt).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![cname("_mta-sts.example.com.", "a.provider.net.")],
    );
    let p = parse_reply(&r, &q);
    assert_eq!(p.outcome, Outcome::NoData);
    assert_eq!(p.cname_chain, vec!["a.provider.net"]);
}

#[test]
fn cname_loop_is_malformed() {
    let q = Question::new("a.example.com", Qtype::Txt).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![
            cname("a.example.com.", "b.example.com."),
            cname("b.example.com.", "a.example.com."),
        ],
    );
    assert_eq!(
        parse_reply(&r, &q).outcome,
        Outcome::Malformed(Malformed::CnameChain)
    );
}

#[test]
fn records_owned_by_another_name_are_ignored() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    let r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![mx("evil.example.", 10, "mx.evil.")],
    );
    assert_eq!(parse_reply(&r, &q).outcome, Outcome::NoData);
}

#[test]
fn nodata_with_soa_in_authority() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    let mut msg = Message::response(1, OpCode::Query);
    msg.add_query(Query::query(q.name(), RecordType::MX));
    let soa = SOA::new(
        name("ns.example.com."),
        name("h.example.com."),
        1,
        2,
        3,
        4,
        5,
    );
    msg.add_authority(Record::from_rdata(name("example.com."), 5, RData::SOA(soa)));
    let p = parse_reply(&msg.to_vec().unwrap(), &q);
    assert_eq!(p.outcome, Outcome::NoData);
}

#[test]
fn rcodes_map_to_outcomes() {
    let q = Question::new("example.com", Qtype::A).unwrap();
    let out = |rc| parse_reply(&reply(&q, 1, rc, vec![]), &q).outcome;
    assert_eq!(out(ResponseCode::NXDomain), Outcome::NxDomain);
    assert_eq!(out(ResponseCode::ServFail), Outcome::ServFail);
    assert_eq!(out(ResponseCode::Refused), Outcome::Refused);
    assert_eq!(
        out(ResponseCode::FormErr),
        Outcome::Malformed(Malformed::Rcode(1))
    );
}

#[test]
fn only_servfail_refused_and_timeout_are_retried() {
    assert!(Outcome::<()>::ServFail.is_retryable());
    assert!(Outcome::<()>::Refused.is_retryable());
    assert!(Outcome::<()>::Timeout.is_retryable());
    assert!(!Outcome::<()>::NxDomain.is_retryable());
    assert!(!Outcome::<()>::NoData.is_retryable());
    assert!(!Outcome::Answer(()).is_retryable());
}

#[test]
fn addresses_are_collected() {
    let q = Question::new("mta-sts.example.com", Qtype::A).unwrap();
    let a = Record::from_rdata(
        name("mta-sts.example.com."),
        60,
        RData::A(hickory_proto::rr::rdata::A(Ipv4Addr::new(127, 0, 0, 9))),
    );
    let r = reply(&q, 1, ResponseCode::NoError, vec![a]);
    assert_eq!(
        parse_reply(&r, &q).outcome,
        Outcome::Answer(Records::Addrs(vec!["127.0.0.9".parse().unwrap()]))
    );
}

#[test]
fn truncation_flag_is_reported() {
    let q = Question::new("example.com", Qtype::Txt).unwrap();
    let mut msg = Message::response(1, OpCode::Query);
    msg.metadata.truncation = true;
    msg.add_query(Query::query(q.name(), RecordType::TXT));
    assert!(parse_reply(&msg.to_vec().unwrap(), &q).truncated);
}

#[test]
fn undecodable_reply_is_malformed() {
    let q = Question::new("example.com", Qtype::Txt).unwrap();
    let mut r = reply(
        &q,
        1,
        ResponseCode::NoError,
        vec![txt("example.com.", &["x"])],
    );
    r[7] = 5; // claims five answers, carries one
    assert_eq!(
        parse_reply(&r, &q).outcome,
        Outcome::Malformed(Malformed::Undecodable)
    );
}

#[test]
fn answerless_replies_take_the_header_path_with_the_same_outcome() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    for (rc, want) in [
        (ResponseCode::NXDomain, Outcome::NxDomain),
        (ResponseCode::NoError, Outcome::NoData),
        (ResponseCode::ServFail, Outcome::ServFail),
        (ResponseCode::Refused, Outcome::Refused),
    ] {
        let mut msg = Message::response(1, OpCode::Query);
        msg.metadata.response_code = rc;
        msg.add_query(Query::query(q.name(), RecordType::MX));
        let soa = SOA::new(
            name("ns.example.com."),
            name("h.example.com."),
            1,
            2,
            3,
            4,
            5,
        );
        msg.add_authority(Record::from_rdata(name("example.com."), 5, RData::SOA(soa)));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        msg.set_edns(edns);
        let wire = msg.to_vec().unwrap();
        assert_eq!(header_only_outcome(&wire), Some(want.clone()), "{rc:?}");
        assert_eq!(parse_reply(&wire, &q).outcome, want);
        // A cut-off authority section is not trusted on the header alone.
        assert_eq!(header_only_outcome(&wire[..wire.len() - 3]), None);
    }
}

#[test]
fn extended_rcode_in_opt_is_not_read_from_the_header_alone() {
    let q = Question::new("example.com", Qtype::Mx).unwrap();
    let mut msg = Message::response(1, OpCode::Query);
    msg.add_query(Query::query(q.name(), RecordType::MX));
    msg.metadata.response_code = ResponseCode::from(1, 0); // BADVERS (16): high bits in the OPT
    msg.set_edns(Edns::new());
    let wire = msg.to_vec().unwrap();
    assert_eq!(header_only_outcome(&wire), None);
    assert!(matches!(
        parse_reply(&wire, &q).outcome,
        Outcome::Malformed(_)
    ));
}

#[test]
fn hand_encoded_query_is_byte_for_byte_what_hickory_emits() {
    let names = [
        "example.com",
        "Example.COM.",
        "_mta-sts.bench12.com",
        "_smtp._tls.a-b.c0.example",
        "x",
    ];
    for n in names {
        for qtype in [Qtype::Mx, Qtype::Txt, Qtype::A, Qtype::Aaaa] {
            for payload in [EDNS_PAYLOAD, 512, 100] {
                let hand = encode_plain(n, qtype, payload).expect("plain name");
                let hickory = encode_with_hickory(n, qtype, payload).unwrap();
                assert_eq!(hand, hickory, "{n} {qtype:?} {payload}");
            }
        }
    }
}

#[test]
fn names_outside_the_plain_alphabet_go_through_hickory() {
    assert_eq!(encode_plain("a\\.b.com", Qtype::Mx, EDNS_PAYLOAD), None);
    assert_eq!(encode_plain("a..com", Qtype::Mx, EDNS_PAYLOAD), None);
    assert_eq!(encode_plain(&"a".repeat(64), Qtype::Mx, EDNS_PAYLOAD), None);
    let q = Question::new("a\\.b.com", Qtype::Mx).unwrap();
    assert_eq!(q.name().num_labels(), 2);
}

#[test]
fn question_name_is_decoded_from_the_query_bytes() {
    let q = Question::new("_mta-sts.Example.com", Qtype::Txt).unwrap();
    assert_eq!(q.name(), name("_mta-sts.example.com."));
    assert!(q.name().is_fqdn());
}
