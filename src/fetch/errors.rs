//! Fetch failures as data, and their exact results.csv codes (docs/results.md).

use std::error::Error as StdError;
use std::io;

use rustls::{AlertDescription, CertificateError, InvalidMessage, PeerIncompatible};

use super::chain;

/// Why `mta-sts.<domain>` did not resolve (`policy_status` = `dns_error`).
///
/// ```text
/// RFC 8461 §3.3: the Policy Host [...] "mta-sts.<Policy Domain>"; a sender that cannot
/// resolve it cannot fetch the policy.
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    #[error("nxdomain")]
    NxDomain,
    /// The name exists but has neither A nor AAAA.
    #[error("no_address")]
    NoAddress,
    #[error("servfail")]
    ServFail,
    #[error("refused")]
    Refused,
    #[error("timeout")]
    Timeout,
    /// Anything else (malformed answers, network errors towards the resolver).
    #[error("error")]
    Error,
}

/// Why TCP to the policy host failed (`policy_status` = `connect_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    Refused,
    Unreachable,
    Reset,
    /// The OS (or hyper) error text.
    Other(String),
}

/// Why TLS with the policy host failed (`policy_status` = `tls_error`).
///
/// ```text
/// RFC 8461 §3.3: The certificate presented by the Policy Host MUST be valid for the
/// "mta-sts" host name [...] MUST chain to a root CA that is trusted by the Sending MTA
/// and be non-expired.
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    Expired,
    NotYetValid,
    NameMismatch,
    UnknownIssuer,
    /// No common parameters, or the server sent a handshake_failure alert.
    HandshakeFailure,
    /// No common TLS version (TLS 1.2 is the floor).
    ProtocolVersion,
    /// The peer answered the ClientHello with something that is not TLS.
    NotTls,
    /// Anything else, with rustls' (or the OS's) text.
    Other(String),
}

/// Which bound ended the fetch (`policy_status` = `timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    TlsHandshake,
    /// Connected, no response head yet.
    Response,
    /// The whole-request timeout ended a body still arriving.
    Body,
}

/// Why no policy body was obtained. `status()` / `code()` are the CSV cells.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("dns_error: {0}")]
    Dns(DnsFailure),
    #[error("connect_error: {}", .0.code())]
    Connect(ConnectFailure),
    #[error("tls_error: {}", .0.code())]
    Tls(TlsFailure),
    #[error("timeout: {}", .0.code())]
    Timeout(TimeoutPhase),
    /// Any status but 200; redirects are reported, never followed.
    #[error("http_error: HTTP {status}")]
    Http {
        status: u16,
        location: Option<String>,
    },
    /// RFC 8461 §3.3's 64 KiB cap exceeded (`policy_status` = `invalid`).
    #[error("invalid: body_too_large")]
    BodyTooLarge,
}

impl FetchError {
    /// The `policy_status` cell.
    pub fn as_status(&self) -> &'static str {
        match self {
            FetchError::Dns(_) => "dns_error",
            FetchError::Connect(_) => "connect_error",
            FetchError::Tls(_) => "tls_error",
            FetchError::Timeout(_) => "timeout",
            FetchError::Http { .. } => "http_error",
            FetchError::BodyTooLarge => "invalid",
        }
    }

    /// The `policy_error` cell.
    pub fn as_error_code(&self) -> String {
        match self {
            FetchError::Dns(d) => d.to_string(),
            FetchError::Connect(c) => c.code(),
            FetchError::Tls(t) => t.code(),
            FetchError::Timeout(t) => t.code().to_string(),
            FetchError::Http {
                status,
                location: Some(loc),
            } => format!("HTTP {status} Location: {loc}"),
            FetchError::Http { status, .. } => format!("HTTP {status}"),
            FetchError::BodyTooLarge => "body_too_large".to_string(),
        }
    }
}

