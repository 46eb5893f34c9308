//! Tests of the world model alone (the ground truth is tested in tests/lab_world/).

use super::names::{self, Role};
use super::*;
use crate::row::{Coverage, Mode};
use std::collections::HashSet;

const ADDRS: LabAddrs = LabAddrs {
    https_v4: Ipv4Addr::new(127, 0, 0, 1),
    https_v6: Some(Ipv6Addr::LOCALHOST),
};

fn synthetic(i: u32) -> String {
    format!("site{i}.example{}.com", i % 97)
}

/// The first synthetic name whose spec satisfies `want`.
fn find(w: &World, want: impl Fn(&DomainSpec) -> bool) -> String {
    (0..200_000)
        .map(synthetic)
        .find(|d| want(&w.spec(d)))
        .expect("some synthetic name has the wanted spec")
}

fn ask(w: &World, name: &str, qt: u16) -> (Rcode, Collect) {
    let mut c = Collect::default();
    let r = w.resolve(name, qt, &ADDRS, &mut c);
    (r, c)
}

#[test]
fn same_seed_gives_the_same_spec_and_another_seed_a_different_world() {
    let a = World::new(Profile::Adversarial, 1);
    let b = World::new(Profile::Adversarial, 1);
    let c = World::new(Profile::Adversarial, 2);
    let mut differ = 0;
    for i in 0..1000 {
        let d = synthetic(i);
        assert_eq!(a.spec(&d), b.spec(&d));
        if a.spec(&d) != c.spec(&d) {
            differ += 1;
        }
    }
    assert!(
        differ > 900,
        "only {differ} of 1000 specs differ across seeds"
    );
}

#[test]
fn the_hash_is_pinned_so_worlds_never_change_silently() {
    // Checked against an independent Python implementation of FNV-1a 64 and SplitMix64.
    assert_eq!(hash::name_hash(0, b""), 0xa8c7_f832_281a_39c5);
    let mut d = Draws::new(1, b"example.com");
    assert_eq!(d.next_u64(), 0xef9c_d096_2315_b0ee);
}

#[test]
fn a_nonexistent_domain_is_nxdomain_for_every_name_below_it() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| !s.exists());
    for prefix in ["", "_mta-sts.", "_smtp._tls.", "_tls.", "mta-sts.", "mx1."] {
        for qt in [qtype::A, qtype::MX, qtype::TXT] {
            let (r, c) = ask(&w, &format!("{prefix}{d}"), qt);
            assert_eq!(r, Rcode::NxDomain, "{prefix}{d} type {qt}");
            assert_eq!(c, Collect::default());
        }
    }
}

#[test]
fn a_domain_below_a_nonexistent_one_does_not_exist() {
    let w = World::new(Profile::Adversarial, 3);
    let parent = find(&w, |s| !s.exists());
    assert!(!w.spec(&format!("www.{parent}")).exists());
    assert!(!w.spec(&format!("a.b.{parent}")).exists());
}

#[test]
fn a_domain_without_mx_answers_nodata_not_nxdomain() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.mx == MxSpec::NoMx);
    let (r, c) = ask(&w, &d, qtype::MX);
    assert_eq!((r, c.mx.len()), (Rcode::NoError, 0));
    let (r, c) = ask(&w, &d, qtype::A);
    assert_eq!((r, c.a.len()), (Rcode::NoError, 1));
}

#[test]
fn null_mx_is_a_single_record_with_the_root_as_exchange() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.mx == MxSpec::NullMx);
    let (_, c) = ask(&w, &d, qtype::MX);
    assert_eq!(c.mx, vec![(0, String::new())]);
    let d = find(&w, |s| s.mx == MxSpec::NullMixed && s.mx_count == 2);
    let (_, c) = ask(&w, &d, qtype::MX);
    assert_eq!(c.mx.len(), 3);
    assert_eq!(c.mx[0], (0, String::new()));
}

