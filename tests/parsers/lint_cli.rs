//! `stsmap lint` as a user runs it: exit codes 0 valid, 1 invalid, 2 usage.

use super::fixture;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn stsmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stsmap"))
        .args(args)
        .output()
        .expect("run stsmap")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn policy_file(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

#[test]
fn valid_policy_exits_0_and_strict_only_problems_exit_1_with_strict() {
    let clean = policy_file("39_hmcts_enforce_outlook.mta-sts.txt");
    let o = stsmap(&["lint", "policy", &clean]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("mx       hmcts-net.mail.protection.outlook.com"));
    assert_eq!(code(&stsmap(&["lint", "policy", "--strict", &clean])), 0);

    let bom = policy_file("24_utf8_bom_crlf.mta-sts.txt");
    let o = stsmap(&["lint", "policy", &bom]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("utf8_bom"));
    assert_eq!(code(&stsmap(&["lint", "policy", "--strict", &bom])), 1);
}

#[test]
fn invalid_policy_exits_1_naming_the_problem_and_rfc_section() {
    let o = stsmap(&[
        "lint",
        "policy",
        &policy_file("09_mode_enforcing_invalid.mta-sts.txt"),
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("mode_invalid  RFC 8461 §3.2"));
}

#[test]
fn records_exit_0_or_1() {
    assert_eq!(
        code(&stsmap(&[
            "lint",
            "sts-record",
            "v=STSv1; id=20160831085700Z;"
        ])),
        0
    );
    assert_eq!(
        code(&stsmap(&["lint", "sts-record", "v=STSv1; id=2016-08-31"])),
        1
    );
    assert_eq!(code(&stsmap(&["lint", "sts-record", "v=spf1 -all"])), 1);
    assert_eq!(
        code(&stsmap(&[
            "lint",
            "tlsrpt-record",
            "v=TLSRPTv1; rua=mailto:a@example.com"
        ])),
        0
    );
    assert_eq!(
        code(&stsmap(&[
            "lint",
            "tlsrpt-record",
            "v=TLSRPTv1; rua=http://x.example/"
        ])),
        1
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["lint"][..],
        &["lint", "nonsense"],
        &["lint", "policy"],
        &["lint", "sts-record"],
        &["lint", "policy", "--bogus", "x"],
        &["lint", "policy", "/nonexistent/dir/mta-sts.txt"],
    ] {
        let o = stsmap(args);
        assert_eq!(
            code(&o),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn utf16_file_is_invalid_without_panic() {
    let o = stsmap(&[
        "lint",
        "policy",
        &policy_file("23_utf16le_bom_crlf.mta-sts.txt"),
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("utf16"));
}

#[test]
fn standard_input_and_binary_garbage_are_read_without_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stsmap"))
        .args(["lint", "policy", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    child.stdin.take().unwrap().write_all(&garbage).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("verdict: invalid"));
}

#[test]
fn ten_megabyte_file_is_reported_oversize_not_read_whole() {
    let path = std::env::temp_dir().join(format!("stsmap-lint-10mb-{}.txt", std::process::id()));
    let mut body = b"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n".to_vec();
    body.resize(10 * 1024 * 1024, b'\n');
    std::fs::write(&path, &body).unwrap();
    let o = stsmap(&["lint", "policy", &path.to_string_lossy()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("larger than 1048576 bytes"), "{out}");
    assert!(out.contains("body_too_large"), "{out}");
}
