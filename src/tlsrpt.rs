//! The `_smtp._tls` TXT record (RFC 8460 §3).
//!
//! Pure: a TXT answer set in, a verdict out. Field splitting is shared with the
//! `_mta-sts` record ([`crate::sts_record`]), whose delimiter grammar is the same.

use crate::sts_record::{ascii_record, check_extension, is_wsp, lossy, split_fields};

/// The verdict on the TXT answer set at `_smtp._tls.<domain>`.
///
/// ```text
/// RFC 8460 §3:
///   If multiple TXT records for _smtp._tls are returned by the resolver,
///   records that do not begin with "v=TLSRPTv1;" are discarded.  If the
///   number of resulting records is not one, or if the resulting record
///   is syntactically invalid, senders MUST assume the recipient domain
///   does not implement TLSRPT.
///
///   tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
///   field-delim   = *WSP ";" *WSP
///   tlsrpt-field  = tlsrpt-rua / tlsrpt-extension   ; rua is required
///   tlsrpt-version = %s"v=TLSRPTv1"
///   tlsrpt-rua    = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
///   tlsrpt-uri    = URI   ; commas, "!" and ";" MUST be encoded
/// ```
///
/// Only `mailto:` and `https:` URIs are accepted (RFC 8460 §3: "Two URI
/// schemes are supported"). A duplicated `rua` keeps the first, as for
/// RFC 8461 fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsRptRecord {
    /// Exactly one record starts with `v=TLSRPTv1` and it parses.
    Valid {
        /// The reporting URIs, in order.
        rua: Vec<String>,
        text: String,
    },
    /// No record starts with `v=TLSRPTv1`.
    Absent,
    /// More than one record starts with `v=TLSRPTv1`.
    Multiple { texts: Vec<String> },
    /// One record starts with `v=TLSRPTv1` but does not parse.
    Invalid { reason: String, text: String },
}

/// The version tag every candidate record begins with.
pub const VERSION_TAG: &str = "v=TLSRPTv1";

/// Judges a TXT answer set (each record's strings concatenated).
pub fn parse_answer(records: &[Vec<u8>]) -> TlsRptRecord {
    let candidates: Vec<&Vec<u8>> = records
        .iter()
        .filter(|r| r.starts_with(VERSION_TAG.as_bytes()))
        .collect();
    match candidates.as_slice() {
        [] => TlsRptRecord::Absent,
        [one] => parse_record(one),
        many => TlsRptRecord::Multiple {
            texts: many.iter().map(|r| lossy(r)).collect(),
        },
    }
}

/// Parses one record that begins with `v=TLSRPTv1`.
pub fn parse_record(bytes: &[u8]) -> TlsRptRecord {
    let text = lossy(bytes);
    match parse_fields(bytes) {
        Ok(rua) => TlsRptRecord::Valid { rua, text },
        Err(reason) => TlsRptRecord::Invalid { reason, text },
    }
}

fn parse_fields(bytes: &[u8]) -> Result<Vec<String>, String> {
    let rest = bytes
        .strip_prefix(VERSION_TAG.as_bytes())
        .ok_or_else(|| format!("does not begin with {VERSION_TAG}"))?;
    let rest = ascii_record(rest)?;
    let mut rua: Option<Vec<String>> = None;
    for (name, value) in split_fields(rest, VERSION_TAG)? {
        if name == "rua" {
            let uris = parse_rua(value)?;
            rua.get_or_insert(uris);
        } else {
            check_extension(name, value)?;
        }
    }
    rua.ok_or_else(|| "no rua field (rua is required)".into())
}

/// `tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)`.
fn parse_rua(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(|u| {
            let u = u.trim_matches(is_wsp);
            check_uri(u).map(|()| u.to_string())
        })
        .collect()
}

/// A URI with the `mailto` or `https` scheme, made of URI characters with
/// `,`, `!` and `;` encoded.
fn check_uri(u: &str) -> Result<(), String> {
    if u.is_empty() {
        return Err("empty URI in rua (a stray ',')".into());
    }
    if let Some(c) = u.chars().find(|&c| !is_uri_char(c)) {
        return Err(format!(
            "rua URI {u:?} contains {c:?}, which must be percent-encoded"
        ));
    }
    let Some((scheme, rest)) = u.split_once(':') else {
        return Err(format!(
            "rua {u:?} is not a URI (no scheme; mailto: or https:)"
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "mailto" => match rest.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
            _ => Err(format!("rua {u:?} has no address local@domain")),
        },
        "https" => match rest.strip_prefix("//") {
            Some(after) if !after.is_empty() && !after.starts_with('/') => Ok(()),
            _ => Err(format!("rua {u:?} has no host (https://host/...)")),
        },
        _ => Err(format!(
            "rua {u:?}: scheme {scheme:?} is not supported (only mailto: and https:)"
        )),
    }
}

/// RFC 3986 unreserved, reserved (minus `,` `!` `;`) and `%`.
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@$&'()*+=%".contains(c)
}

#[cfg(test)]
mod tests;
