//! The lab's HTTPS server: serves each policy host what the world says, broken or not.
//!
//! ```text
//! RFC 8461 §3.3: the Policy Host serves the policy at
//!   "https://mta-sts.<Policy Domain>/.well-known/mta-sts.txt" [...]
//! Senders MUST NOT follow HTTP redirects, [...] The certificate [...] MUST be valid
//! for the "mta-sts" host name.
//! ```
//!
//! A thin adapter: the ClientHello's SNI picks the behaviour (from [`HttpsSource`],
//! normally the [`World`]) before any byte is answered, so one address can present a
//! valid certificate, an expired one, a stalled handshake or plain-text garbage.
//! The Host header is ignored; SNI names the policy host.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::server::Acceptor;
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::LazyConfigAcceptor;

use crate::lab::certs::{CertMinter, FixedCert};
use crate::lab::world::{BodySpec, CertSpec, HttpsSpec, World};

/// The path RFC 8461 §3.3 fixes; every other path is 404.
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// How long a client may take to send its ClientHello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stalled handshake is held open before the lab gives up on it.
const STALL_LIMIT: Duration = Duration::from_secs(300);
/// Upper bound on any connection's life (a trickling body otherwise never ends).
const CONN_LIMIT: Duration = Duration::from_secs(600);
/// Pending-connection queue length (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: u32 = 4096;
/// What a `NotTls` host answers to a ClientHello.
const NOT_TLS_REPLY: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot TLS\n";

/// Where the server learns what each host serves. [`World`] is the real source;
/// tests may plug in a fixed table.
pub trait HttpsSource: Send + Sync + 'static {
    /// The spec for SNI `host` (lowercase, no trailing dot); None closes the connection.
    fn https(&self, host: &str) -> Option<HttpsSpec>;
}

impl HttpsSource for World {
    fn https(&self, host: &str) -> Option<HttpsSpec> {
        World::https(self, host)
    }
}

/// Starts lab HTTPS servers.
pub struct HttpsServer;

impl HttpsServer {
    /// Serves `world` on `bind` (loopback only). Must be called inside a tokio runtime.
    pub fn start(world: World, bind: SocketAddr) -> io::Result<HttpsServerHandle> {
        Self::start_with(Arc::new(world), bind)
    }

    /// Serves any [`HttpsSource`] on `bind` (loopback only).
    pub fn start_with(
        source: Arc<dyn HttpsSource>,
        bind: SocketAddr,
    ) -> io::Result<HttpsServerHandle> {
        if !crate::lab::may_bind(bind.ip()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}, not {bind}", crate::lab::BIND_RULE),
            ));
        }
        let minter = Arc::new(CertMinter::new().map_err(io::Error::other)?);
        let socket = if bind.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(bind)?;
        // A scanner opens hundreds of connections at once; the default 128 drops SYNs.
        let listener = socket.listen(BACKLOG)?;
        let local_addr = listener.local_addr()?;
        let mut base =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
                .map_err(io::Error::other)?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(NoCert));
        base.alpn_protocols = vec![b"http/1.1".to_vec()];
        let state = Arc::new(State {
            source,
            minter: minter.clone(),
            base: Arc::new(base),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, state, stop_rx));
        Ok(HttpsServerHandle {
            local_addr,
            minter,
            stop: stop_tx,
            task: Some(task),
        })
    }
}

/// A running server; dropping it stops it.
pub struct HttpsServerHandle {
    local_addr: SocketAddr,
    minter: Arc<CertMinter>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl HttpsServerHandle {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// PEM of the CA the scanner must trust.
    pub fn ca_pem(&self) -> &str {
        self.minter.ca_pem()
    }

    /// Leaf certificates minted so far.
    pub fn certificates_minted(&self) -> usize {
        self.minter.cached()
    }

    /// Stops accepting, closes every connection and waits for them to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for HttpsServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct State {
    source: Arc<dyn HttpsSource>,
    minter: Arc<CertMinter>,
    /// Cloned per connection with that host's certificate.
    base: Arc<ServerConfig>,
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else {
                    // EMFILE and friends: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let state = state.clone();
                let mut stop = stop.clone();
                conns.spawn(async move {
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = tokio::time::timeout(CONN_LIMIT, serve_conn(tcp, state)) => {}
                    }
                });
            }
        }
    }
    conns.shutdown().await;
}