impl ConnectFailure {
    pub fn code(&self) -> String {
        match self {
            ConnectFailure::Refused => "refused".into(),
            ConnectFailure::Unreachable => "unreachable".into(),
            ConnectFailure::Reset => "reset".into(),
            ConnectFailure::Other(text) => text.clone(),
        }
    }
}

impl TlsFailure {
    pub fn code(&self) -> String {
        match self {
            TlsFailure::Expired => "expired".into(),
            TlsFailure::NotYetValid => "not_yet_valid".into(),
            TlsFailure::NameMismatch => "name_mismatch".into(),
            TlsFailure::UnknownIssuer => "unknown_issuer".into(),
            TlsFailure::HandshakeFailure => "handshake_failure".into(),
            TlsFailure::ProtocolVersion => "protocol_version".into(),
            TlsFailure::NotTls => "not_tls".into(),
            TlsFailure::Other(text) => format!("other: {text}"),
        }
    }
}

impl TimeoutPhase {
    pub fn code(&self) -> &'static str {
        match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::TlsHandshake => "tls_handshake",
            TimeoutPhase::Response => "response",
            TimeoutPhase::Body => "body",
        }
    }
}

/// A hyper-util client error: our connector's [`FetchError`] if it is in the chain,
/// else what went wrong on an established connection.
pub(super) fn classify_client(err: &(dyn StdError + 'static)) -> FetchError {
    if let Some(fe) = chain(err).find_map(|e| e.downcast_ref::<FetchError>()) {
        return fe.clone();
    }
    classify_body(err)
}

/// An error after the connection was up (request sent, head or body arriving).
pub(super) fn classify_body(err: &(dyn StdError + 'static)) -> FetchError {
    if let Some(io) = chain(err).find_map(|e| e.downcast_ref::<io::Error>()) {
        if let Some(f) = connect_failure_of(io) {
            return FetchError::Connect(f);
        }
    }
    if let Some(h) = chain(err).find_map(|e| e.downcast_ref::<hyper::Error>()) {
        if h.is_incomplete_message() {
            return FetchError::Connect(ConnectFailure::Other(
                "connection closed before the response completed".into(),
            ));
        }
        if h.is_parse() {
            return FetchError::Connect(ConnectFailure::Other("malformed HTTP response".into()));
        }
    }
    FetchError::Connect(ConnectFailure::Other(flat(err)))
}

/// hyper-util's `ConnectError`: DNS failure, TCP timeout or refusal.
pub(super) fn classify_connect(err: &(dyn StdError + 'static)) -> FetchError {
    if let Some(d) = chain(err).find_map(|e| e.downcast_ref::<DnsFailure>()) {
        return FetchError::Dns(*d);
    }
    if let Some(io) = chain(err).find_map(|e| e.downcast_ref::<io::Error>()) {
        if io.kind() == io::ErrorKind::TimedOut {
            return FetchError::Timeout(TimeoutPhase::Connect);
        }
        return FetchError::Connect(
            connect_failure_of(io).unwrap_or_else(|| ConnectFailure::Other(io.to_string())),
        );
    }
    FetchError::Connect(ConnectFailure::Other(flat(err)))
}

fn connect_failure_of(io: &io::Error) -> Option<ConnectFailure> {
    match io.kind() {
        io::ErrorKind::ConnectionRefused => Some(ConnectFailure::Refused),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            Some(ConnectFailure::Unreachable)
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            Some(ConnectFailure::Reset)
        }
        _ => None,
    }
}

/// The error tokio-rustls returns from a failed handshake.
pub(super) fn classify_tls_io(err: &io::Error) -> FetchError {
    if let Some(tls) = chain(err).find_map(|e| e.downcast_ref::<rustls::Error>()) {
        return FetchError::Tls(classify_rustls(tls));
    }
    match err.kind() {
        io::ErrorKind::UnexpectedEof => FetchError::Tls(TlsFailure::Other(
            "connection closed during handshake".into(),
        )),
        _ => match connect_failure_of(err) {
            Some(f) => FetchError::Connect(f),
            None => FetchError::Tls(TlsFailure::Other(err.to_string())),
        },
    }
}

/// rustls' verdict → the results.csv code.
pub fn classify_rustls(err: &rustls::Error) -> TlsFailure {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsFailure::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsFailure::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::NameMismatch
            }
            CertificateError::UnknownIssuer => TlsFailure::UnknownIssuer,
            other => {
                TlsFailure::Other(rustls::Error::InvalidCertificate(other.clone()).to_string())
            }
        },
        E::AlertReceived(AlertDescription::ProtocolVersion) => TlsFailure::ProtocolVersion,
        E::AlertReceived(AlertDescription::HandshakeFailure)
        | E::AlertReceived(AlertDescription::InsufficientSecurity) => TlsFailure::HandshakeFailure,
        E::PeerIncompatible(p) => match p {
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled => TlsFailure::ProtocolVersion,
            _ => TlsFailure::HandshakeFailure,
        },
        // The first bytes back were not a TLS record: a plain-text server, not a broken TLS one.
        E::InvalidMessage(
            InvalidMessage::InvalidContentType
            | InvalidMessage::UnknownProtocolVersion
            | InvalidMessage::MessageTooLarge,
        ) => TlsFailure::NotTls,
        other => TlsFailure::Other(other.to_string()),
    }
}

