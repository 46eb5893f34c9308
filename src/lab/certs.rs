//! The lab's certificate authority: mints a leaf certificate per policy host on demand.
//!
//! ```text
//! RFC 8461 §3.3: The certificate presented by the Policy Host MUST be valid for the
//! "mta-sts" host name [...] and chain to a root CA that is trusted by the Sending MTA.
//! ```
//!
//! The lab therefore needs one CA the scanner trusts (written out with `--ca-out`,
//! passed to the scanner with `--ca-file`), a second CA it does not trust, and leaf
//! certificates that break exactly one rule each (expired, not yet valid, wrong name,
//! untrusted issuer). Keys are fresh per start; the certificates are deterministic in
//! everything but keys, signatures and validity instants (which follow the clock).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, SigningKey};

use crate::lab::world::CertSpec;

const DAY: Duration = Duration::from_secs(86_400);

/// The name put into `WrongName` certificates: valid, lab-issued, never a policy host
/// (`.invalid` is reserved by RFC 2606).
pub const WRONG_NAME: &str = "wrong-name.lab.invalid";

/// Cap on cached leaf certificates; past it the cache is emptied and refilled on demand,
/// so a 10M-domain run cannot grow the server's memory without bound.
const CACHE_CAP: usize = 500_000;

/// A self-signed CA that can sign leaves.
struct LabCa {
    pem: String,
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl LabCa {
    fn new(common_name: &str) -> Result<LabCa, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "stsmap lab");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        params.not_before = (now - 365 * DAY).into();
        params.not_after = (now + 10 * 365 * DAY).into();
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(LabCa {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }
}

/// Mints and caches the certificate each policy host presents.
pub struct CertMinter {
    trusted: LabCa,
    untrusted: LabCa,
    /// One key for every leaf: minting then costs one signature, not a key generation.
    leaf_key: KeyPair,
    leaf_signer: Arc<dyn SigningKey>,
    cache: DashMap<String, Arc<CertifiedKey>>,
}

impl std::fmt::Debug for CertMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertMinter")
            .field("cached", &self.cache.len())
            .finish()
    }
}

impl CertMinter {
    /// Makes both CAs and the shared leaf key.
    pub fn new() -> Result<CertMinter, rcgen::Error> {
        let leaf_key = KeyPair::generate()?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let leaf_signer = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|e| rcgen::Error::RingKeyRejected(e.to_string()))?;
        Ok(CertMinter {
            trusted: LabCa::new("stsmap lab CA")?,
            untrusted: LabCa::new("stsmap untrusted CA")?,
            leaf_key,
            leaf_signer,
            cache: DashMap::new(),
        })
    }

    /// PEM of the CA the scanner should trust (`lab serve --ca-out`).
    pub fn ca_pem(&self) -> &str {
        &self.trusted.pem
    }

    /// DER of the trusted CA.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.trusted.der
    }

    /// PEM of the CA nobody trusts (issuer of `UntrustedCa` leaves); for inspection only.
    pub fn untrusted_ca_pem(&self) -> &str {
        &self.untrusted.pem
    }

    /// Number of leaves currently cached.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The certificate `host` presents under `spec`, minted on first use and cached.
    /// None for behaviours that present no certificate (stall, not TLS).
    pub fn certified(
        &self,
        host: &str,
        spec: CertSpec,
    ) -> Result<Option<Arc<CertifiedKey>>, rcgen::Error> {
        if let Some(ck) = self.cache.get(host) {
            return Ok(Some(ck.clone()));
        }
        let Some(der) = self.mint(host, spec)? else {
            return Ok(None);
        };
        let ck = Arc::new(CertifiedKey::new(vec![der], self.leaf_signer.clone()));
        if self.cache.len() >= CACHE_CAP {
            self.cache.clear();
        }
        self.cache.insert(host.to_string(), ck.clone());
        Ok(Some(ck))
    }

    /// Signs a fresh leaf for `host` breaking exactly the rule `spec` names.
    pub fn mint(
        &self,
        host: &str,
        spec: CertSpec,
    ) -> Result<Option<CertificateDer<'static>>, rcgen::Error> {
        let now = SystemTime::now();
        let (name, not_before, not_after, ca) = match spec {
            CertSpec::Valid => (host, now - 30 * DAY, now + 365 * DAY, &self.trusted),
            CertSpec::Expired => (host, now - 400 * DAY, now - 30 * DAY, &self.trusted),
            CertSpec::NotYetValid => (host, now + 30 * DAY, now + 400 * DAY, &self.trusted),
            CertSpec::WrongName => (WRONG_NAME, now - 30 * DAY, now + 365 * DAY, &self.trusted),
            CertSpec::UntrustedCa => (host, now - 30 * DAY, now + 365 * DAY, &self.untrusted),
            CertSpec::HandshakeStall | CertSpec::NotTls => return Ok(None),
        };
        let mut params = CertificateParams::new(vec![name.to_string()])?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = not_before.into();
        params.not_after = not_after.into();
        params.serial_number = Some(serial(host, spec));
        let cert = params.signed_by(&self.leaf_key, &ca.issuer)?;
        Ok(Some(cert.der().clone()))
    }
}

/// A distinct serial per (host, spec): leaves share a key, so rcgen's default
/// (a hash of the public key) would give every leaf the same serial.
fn serial(host: &str, spec: CertSpec) -> SerialNumber {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(host.as_bytes());
    ctx.update(format!("{spec:?}").as_bytes());
    let mut bytes = ctx.finish().as_ref()[..16].to_vec();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// rustls hook: always presents the one leaf chosen for this connection's SNI.
#[derive(Debug)]
pub struct FixedCert(pub Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_and_not_tls_present_no_certificate() {
        let m = CertMinter::new().unwrap();
        assert!(m
            .mint("a.example", CertSpec::HandshakeStall)
            .unwrap()
            .is_none());
        assert!(m.mint("a.example", CertSpec::NotTls).unwrap().is_none());
    }

    #[test]
    fn leaves_are_cached_per_host() {
        let m = CertMinter::new().unwrap();
        let a = m.certified("a.example", CertSpec::Valid).unwrap().unwrap();
        let again = m.certified("a.example", CertSpec::Valid).unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        let b = m.certified("b.example", CertSpec::Valid).unwrap().unwrap();
        assert_ne!(a.cert[0], b.cert[0]);
        assert_eq!(m.cached(), 2);
    }

    #[test]
    fn ca_pem_is_a_certificate() {
        let m = CertMinter::new().unwrap();
        assert!(m.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(m.ca_pem(), m.untrusted_ca_pem());
    }
}