/// Reads the ClientHello, then acts out the host's [`CertSpec`].
async fn serve_conn(mut tcp: TcpStream, state: Arc<State>) {
    let _ = tcp.set_nodelay(true);
    let acceptor = LazyConfigAcceptor::new(Acceptor::default(), &mut tcp);
    let Ok(Ok(start)) = tokio::time::timeout(HELLO_TIMEOUT, acceptor).await else {
        return;
    };
    let spec = start
        .client_hello()
        .server_name()
        .map(normalise)
        .and_then(|host| Some((state.source.https(&host)?, host)));
    let Some((spec, host)) = spec else {
        // Not a policy host of this world (or no SNI): reset, as World::https documents.
        drop(start);
        let _ = tcp.set_zero_linger();
        return;
    };
    let certified = match spec.cert {
        CertSpec::HandshakeStall => {
            drop(start);
            let _ = tokio::time::timeout(STALL_LIMIT, drain(&mut tcp)).await;
            return;
        }
        CertSpec::NotTls => {
            drop(start);
            let _ = tcp.write_all(NOT_TLS_REPLY).await;
            let _ = tcp.shutdown().await;
            return;
        }
        cert => match state.minter.certified(&host, cert) {
            Ok(Some(ck)) => ck,
            _ => return,
        },
    };
    let mut config = (*state.base).clone();
    config.cert_resolver = Arc::new(FixedCert(certified));
    let Ok(Ok(tls)) =
        tokio::time::timeout(HELLO_TIMEOUT, start.into_stream(Arc::new(config))).await
    else {
        return;
    };
    let spec = Arc::new(spec);
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let spec = spec.clone();
        async move { Ok::<_, Infallible>(respond(req.uri().path(), &spec)) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Reads and discards whatever the client sends until it gives up.
async fn drain(tcp: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = tcp.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// The response for `path` under `spec`.
pub fn respond(path: &str, spec: &HttpsSpec) -> Response<LabBody> {
    if path != POLICY_PATH {
        let mut not_found = Response::new(LabBody::full(Bytes::new()));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return not_found;
    }
    let body = match &spec.body {
        BodySpec::Bytes(bytes) => LabBody::full(Bytes::from(bytes.clone())),
        BodySpec::Oversize { len } => LabBody::full(oversize(*len)),
        BodySpec::Trickle { interval_ms } => LabBody::trickle(Duration::from_millis(*interval_ms)),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in &spec.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut broken = Response::new(LabBody::full(Bytes::new()));
        *broken.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        broken
    })
}

/// A valid-looking policy padded to exactly `len` bytes with extra `mx` lines.
fn oversize(len: usize) -> Bytes {
    let mut body = b"version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mx.example.net\n".to_vec();
    let filler = b"mx: padding.lab.invalid\n";
    while body.len() < len {
        body.extend_from_slice(filler);
    }
    body.truncate(len);
    Bytes::from(body)
}

/// The head a trickling body starts with, before its one-byte drips.
const TRICKLE_HEAD: &[u8] = b"version: STSv1\n";

/// Response body: whole, or one that drips a byte per interval forever.
pub enum LabBody {
    Full(Option<Bytes>),
    Trickle {
        head_sent: bool,
        interval: Duration,
        sleep: Pin<Box<tokio::time::Sleep>>,
    },
}

impl LabBody {
    fn full(bytes: Bytes) -> LabBody {
        LabBody::Full(Some(bytes))
    }

    fn trickle(interval: Duration) -> LabBody {
        LabBody::Trickle {
            head_sent: false,
            interval,
            sleep: Box::pin(tokio::time::sleep(interval)),
        }
    }
}

impl Body for LabBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            LabBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            LabBody::Trickle {
                head_sent,
                interval,
                sleep,
            } => {
                if !*head_sent {
                    *head_sent = true;
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(TRICKLE_HEAD)))));
                }
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        let next = tokio::time::Instant::now() + *interval;
                        sleep.as_mut().reset(next);
                        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"#")))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, LabBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            LabBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            LabBody::Full(None) => SizeHint::with_exact(0),
            LabBody::Trickle { .. } => SizeHint::default(),
        }
    }
}

/// Base config's resolver: never used (each connection gets a [`FixedCert`]).
#[derive(Debug)]
struct NoCert;

impl rustls::server::ResolvesServerCert for NoCert {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(body: BodySpec) -> HttpsSpec {
        HttpsSpec {
            cert: CertSpec::Valid,
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body,
        }
    }

    #[test]
    fn other_paths_are_not_found() {
        let r = respond("/index.html", &spec(BodySpec::Bytes(b"x".to_vec())));
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn policy_path_gets_status_headers_and_exact_length() {
        let r = respond(POLICY_PATH, &spec(BodySpec::Oversize { len: 70_000 }));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/plain");
        assert_eq!(r.body().size_hint().exact(), Some(70_000));
    }

    #[test]
    fn non_loopback_bind_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let world = World::new(crate::lab::world::Profile::Adversarial, 1);
        let err = HttpsServer::start(world, "0.0.0.0:0".parse().unwrap()).err();
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::InvalidInput));
    }
}
