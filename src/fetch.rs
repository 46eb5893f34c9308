//! The policy fetcher: `GET https://mta-sts.<domain>/.well-known/mta-sts.txt`, outcome as data.
//!
//! ```text
//! RFC 8461 §3.3: The policy is served [...] at "https://mta-sts.<Policy Domain>/
//! .well-known/mta-sts.txt". [...] The certificate presented by the Policy Host MUST be
//! valid for the "mta-sts" host name [...]. When fetching a policy, senders SHOULD
//! validate that the media type is "text/plain" [...]. HTTP 3xx redirects MUST NOT be
//! followed, and HTTP caching MUST NOT be used. Senders may wish to rate-limit the
//! frequency of attempts [...] timeouts [...] a maximum of one minute; policy bodies
//! [...] a maximum of 64 kilobytes.
//! ```
//!
//! One shared, pooled hyper client. Names are resolved through [`HostResolver`] (the
//! scanner's own DNS engine, never getaddrinfo); TCP through hyper-util's
//! `HttpConnector`; TLS through rustls (ring) in a thin connector that times and
//! classifies the handshake. Every failure comes back as a [`FetchError`] that maps
//! 1:1 onto results.csv's `policy_status` and `policy_error` (docs/results.md).

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

mod errors;
pub use errors::{ConnectFailure, DnsFailure, FetchError, TimeoutPhase, TlsFailure};

/// A boxed, sendable future (what [`HostResolver::lookup`] returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// RFC 8461 §3.3's cap on a policy body.
pub const MAX_POLICY_BODY: usize = 64 * 1024;

/// Resolves a policy host to addresses. The scanner plugs in its DNS engine; tests a table.
pub trait HostResolver: Send + Sync + 'static {
    /// A and AAAA of `host` (no trailing dot). An empty list is treated as `no_address`.
    fn lookup(&self, host: &str) -> BoxFuture<Result<Vec<IpAddr>, DnsFailure>>;
}

/// A fixed table of names → answers, with an optional answer for every other name.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    /// Per-name answers, failures included (to simulate NXDOMAIN, SERVFAIL, ...).
    pub names: std::collections::HashMap<String, Result<Vec<IpAddr>, DnsFailure>>,
    /// Answer for names not in the table; None → NXDOMAIN.
    pub fallback: Option<Vec<IpAddr>>,
}

impl StaticResolver {
    /// Every name resolves to `ip` (the lab: all policy hosts live on one address).
    pub fn everything_to(ip: IpAddr) -> StaticResolver {
        StaticResolver {
            names: Default::default(),
            fallback: Some(vec![ip]),
        }
    }
}

impl HostResolver for StaticResolver {
    fn lookup(&self, host: &str) -> BoxFuture<Result<Vec<IpAddr>, DnsFailure>> {
        let answer = match self.names.get(host) {
            Some(answer) => answer.clone(),
            None => self.fallback.clone().ok_or(DnsFailure::NxDomain),
        };
        Box::pin(std::future::ready(answer))
    }
}

/// How policies are fetched (`scan` flags).
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// `--https-port`: connect to this port instead of 443; SNI and Host stay the policy host.
    pub https_port: Option<u16>,
    /// Bound on establishing TCP (all addresses together).
    pub connect_timeout: Duration,
    /// Bound on the TLS handshake once TCP is up.
    pub tls_timeout: Duration,
    /// `--timeout`: bound on the whole fetch, DNS to last body byte (RFC: at most a minute).
    pub timeout: Duration,
    /// Bodies longer than this are `body_too_large`.
    pub max_body: usize,
    /// `--ca-file` contents: PEM CA certificates trusted besides webpki-roots.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Idle connections kept per policy host after a fetch (0: close when done).
    pub max_idle_per_host: usize,
    /// Fetches in progress at once (TLS handshakes cost CPU; the rest wait their turn).
    pub max_concurrent: usize,
}

impl Default for FetchConfig {
    fn default() -> FetchConfig {
        FetchConfig {
            https_port: None,
            connect_timeout: Duration::from_secs(10),
            tls_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            max_body: MAX_POLICY_BODY,
            extra_ca_pem: Vec::new(),
            max_idle_per_host: 0,
            max_concurrent: 128,
        }
    }
}

/// Status line facts of a response that arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMeta {
    /// `policy_http_status`.
    pub status: u16,
    /// `policy_content_type`: the header as sent (recorded, not judged).
    pub content_type: Option<String>,
}

/// What one fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// HTTP 200 with a complete body of at most `max_body` bytes (not yet parsed).
    Ok {
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// No policy body; `response` is set when a response head arrived.
    Failed {
        error: FetchError,
        response: Option<ResponseMeta>,
    },
}