#[test]
fn own_mx_hosts_resolve_and_customer_hosts_fit_in_one_label() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.mx == MxSpec::Own && s.mx_count == 3);
    let (_, c) = ask(&w, &d, qtype::MX);
    let hosts: Vec<&str> = c.mx.iter().map(|(_, h)| h.as_str()).collect();
    assert_eq!(
        hosts,
        [format!("mx1.{d}"), format!("mx2.{d}"), format!("mx3.{d}")]
    );
    for h in hosts {
        assert_eq!(ask(&w, h, qtype::A).1.a, vec![ADDRS.https_v4]);
        assert_eq!(
            ask(&w, h, qtype::MX).1.mx.len(),
            0,
            "{h} is a host, not a domain"
        );
    }
    let long = format!("{}.example", "a".repeat(60));
    assert!(w.spec(&long).mx != MxSpec::CustomerHost);
    let d = find(&w, |s| s.mx == MxSpec::CustomerHost);
    let (_, c) = ask(&w, &d, qtype::MX);
    let (r, a) = ask(&w, &c.mx[0].1, qtype::A);
    assert_eq!((r, a.a.len()), (Rcode::NoError, 1));
}

#[test]
fn sts_cname_chain_ends_at_the_providers_record() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.exists() && s.sts == StsSpec::CnameChain);
    let q = format!("_mta-sts.{d}");
    let (r, c) = ask(&w, &q, qtype::TXT);
    assert_eq!(r, Rcode::NoError);
    assert_eq!(
        c.cnames,
        vec![
            (q.clone(), names::STS_PROVIDER_ALIAS.to_string()),
            (
                names::STS_PROVIDER_ALIAS.to_string(),
                names::STS_PROVIDER_RECORD.to_string()
            ),
        ]
    );
    assert_eq!(c.owners, vec![names::STS_PROVIDER_RECORD.to_string()]);
    assert!(c.txt_joined()[0].starts_with(b"v=STSv1; id="));
    // Asking for the CNAME itself stops at the first link.
    let (_, c) = ask(&w, &q, qtype::CNAME);
    assert_eq!(c.cnames.len(), 1);
    assert!(c.txt.is_empty());
}

#[test]
fn cname_to_a_name_without_txt_is_nodata_and_a_dangling_cname_is_nxdomain() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.exists() && s.sts == StsSpec::CnameNoTxt);
    let (r, c) = ask(&w, &format!("_mta-sts.{d}"), qtype::TXT);
    assert_eq!((r, c.cnames.len(), c.txt.len()), (Rcode::NoError, 1, 0));
    let d = find(&w, |s| s.exists() && s.host == HostSpec::DanglingCname);
    let (r, c) = ask(&w, &format!("mta-sts.{d}"), qtype::A);
    assert_eq!((r, c.cnames.len(), c.a.len()), (Rcode::NxDomain, 1, 0));
}

#[test]
fn a_policy_host_without_address_exists_through_the_name_below_it() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.exists() && s.host == HostSpec::NoAddress);
    for qt in [qtype::A, qtype::AAAA] {
        let (r, c) = ask(&w, &format!("mta-sts.{d}"), qt);
        assert_eq!((r, c.a.len(), c.aaaa.len()), (Rcode::NoError, 0, 0));
    }
    let (r, c) = ask(&w, &format!("_acme-challenge.mta-sts.{d}"), qtype::TXT);
    assert_eq!((r, c.txt.len()), (Rcode::NoError, 1));
    assert!(w.https(&format!("mta-sts.{d}")).is_none());
}

#[test]
fn policy_hosts_get_aaaa_only_when_the_lab_has_ipv6_and_the_spec_wants_it() {
    let w = World::new(Profile::Adversarial, 1);
    let d = find(&w, |s| s.exists() && s.host == HostSpec::Direct);
    let h = format!("mta-sts.{d}");
    assert_eq!(ask(&w, &h, qtype::AAAA).1.aaaa, vec![Ipv6Addr::LOCALHOST]);
    let v4 = LabAddrs {
        https_v6: None,
        ..ADDRS
    };
    let mut c = Collect::default();
    assert_eq!(w.resolve(&h, qtype::AAAA, &v4, &mut c), Rcode::NoError);
    assert!(c.aaaa.is_empty());
    let d = find(&w, |s| s.exists() && s.host == HostSpec::DirectV4Only);
    assert!(ask(&w, &format!("mta-sts.{d}"), qtype::AAAA)
        .1
        .aaaa
        .is_empty());
    assert_eq!(ask(&w, &format!("mta-sts.{d}"), qtype::A).1.a.len(), 1);
}

