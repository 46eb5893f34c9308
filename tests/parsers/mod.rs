//! Integration tests of the pure parsers and `stsmap lint`.

mod corpus;
mod lint_cli;
mod no_panic;
mod rfc_examples;

use std::path::PathBuf;

/// tests/fixtures/policies/<rel>
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies")
        .join(rel)
}
