//! `GATEHOUSE_TLS_CERT`/`GATEHOUSE_TLS_KEY`: gatehouse serves HTTPS itself, with an https
//! issuer, and picks up a renewed certificate without a restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_server::Application;
use gatehouse_server::setup::StartOptions;
use tokio::io::AsyncWriteExt;

use crate::helpers::{TestApp, TestDb};

/// A self-signed certificate for 127.0.0.1 and localhost, as PEM (certificate, key).
fn self_signed(name: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    (
        pem("CERTIFICATE", cert.der()),
        pem("PRIVATE KEY", &key.serialize_der()),
    )
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A client that trusts only `cert_pem`.
fn trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("cert")])
        .build()
        .expect("client")
}

/// Whether a new client trusting only `cert_pem` gets an answer from `url`: a new client, as
/// one that connected before may resume its TLS session without seeing the certificate again.
async fn accepted_with(cert_pem: &str, url: &str) -> bool {
    trusting(cert_pem).get(url).send().await.is_ok()
}

struct Files {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new(pair: &(String, String)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = Files {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        };
        files.write(pair);
        files
    }

    fn write(&self, (cert, key): &(String, String)) {
        std::fs::write(&self.cert, cert).expect("write cert");
        std::fs::write(&self.key, key).expect("write key");
    }

    fn env(&self) -> [(&'static str, String); 2] {
        let s = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
        [
            ("GATEHOUSE_TLS_CERT", s(&self.cert)),
            ("GATEHOUSE_TLS_KEY", s(&self.key)),
        ]
    }
}

async fn spawn_tls(files: &Files) -> TestApp {
    let [(c, cv), (k, kv)] = files.env();
    TestApp::builder().env(c, &cv).env(k, &kv).spawn().await
}

#[tokio::test]
async fn serves_https_with_an_https_issuer_and_secure_cookies() {
    let pair = self_signed("first");
    let files = Files::new(&pair);
    let app = spawn_tls(&files).await;
    assert!(
        app.address.starts_with("https://127.0.0.1:"),
        "{}",
        app.address
    );
    let client = trusting(&pair.0);

    let r = client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("https request");
    assert_eq!(r.status(), 200);
    let discovery: serde_json::Value = r.json().await.expect("json");
    assert_eq!(discovery["issuer"], format!("{}/", app.address));
    assert!(
        discovery["token_endpoint"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{discovery}"
    );

    // The Management API works over it, and the login transaction's cookie is Secure now
    // that the issuer is https.
    let mut app = app;
    app.client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pair.0.as_bytes()).expect("cert")])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let m = app.mgmt().await;
    let (status, created) = m
        .post(
            "/clients",
            serde_json::json!({"name": "spa", "app_type": "spa",
                "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = app
        .get(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&code_challenge_method=S256&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            created["client_id"].as_str().expect("client_id")
        ))
        .await;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(!cookies.is_empty(), "a login transaction starts");
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );

    // Plain HTTP on the TLS port gets no page, and the server keeps serving.
    let plain = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/.well-known/openid-configuration",
            port(&app)
        ))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() == 400));
    let r = client.get(app.url("/.well-known/jwks.json")).send().await;
    assert_eq!(r.expect("jwks").status(), 200);
}

fn port(app: &TestApp) -> u16 {
    app.address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_blocks_nobody() {
    let pair = self_signed("slow");
    let files = Files::new(&pair);
    let app = spawn_tls(&files).await;
    // Several connections that stay silent, and one that sends half a ClientHello.
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port(&app)))
                .await
                .expect("connect"),
        );
    }
    idle[0]
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("write");

    let r = tokio::time::timeout(
        Duration::from_secs(5),
        trusting(&pair.0)
            .get(app.url("/.well-known/openid-configuration"))
            .send(),
    )
    .await
    .expect("answered while other handshakes hang")
    .expect("https request");
    assert_eq!(r.status(), 200);
    drop(idle);
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let first = self_signed("first");
    let second = self_signed("second");
    let files = Files::new(&first);
    let app = spawn_tls(&files).await;
    let discovery = app.url("/.well-known/openid-configuration");
    assert!(accepted_with(&first.0, &discovery).await);
    assert!(!accepted_with(&second.0, &discovery).await);

    // A broken half-written renewal is refused; the first certificate stays in service.
    std::fs::write(&files.cert, "not a certificate").expect("write");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        accepted_with(&first.0, &discovery).await,
        "old certificate kept"
    );

    files.write(&second);
    let mut renewed = false;
    for _ in 0..50 {
        if accepted_with(&second.0, &discovery).await {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(renewed, "the new certificate is served within ten seconds");
    assert!(
        !accepted_with(&first.0, &discovery).await,
        "the old one is gone"
    );
}

#[tokio::test]
async fn half_a_pair_or_unusable_files_stop_the_start_with_a_clear_error() {
    let db = TestDb::sqlite();
    let err = gatehouse_server::config::Config::load(&Default::default(), |k| {
        (k == "GATEHOUSE_TLS_CERT").then(|| "/tmp/cert.pem".to_owned())
    })
    .expect_err("a certificate without a key");
    assert_eq!(err.setting, "GATEHOUSE_TLS_KEY");

    let first = self_signed("first");
    let other = self_signed("other");
    let files = Files::new(&first);
    // The key of another certificate.
    std::fs::write(&files.key, &other.1).expect("write");
    let env = files.env();
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let err = Application::build_with(db.config(&refs), StartOptions::default())
        .await
        .err()
        .expect("mismatched key refused");
    assert!(err.to_string().contains("key.pem"), "{err}");

    std::fs::remove_file(&files.key).expect("remove");
    let err = Application::build_with(db.config(&refs), StartOptions::default())
        .await
        .err()
        .expect("missing key refused");
    assert!(err.to_string().contains("cannot read"), "{err}");
}
