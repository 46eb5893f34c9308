//! The input normaliser and the whole input screen on arbitrary bytes: never panic, a
//! normalised name normalises to itself, and every line yields exactly one screened line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = stsmap::input::normalise(data) {
        assert_eq!(stsmap::input::normalise(name.as_bytes()).as_deref(), Ok(name.as_str()));
    }
    let lines = stsmap::input::screen(std::io::Cursor::new(data)).count();
    let mut expected = data.iter().filter(|&&b| b == b'\n').count();
    if !data.is_empty() && !data.ends_with(b"\n") {
        expected += 1;
    }
    // A recognised header on line 1 yields no row.
    assert!(lines == expected || lines + 1 == expected, "{lines} rows for {expected} lines");
});
