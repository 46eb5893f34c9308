//! The policy parser and the DNS record parsers on arbitrary bytes: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = stsmap::policy::parse(data);
    let _ = report.error_summary();
    let _ = report.warning_codes();
    let _ = stsmap::sts_record::parse_record(data);
    let _ = stsmap::tlsrpt::parse_record(data);
    // The same bytes as a multi-record TXT answer, split at NUL bytes.
    let records: Vec<Vec<u8>> = data.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    let _ = stsmap::sts_record::parse_answer(&records);
    let _ = stsmap::tlsrpt::parse_answer(&records);
});