#[test]
fn the_tls_empty_non_terminal_exists_exactly_when_the_tlsrpt_name_does() {
    let w = World::new(Profile::Adversarial, 1);
    for i in 0..300 {
        let d = synthetic(i);
        let (r1, _) = ask(&w, &format!("_smtp._tls.{d}"), qtype::TXT);
        let (r2, c) = ask(&w, &format!("_tls.{d}"), qtype::TXT);
        assert_eq!(r1, r2, "{d}");
        assert!(c.txt.is_empty());
    }
}

#[test]
fn txt_strings_never_exceed_255_bytes_even_for_the_longest_names() {
    let w = World::new(Profile::Adversarial, 1);
    let label = "a".repeat(63);
    let long = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    assert_eq!(long.len(), 253);
    for seed in 0..400 {
        let w = World::new(Profile::Adversarial, seed);
        for q in [format!("_smtp._tls.{long}"), format!("_mta-sts.{long}")] {
            let (_, c) = ask(&w, &q, qtype::TXT);
            assert!(c.txt.iter().flatten().all(|s| s.len() <= 255));
        }
    }
    let _ = w;
}

#[test]
fn lab_owned_names_answer() {
    let w = World::new(Profile::Realistic, 1);
    let (r, c) = ask(&w, names::MX_PROVIDERS[0][0].1, qtype::A);
    assert_eq!((r, c.a.len()), (Rcode::NoError, 1));
    let (r, c) = ask(&w, names::TLSRPT_PROVIDER_RECORD, qtype::TXT);
    assert_eq!((r, c.txt.len()), (Rcode::NoError, 1));
    let (r, _) = ask(&w, "nothing-here.stsmap-lab.test", qtype::A);
    assert_eq!(r, Rcode::NxDomain);
    let (r, c) = ask(&w, "stsmap-lab.test", qtype::A);
    assert_eq!((r, c.a.len()), (Rcode::NoError, 0));
}

/// Every variant of a dimension, as a set of debug names, and those seen.
fn check_all<T: std::fmt::Debug>(what: &str, all: &[T], seen: &HashSet<String>) {
    for v in all {
        assert!(seen.contains(&format!("{v:?}")), "{what} {v:?} never drawn");
    }
}

