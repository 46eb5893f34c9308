//! The DNS reply handler on arbitrary datagrams: `reply_matches` and `parse_reply` must never
//! panic, and a reply `parse_reply` accepts as an answer must have matched the question.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsmap::dns::query::{message_id, parse_reply, reply_matches, Question};
use stsmap::dns::Qtype;

const NAMES: [&str; 4] = ["example.com", "_mta-sts.example.com", "mta-sts.example.com", "_smtp._tls.example.com"];
const TYPES: [Qtype; 4] = [Qtype::Mx, Qtype::Txt, Qtype::A, Qtype::Aaaa];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the question; the rest is the reply.
    let Some((&pick, reply)) = data.split_first() else { return };
    let q = Question::new(NAMES[usize::from(pick & 3)], TYPES[usize::from(pick >> 2 & 3)]).unwrap();
    let id = message_id(reply).unwrap_or(0);
    let _ = reply_matches(reply, id, &q);
    let _ = reply_matches(reply, id.wrapping_add(1), &q);
    let _ = parse_reply(reply, &q);
});