/// An error and its causes on one line.
fn flat(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    for cause in chain(err).skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_results_md() {
        let cases = [
            (
                FetchError::Dns(DnsFailure::NxDomain),
                "dns_error",
                "nxdomain",
            ),
            (
                FetchError::Dns(DnsFailure::NoAddress),
                "dns_error",
                "no_address",
            ),
            (
                FetchError::Connect(ConnectFailure::Refused),
                "connect_error",
                "refused",
            ),
            (
                FetchError::Tls(TlsFailure::NotYetValid),
                "tls_error",
                "not_yet_valid",
            ),
            (
                FetchError::Tls(TlsFailure::Other("x".into())),
                "tls_error",
                "other: x",
            ),
            (
                FetchError::Timeout(TimeoutPhase::TlsHandshake),
                "timeout",
                "tls_handshake",
            ),
            (
                FetchError::Http {
                    status: 404,
                    location: None,
                },
                "http_error",
                "HTTP 404",
            ),
            (FetchError::BodyTooLarge, "invalid", "body_too_large"),
        ];
        for (err, status, code) in cases {
            assert_eq!(
                (err.as_status(), err.as_error_code().as_str()),
                (status, code)
            );
        }
        let redirect = FetchError::Http {
            status: 301,
            location: Some("https://example.com/".into()),
        };
        assert_eq!(
            redirect.as_error_code(),
            "HTTP 301 Location: https://example.com/"
        );
    }

    #[test]
    fn rustls_certificate_errors_map_precisely() {
        use rustls::Error as E;
        let c = |e| classify_rustls(&E::InvalidCertificate(e));
        assert_eq!(c(CertificateError::Expired), TlsFailure::Expired);
        assert_eq!(c(CertificateError::NotValidYet), TlsFailure::NotYetValid);
        assert_eq!(
            c(CertificateError::NotValidForName),
            TlsFailure::NameMismatch
        );
        assert_eq!(
            c(CertificateError::UnknownIssuer),
            TlsFailure::UnknownIssuer
        );
        assert_eq!(
            classify_rustls(&E::AlertReceived(AlertDescription::ProtocolVersion)),
            TlsFailure::ProtocolVersion
        );
        assert_eq!(
            classify_rustls(&E::InvalidMessage(InvalidMessage::InvalidContentType)),
            TlsFailure::NotTls
        );
    }

    #[test]
    fn rustls_error_inside_io_error_is_found() {
        let io = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let wrapped = io::Error::other(io);
        assert_eq!(
            classify_tls_io(&wrapped),
            FetchError::Tls(TlsFailure::UnknownIssuer)
        );
    }
}