#[test]
fn every_case_is_reachable_in_the_adversarial_profile() {
    let w = World::new(Profile::Adversarial, 1);
    let mut seen: HashSet<String> = HashSet::new();
    for i in 0..20_000 {
        let s = w.spec(&synthetic(i));
        if !s.exists() {
            seen.insert(format!("{:?}", s.mx));
            continue;
        }
        for v in [
            format!("{:?}", s.mx),
            format!("{:?}", s.sts),
            format!("{:?}", s.host),
            format!("{:?}", s.policy),
            format!("{:?}", s.tlsrpt),
            format!("{:?}", s.good.mode),
            format!("{:?}", s.good.coverage),
            format!("body{}", s.real_body),
            format!("ct{}", s.good.content_type),
            format!("age{}", s.good.max_age),
            format!("count{}", s.mx_count),
        ] {
            seen.insert(v);
        }
    }
    let mx: Vec<MxSpec> = (0..spec::MX_PROVIDER_COUNT)
        .map(MxSpec::Provider)
        .chain([
            MxSpec::Nxdomain,
            MxSpec::NoMx,
            MxSpec::NullMx,
            MxSpec::NullMixed,
            MxSpec::CustomerHost,
            MxSpec::Own,
        ])
        .collect();
    check_all("mx", &mx, &seen);
    check_all("sts", StsSpec::ALL, &seen);
    check_all("host", HostSpec::ALL, &seen);
    check_all("policy", PolicyCase::ALL, &seen);
    check_all("tlsrpt", TlsRptSpec::ALL, &seen);
    check_all("mode", Mode::ALL, &seen);
    check_all("coverage", Coverage::ALL, &seen);
    for i in 0..REAL_BODIES.len() {
        assert!(seen.contains(&format!("body{i}")), "real body {i}");
    }
    for i in 0..CONTENT_TYPES.len() {
        assert!(seen.contains(&format!("ct{i}")), "content type {i}");
    }
    for i in 1..=5 {
        assert!(seen.contains(&format!("count{i}")), "mx count {i}");
    }
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

#[test]
fn realistic_shares_follow_the_published_figures() {
    let w = World::new(Profile::Realistic, 1);
    let specs: Vec<DomainSpec> = (0..100_000).map(|i| w.spec(&synthetic(i))).collect();
    let mail: Vec<&DomainSpec> = specs.iter().filter(|s| s.has_mail()).collect();
    let no_mail = specs.len() - mail.len();
    assert!(
        (0.18..0.23).contains(&share(no_mail, specs.len())),
        "no mail {no_mail}"
    );
    let with_sts: Vec<&&DomainSpec> = mail.iter().filter(|s| !s.sts.is_absent()).collect();
    let sts_share = share(with_sts.len(), mail.len());
    assert!((0.008..0.012).contains(&sts_share), "STS share {sts_share}");
    // Broken: invalid/multiple record, host not resolving, or a fetch failure
    // (real bodies count as broken here; some of them are valid with warnings).
    let broken = with_sts
        .iter()
        .filter(|s| !s.sts.is_valid() || !s.host.resolves() || s.policy != PolicyCase::Good)
        .count();
    let broken_share = share(broken, with_sts.len());
    assert!(
        (0.24..0.36).contains(&broken_share),
        "broken {broken_share}"
    );
    let good: Vec<&&&DomainSpec> = with_sts
        .iter()
        .filter(|s| s.sts.is_valid() && s.host.resolves() && s.policy == PolicyCase::Good)
        .collect();
    let enforce = good.iter().filter(|s| s.good.mode == Mode::Enforce).count();
    let testing = good.iter().filter(|s| s.good.mode == Mode::Testing).count();
    assert!(
        (0.53..0.67).contains(&share(enforce, good.len())),
        "enforce {enforce}/{}",
        good.len()
    );
    assert!(
        (0.28..0.42).contains(&share(testing, good.len())),
        "testing {testing}/{}",
        good.len()
    );
    let tlsrpt = mail
        .iter()
        .filter(|s| s.tlsrpt != TlsRptSpec::Nxdomain)
        .count();
    let tlsrpt_share = share(tlsrpt, mail.len());
    assert!(
        (0.01..0.025).contains(&tlsrpt_share),
        "TLS-RPT share {tlsrpt_share}"
    );
}

#[test]
fn zone_names_cover_what_resolve_answers_for_the_scanners_questions() {
    let w = World::new(Profile::Adversarial, 5);
    for i in 0..2000 {
        let d = synthetic(i);
        let mut owners: Vec<(String, u16)> = Vec::new();
        w.zone_names(&d, &mut |o, t| owners.push((o.to_string(), t)));
        // Every listed rrset is non-empty (AAAA needs the lab's IPv6 address).
        for (o, t) in &owners {
            let mut c = Collect::default();
            assert_eq!(w.rrset(o, *t, &ADDRS, &mut c), Rcode::NoError, "{o} {t}");
            let n = c.cnames.len() + c.mx.len() + c.txt.len() + c.a.len() + c.aaaa.len();
            let direct_v4 = *t == qtype::AAAA && w.spec(&d).host == HostSpec::DirectV4Only;
            assert!(n > 0 || direct_v4, "{o} type {t} listed but empty");
        }
        // Every name the scanner asks about that has records is listed.
        for (q, t) in [
            (d.clone(), qtype::MX),
            (format!("_mta-sts.{d}"), qtype::TXT),
            (format!("_smtp._tls.{d}"), qtype::TXT),
            (format!("mta-sts.{d}"), qtype::A),
        ] {
            let mut c = Collect::default();
            w.rrset(&q, t, &ADDRS, &mut c);
            let mut cn = Collect::default();
            w.rrset(&q, qtype::CNAME, &ADDRS, &mut cn);
            if !c.owners.is_empty() {
                assert!(owners.contains(&(q.clone(), t)), "{q} {t} missing");
            }
            if !cn.cnames.is_empty() {
                assert!(
                    owners.contains(&(q.clone(), qtype::CNAME)),
                    "{q} CNAME missing"
                );
            }
        }
    }
    let mut lab = Vec::new();
    World::lab_zone_names(&mut |o, t| lab.push((o.to_string(), t)));
    for (o, t) in lab {
        assert_eq!(names::role(&o), Role::Lab);
        let mut c = Collect::default();
        w.rrset(&o, t, &ADDRS, &mut c);
        assert!(c != Collect::default(), "{o} {t}");
    }
}

#[test]
fn https_serves_only_policy_hosts_that_resolve() {
    let w = World::new(Profile::Adversarial, 1);
    assert!(w.https("example.com").is_none());
    assert!(w.https(names::STS_PROVIDER_HOST).is_none());
    for i in 0..500 {
        let d = synthetic(i);
        let s = w.spec(&d);
        let h = w.https(&format!("mta-sts.{d}"));
        assert_eq!(h.is_some(), s.exists() && s.host.resolves(), "{d}");
        if let Some(h) = h {
            let ct = h.headers.iter().find(|(n, _)| n == "Content-Type");
            assert!(ct.is_some());
            let redirect = matches!(h.status, 301 | 302);
            assert_eq!(redirect, h.headers.iter().any(|(n, _)| n == "Location"));
        }
    }
}

#[test]
fn generated_patterns_cover_all_some_or_none_of_the_hosts() {
    let hosts: Vec<String> = names::MX_PROVIDERS[0]
        .iter()
        .map(|(_, h)| h.to_string())
        .collect();
    let mut g = GoodPolicy {
        mode: Mode::Enforce,
        coverage: Coverage::All,
        wildcard: true,
        crlf: false,
        max_age: 0,
        content_type: 0,
    };
    assert_eq!(
        https::patterns("x.example", &hosts, &g),
        [
            "*.l.mail-provider-1.stsmap-lab.test",
            "*.aspmx.l.mail-provider-1.stsmap-lab.test"
        ]
    );
    g.coverage = Coverage::Some;
    assert_eq!(https::patterns("x.example", &hosts, &g), hosts[..2]);
    g.coverage = Coverage::None;
    assert_eq!(https::patterns("x.example", &hosts, &g), [names::OLD_MX]);
    let body = https::policy_body("x.example", &hosts[..1], &GoodPolicy { crlf: true, ..g });
    assert_eq!(
        body,
        b"version: STSv1\r\nmode: enforce\r\nmx: mx.old-provider.stsmap-lab.test\r\nmax_age: 86400\r\n"
    );
}

#[test]
fn existence_alone_agrees_with_the_full_derivation() {
    for profile in [Profile::Realistic, Profile::Adversarial] {
        for i in 0..5000 {
            let d = synthetic(i);
            assert_eq!(
                spec::exists_alone(profile, 9, &d),
                spec::derive(profile, 9, &d).exists(),
                "{d}"
            );
        }
    }
}

#[test]
fn single_label_names_are_empty_non_terminals_not_domains() {
    let w = World::new(Profile::Adversarial, 1);
    for tld in ["com", "localhost", "test"] {
        assert!(!w.spec(tld).exists());
        assert_eq!(
            ask(&w, tld, qtype::MX),
            (Rcode::NoError, Collect::default())
        );
        assert_eq!(
            ask(&w, &format!("_mta-sts.{tld}"), qtype::TXT).0,
            Rcode::NxDomain
        );
        let mut n = 0;
        w.zone_names(tld, &mut |_, _| n += 1);
        assert_eq!(n, 0);
    }
    let (r, c) = ask(&w, "", qtype::A);
    assert_eq!((r, c), (Rcode::NoError, Collect::default()));
}
