//! HTTPS served by gatehouse itself (rustls on aws-lc-rs), for small installs without a
//! proxy and for tools that only speak https. The certificate is read from PEM files and
//! read again when they change, so a renewal (certbot, a cron job) needs no restart.
//!
//! Handshakes run on their own tasks with a deadline: a client that opens a connection and
//! never speaks TLS holds one task, never the accept loop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{ServerConfig, crypto::aws_lc_rs};
use tokio_rustls::server::TlsStream;

/// How often the certificate files are checked for a change.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the server to take them.
const READY_QUEUE: usize = 64;

/// The PEM files of the served certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads and checks both files: the key must belong to the leaf certificate.
    pub fn load(&self) -> anyhow::Result<CertifiedKey> {
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
        };
        let chain = CertificateDer::pem_slice_iter(&read(&self.cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.cert.display()))?;
        if chain.is_empty() {
            anyhow::bail!("{} holds no PEM certificate", self.cert.display());
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&self.key)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.key.display()))?;
        CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
            anyhow::anyhow!("{} with {}: {e}", self.cert.display(), self.key.display())
        })
    }

    /// What changes when either file is rewritten.
    fn stamp(&self) -> Option<[(SystemTime, u64); 2]> {
        let one = |p: &PathBuf| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        };
        Some([one(&self.cert)?, one(&self.key)?])
    }
}

fn provider() -> CryptoProvider {
    aws_lc_rs::default_provider()
}

/// The certificate served now; the reload task swaps it.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a complete Arc: the writer only swaps it.
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, key: CertifiedKey) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// A listener that yields connections whose TLS handshake has finished.
pub struct TlsListener {
    address: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl TlsListener {
    /// Serves `files`' certificate on `tcp`; fails when the files cannot be used now.
    pub fn new(tcp: TcpListener, files: TlsFiles) -> anyhow::Result<Self> {
        let address = tcp.local_addr()?;
        let current = Arc::new(Current(RwLock::new(Arc::new(files.load()?))));
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let accept = tokio::spawn(accept_loop(
            tcp,
            TlsAcceptor::from(Arc::new(config)),
            sender,
        ));
        let reload = tokio::spawn(reload_loop(files, current));
        Ok(TlsListener {
            address,
            ready,
            tasks: [accept, reload],
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped; never yield then.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.address)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            stream.set_nodelay(true).ok();
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    ready.send((tls, peer)).await.ok();
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

async fn reload_loop(files: TlsFiles, current: Arc<Current>) {
    let mut seen = files.stamp();
    let mut tick = tokio::time::interval(RELOAD_INTERVAL);
    loop {
        tick.tick().await;
        let now = files.stamp();
        if now == seen {
            continue;
        }
        seen = now;
        // A renewal that writes the certificate before the key fails here once (they do not
        // match yet) and succeeds at the next tick, when the key has changed too.
        match files.load() {
            Ok(key) => {
                current.set(key);
                tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "TLS certificate not reloaded; serving the previous one")
            }
        }
    }
}