impl FetchOutcome {
    /// `policy_http_status`, when a response arrived.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchOutcome::Ok { .. } => Some(200),
            FetchOutcome::Failed { response, .. } => response.as_ref().map(|r| r.status),
        }
    }

    /// `policy_content_type`, as sent.
    pub fn content_type(&self) -> Option<&str> {
        match self {
            FetchOutcome::Ok { content_type, .. } => content_type.as_deref(),
            FetchOutcome::Failed { response, .. } => {
                response.as_ref().and_then(|r| r.content_type.as_deref())
            }
        }
    }

    /// The failure, if any.
    pub fn error(&self) -> Option<&FetchError> {
        match self {
            FetchOutcome::Ok { .. } => None,
            FetchOutcome::Failed { error, .. } => Some(error),
        }
    }

    /// The `policy_status` cell of a failure; None for a body (the policy parser decides).
    pub fn as_status(&self) -> Option<&'static str> {
        self.error().map(FetchError::as_status)
    }

    /// The `policy_error` cell of a failure; None for a body.
    pub fn as_error_code(&self) -> Option<String> {
        self.error().map(FetchError::as_error_code)
    }

    fn failed(error: FetchError) -> FetchOutcome {
        FetchOutcome::Failed {
            error,
            response: None,
        }
    }
}

/// Setting up the fetcher failed (bad `--ca-file`).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("CA file is not PEM certificates: {0}")]
    BadPem(String),
    #[error("CA certificate rejected: {0}")]
    BadCa(String),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// The shared policy fetcher; cheap to share behind an `Arc`, safe to call concurrently.
pub struct PolicyFetcher {
    client: Client<PolicyConnector, Empty<Bytes>>,
    config: FetchConfig,
    /// Bounds fetches in progress; a fetch's timeout starts once it holds a permit,
    /// so a burst of policy domains queues instead of timing out in the queue.
    permits: Arc<tokio::sync::Semaphore>,
}

