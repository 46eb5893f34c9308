//! Dirty input end to end: scanning the hand-written dirty fixture gives every line its row, in
//! order, each rejected line with its reason, and equals the lab truth.

use crate::scan_lab::{differences, lab_config, records, scan, tmp_dir, truth_csv};
use stsmap::lab::world::{Profile, World};
use stsmap::lab::{Lab, LabConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dirty_fixture_scan_gives_each_line_its_row_with_a_reason() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let input = format!("{dir}/dirty-input.txt");
    let expected = std::fs::read_to_string(format!("{dir}/dirty-input.expected.tsv")).unwrap();
    // line, rank, input_status, domain, input_error
    let expected: Vec<Vec<&str>> = expected
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let lab = Lab::start(LabConfig::loopback(Profile::Adversarial, 3)).unwrap();
    let out = tmp_dir("dirty");
    let report = scan(lab_config(&lab, &input, &out)).await;
    lab.shutdown().await;
    assert!(report.complete);
    let got = records(&std::fs::read(out.join("results.csv")).unwrap());
    assert_eq!(got.len(), expected.len(), "one row per line");
    for (row, want) in got.iter().zip(&expected) {
        let line = want[0];
        assert_eq!(&row[0], want[1], "line {line}: rank");
        assert_eq!(&row[2], want[2], "line {line}: input_status");
        assert_eq!(&row[22], want[4], "line {line}: input_error");
        if &row[2] == "ok" {
            assert_eq!(&row[1], want[3], "line {line}: domain");
            assert!(
                !row[20].is_empty(),
                "line {line}: a scanned row is classified"
            );
        } else {
            assert!(!row[22].is_empty(), "line {line}: a rejected row says why");
            assert!(
                row[3].is_empty() && row[20].is_empty(),
                "line {line}: not scanned"
            );
        }
    }
    let want = records(&truth_csv(&World::new(Profile::Adversarial, 3), &input));
    let diffs = differences(&got, &want);
    assert!(diffs.is_empty(), "{:#?}", &diffs[..diffs.len().min(15)]);
    std::fs::remove_dir_all(&out).unwrap();
}
