//! Runs the lab HTTPS server on loopback with a small fixed table, for poking with curl:
//!
//! ```text
//! cargo run --example lab_https -- 127.0.0.1:8443 /tmp/lab-ca.pem
//! curl --cacert /tmp/lab-ca.pem --resolve mta-sts.valid.test:8443:127.0.0.1 \
//!      https://mta-sts.valid.test:8443/.well-known/mta-sts.txt
//! ```
//!
//! Hosts: mta-sts.{valid,expired,notyet,wrongname,untrusted,nottls,redirect,stall}.test.
//! Stops on Ctrl-C.

use std::collections::HashMap;
use std::sync::Arc;

use stsmap::lab::https_server::{HttpsServer, HttpsSource};
use stsmap::lab::world::{BodySpec, CertSpec, HttpsSpec};

struct Table(HashMap<String, HttpsSpec>);

impl HttpsSource for Table {
    fn https(&self, host: &str) -> Option<HttpsSpec> {
        self.0.get(host).cloned()
    }
}

fn policy(cert: CertSpec) -> HttpsSpec {
    HttpsSpec {
        cert,
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: BodySpec::Bytes(
            b"version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n".to_vec(),
        ),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:8443".into());
    let ca_out = args.next().unwrap_or_else(|| "lab-ca.pem".into());
    let mut table = HashMap::new();
    for (name, cert) in [
        ("valid", CertSpec::Valid),
        ("expired", CertSpec::Expired),
        ("notyet", CertSpec::NotYetValid),
        ("wrongname", CertSpec::WrongName),
        ("untrusted", CertSpec::UntrustedCa),
        ("nottls", CertSpec::NotTls),
        ("stall", CertSpec::HandshakeStall),
    ] {
        table.insert(format!("mta-sts.{name}.test"), policy(cert));
    }
    let mut redirect = policy(CertSpec::Valid);
    redirect.status = 301;
    redirect
        .headers
        .push(("Location".into(), "https://elsewhere.test/".into()));
    table.insert("mta-sts.redirect.test".into(), redirect);

    let bind = bind
        .parse()
        .map_err(|e| std::io::Error::other(format!("{e}")))?;
    let server = HttpsServer::start_with(Arc::new(Table(table)), bind)?;
    std::fs::write(&ca_out, server.ca_pem())?;
    println!(
        "lab HTTPS on {} ; CA written to {ca_out}",
        server.local_addr()
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