impl PolicyFetcher {
    /// Builds the client: webpki-roots + `config.extra_ca_pem`, TLS 1.2/1.3, HTTP/1.1.
    pub fn new(config: FetchConfig, resolver: Arc<dyn HostResolver>) -> Result<Self, SetupError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for pem in &config.extra_ca_pem {
            let mut found = false;
            for der in CertificateDer::pem_slice_iter(pem) {
                let der = der.map_err(|e| SetupError::BadPem(e.to_string()))?;
                roots
                    .add(der)
                    .map_err(|e| SetupError::BadCa(e.to_string()))?;
                found = true;
            }
            if !found {
                return Err(SetupError::BadPem("no certificate found".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let mut tcp = HttpConnector::new_with_resolver(ResolverService(resolver));
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        tcp.set_nodelay(true);
        let connector = PolicyConnector {
            tcp,
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            tls_timeout: config.tls_timeout,
        };
        // Every domain has its own policy host, so an idle connection is almost never
        // reused; keeping one per host would pile up sockets during a scan. The pool
        // still shares the connector, TLS config and session cache across fetches.
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(config.max_idle_per_host)
            .build(connector);
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
        Ok(PolicyFetcher {
            client,
            config,
            permits,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Fetches the policy of `domain` (normalised, without `mta-sts.`), bounded by `config.timeout`.
    pub async fn fetch_policy(&self, domain: &str) -> FetchOutcome {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let phase = Arc::new(AtomicU8::new(Phase::Resolving as u8));
        let deadline = Instant::now() + self.config.timeout;
        PHASE
            .scope(phase.clone(), self.fetch(domain, deadline, &phase))
            .await
    }

    async fn fetch(&self, domain: &str, deadline: Instant, phase: &AtomicU8) -> FetchOutcome {
        let host = format!("mta-sts.{domain}");
        let authority = match self.config.https_port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let request = Request::get(format!("https://{authority}/.well-known/mta-sts.txt"))
            .header(HOST, host.as_str())
            .header(USER_AGENT, concat!("stsmap/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new());
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                return FetchOutcome::failed(FetchError::Connect(ConnectFailure::Other(format!(
                    "invalid policy URL: {e}"
                ))))
            }
        };
        let response = match timeout_at(deadline, self.client.request(request)).await {
            Err(_elapsed) => return FetchOutcome::failed(Phase::load(phase).timed_out()),
            Ok(Err(e)) => return FetchOutcome::failed(errors::classify_client(&e)),
            Ok(Ok(r)) => r,
        };
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let meta = ResponseMeta {
            status: response.status().as_u16(),
            content_type: header(CONTENT_TYPE),
        };
        if meta.status != 200 {
            let error = FetchError::Http {
                status: meta.status,
                location: header(LOCATION),
            };
            return FetchOutcome::Failed {
                error,
                response: Some(meta),
            };
        }
        let mut body = response.into_body();
        let mut buf = Vec::new();
        let failure = loop {
            match timeout_at(deadline, body.frame()).await {
                Err(_elapsed) => break FetchError::Timeout(TimeoutPhase::Body),
                Ok(None) => {
                    return FetchOutcome::Ok {
                        content_type: meta.content_type,
                        body: buf,
                    }
                }
                Ok(Some(Err(e))) => break errors::classify_body(&e),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if buf.len() + data.len() > self.config.max_body {
                            break FetchError::BodyTooLarge;
                        }
                        buf.extend_from_slice(&data);
                    }
                }
            }
        };
        FetchOutcome::Failed {
            error: failure,
            response: Some(meta),
        }
    }
}

/// Where a fetch stands, so the whole-request timeout can say what it interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Resolving = 0,
    Connecting = 1,
    Handshaking = 2,
    /// TLS up (or a pooled connection reused): waiting for the response head.
    Requesting = 3,
}

impl Phase {
    fn load(cell: &AtomicU8) -> Phase {
        match cell.load(Ordering::Relaxed) {
            0 => Phase::Resolving,
            1 => Phase::Connecting,
            2 => Phase::Handshaking,
            _ => Phase::Requesting,
        }
    }

    fn timed_out(self) -> FetchError {
        match self {
            Phase::Resolving => FetchError::Dns(DnsFailure::Timeout),
            Phase::Connecting => FetchError::Timeout(TimeoutPhase::Connect),
            Phase::Handshaking => FetchError::Timeout(TimeoutPhase::TlsHandshake),
            Phase::Requesting => FetchError::Timeout(TimeoutPhase::Response),
        }
    }
}

tokio::task_local! {
    /// The phase of the fetch polling the connector. hyper-util polls a new connection's
    /// connect future inside the request future, hence inside this scope.
    static PHASE: Arc<AtomicU8>;
}

fn set_phase(phase: Phase) {
    let _ = PHASE.try_with(|cell| cell.store(phase as u8, Ordering::Relaxed));
}

/// tower adapter: hyper-util's `Resolve` over our [`HostResolver`].
#[derive(Clone)]
struct ResolverService(Arc<dyn HostResolver>);

impl tower_service::Service<Name> for ResolverService {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = DnsFailure;
    type Future = BoxFuture<Result<Self::Response, DnsFailure>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), DnsFailure>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.0.lookup(name.as_str());
        Box::pin(async move {
            set_phase(Phase::Resolving);
            let addrs = lookup.await?;
            if addrs.is_empty() {
                return Err(DnsFailure::NoAddress);
            }
            set_phase(Phase::Connecting);
            // Port 0: HttpConnector puts the URL's port (or 443) in.
            let addrs: Vec<SocketAddr> = addrs.into_iter().map(|ip| (ip, 0).into()).collect();
            Ok(addrs.into_iter())
        })
    }
}

/// TCP through HttpConnector, then a timed rustls handshake with SNI = the URL's host.
#[derive(Clone)]
struct PolicyConnector {
    tcp: HttpConnector<ResolverService>,
    tls: tokio_rustls::TlsConnector,
    tls_timeout: Duration,
}

type Conn = MaybeHttpsStream<TokioIo<TcpStream>>;

impl tower_service::Service<Uri> for PolicyConnector {
    type Response = Conn;
    type Error = FetchError;
    type Future = BoxFuture<Result<Conn, FetchError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), FetchError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let tls = self.tls.clone();
        let tls_timeout = self.tls_timeout;
        Box::pin(async move {
            let host = uri.host().unwrap_or_default().to_string();
            let name = ServerName::try_from(host)
                .map_err(|e| FetchError::Tls(TlsFailure::Other(e.to_string())))?;
            let stream = tower_service::Service::call(&mut tcp, uri)
                .await
                .map_err(|e| errors::classify_connect(&e))?;
            set_phase(Phase::Handshaking);
            let handshake = tls.connect(name, TokioIo::new(stream));
            match tokio::time::timeout(tls_timeout, handshake).await {
                Err(_elapsed) => Err(FetchError::Timeout(TimeoutPhase::TlsHandshake)),
                Ok(Err(e)) => Err(errors::classify_tls_io(&e)),
                Ok(Ok(tls_stream)) => {
                    set_phase(Phase::Requesting);
                    Ok(MaybeHttpsStream::from(tls_stream))
                }
            }
        })
    }
}

/// `io::Error` hides its payload from `source()`; look at both.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(err);
    std::iter::from_fn(move || {
        let cur = next?;
        next = match cur.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cur.source(),
        };
        Some(cur)
    })
}
