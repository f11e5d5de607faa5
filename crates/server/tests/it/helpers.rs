//! `spawn_app()`: a real server on 127.0.0.1 port 0 with a fresh database, and an HTTP
//! client with a cookie jar and redirects off, so flows can be stepped through.
//! `TestApp::builder()` for other databases and settings. Every test app shares one pair of
//! signing keys and has an adjustable clock (`TestApp::advance_clock`); `TEST_LOG=1` shows the
//! server's logs of a failing test.

use std::sync::{Arc, OnceLock};

use gatehouse_server::clock::Clock;
use gatehouse_server::config::{Config, Flags};
use gatehouse_server::crypto::MasterKey;
use gatehouse_server::setup::{BootstrapCredentials, StartOptions};
use gatehouse_server::{AppState, Application};
use gatehouse_store::testing::TestDatabase;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A database plus the master key its secrets are sealed with; cloning shares both, so a
/// second server (a restart, a replica) can open the same data.
#[derive(Clone)]
pub struct TestDb {
    pub db: Arc<TestDatabase>,
    pub master_key: String,
}

impl TestDb {
    pub fn sqlite() -> Self {
        Self::wrap(TestDatabase::sqlite())
    }

    /// SQLite always, and PostgreSQL when configured.
    pub async fn all() -> Vec<Self> {
        TestDatabase::all()
            .await
            .into_iter()
            .map(Self::wrap)
            .collect()
    }

    fn wrap(db: TestDatabase) -> Self {
        TestDb {
            db: Arc::new(db),
            master_key: MasterKey::generate().encode(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.db.url.starts_with("postgres")
    }

    /// Settings for a server on this database, with `extra` environment on top.
    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut env: Vec<(String, String)> = vec![
            ("GATEHOUSE_LISTEN".into(), "127.0.0.1:0".into()),
            ("GATEHOUSE_DATABASE_URL".into(), self.db.url.clone()),
            ("GATEHOUSE_MASTER_KEY".into(), self.master_key.clone()),
            ("GATEHOUSE_LOG_LEVEL".into(), "warn".into()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Config::load(&Flags::default(), |k| {
            env.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        })
        .expect("test config is valid")
    }
}

pub struct TestApp {
    pub address: String,
    /// The metrics listener's base URL, with `GATEHOUSE_METRICS_LISTEN` set.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub state: AppState,
    pub credentials: Option<BootstrapCredentials>,
    /// Keeps a temporary SQLite file alive as long as the server.
    _db: TestDb,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// A server on a fresh SQLite database.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

/// How to start a test server: `TestApp::builder().db(db).env(NAME, value).spawn()`.
#[must_use]
pub struct TestAppBuilder {
    db: Option<TestDb>,
    env: Vec<(String, String)>,
    fresh_keys: bool,
}

impl TestApp {
    /// A server on a fresh SQLite database, default settings and the shared test keys.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            db: None,
            env: Vec::new(),
            fresh_keys: false,
        }
    }
}

impl TestAppBuilder {
    /// Serve this database (a clone shares it with another server: a restart, a replica).
    pub fn db(mut self, db: TestDb) -> Self {
        self.db = Some(db);
        self
    }

    /// One setting, as the `GATEHOUSE_*` environment variable `name` would give it.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Several settings (see `env`).
    pub fn envs(self, pairs: &[(&str, &str)]) -> Self {
        pairs.iter().fold(self, |b, (k, v)| b.env(k, v))
    }

    /// Generate this server's first signing keys as production does, instead of installing
    /// the keys every test app shares: for tests about which keys a start keeps or makes.
    pub fn fresh_keys(mut self) -> Self {
        self.fresh_keys = true;
        self
    }

    /// Builds the server and serves it on a task until the `TestApp` is stopped or dropped.
    pub async fn spawn(self) -> TestApp {
        gatehouse_server::telemetry::init_for_tests();
        let db = self.db.unwrap_or_else(TestDb::sqlite);
        let extra: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let options = StartOptions {
            clock: Clock::adjustable(),
            initial_private_keys: (!self.fresh_keys).then(shared_private_keys),
        };
        let app = Application::build_with(db.config(&extra), options)
            .await
            .expect("server builds");
        let address = format!("{}://127.0.0.1:{}", app.scheme(), app.port());
        let metrics_address = app.metrics_port().map(|p| format!("http://127.0.0.1:{p}"));
        let state = app.state().clone();
        let credentials = app.new_bootstrap_credentials().cloned();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            stopped.await.ok();
        }));
        TestApp {
            address,
            metrics_address,
            client: client(),
            state,
            credentials,
            _db: db,
            stop: Some(stop),
            server: Some(server),
        }
    }
}

/// Two RSA keys (current and next) made once per test process: generating them for every
/// test app cost more than most tests.
fn shared_private_keys() -> Arc<[Vec<u8>; 2]> {
    static KEYS: OnceLock<Arc<[Vec<u8>; 2]>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = || gatehouse_server::signing::generate_private_key().expect("RSA key");
        Arc::new([key(), key()])
    })
    .clone()
}

/// The `User-Agent` the test browser sends.
pub const BROWSER: &str = "gatehouse-it/1.0";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(BROWSER)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("json body")
    }

    /// Moves the server's clock forward: what a test would otherwise sleep for.
    pub fn advance_clock(&self, by: time::Duration) {
        self.state.clock.advance(by);
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
    }
}

/// A Management API caller holding a token from the client-credentials grant.
pub struct Mgmt<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl TestApp {
    /// A token for the Management API from the bootstrap client (`scope` None: every scope).
    pub async fn mgmt_token(&self, scope: Option<&str>) -> String {
        let c = self.credentials.clone().expect("bootstrap credentials");
        self.client_credentials_token(&c.client_id, c.client_secret.expose(), &c.audience, scope)
            .await
    }

    pub async fn client_credentials_token(
        &self,
        client_id: &str,
        secret: &str,
        audience: &str,
        scope: Option<&str>,
    ) -> String {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("audience", audience),
        ];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let r = self
            .client
            .post(self.url("/oauth/token"))
            .form(&form)
            .send()
            .await
            .expect("token request");
        assert_eq!(
            r.status(),
            200,
            "token: {}",
            r.text().await.unwrap_or_default()
        );
        let body: serde_json::Value = r.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A Management API caller with every scope.
    pub async fn mgmt(&self) -> Mgmt<'_> {
        Mgmt {
            app: self,
            token: self.mgmt_token(None).await,
        }
    }
}

impl Mgmt<'_> {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .app
            .client
            .request(method, self.app.url(&format!("/api/v2{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let value = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// Asserts an Auth0 Management error body.
pub fn assert_mgmt_error(got: &(u16, serde_json::Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["statusCode"], status, "{}", got.1);
    assert_eq!(got.1["errorCode"], code, "{}", got.1);
    assert!(
        got.1["error"].is_string() && got.1["message"].is_string(),
        "{}",
        got.1
    );
}

/// The claims of a JWT, unverified (tests read what the server put in).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("JSON claims")
}

impl TestApp {
    /// Stores a passwordless code for the `email` connection as the server would after
    /// sending it (its keyed hash), for `client_id`, live for `expires_in` seconds (negative:
    /// already expired). Replaces the recipient's earlier code, as a new send does.
    pub async fn plant_email_code(
        &self,
        recipient: &str,
        code: &str,
        client_id: &str,
        expires_in: i64,
    ) {
        let now = self.state.clock.now();
        let secret = gatehouse_server::authn::otp::otp_secret("email", recipient, code);
        self.state
            .stores
            .otps
            .put_otp(&gatehouse_core::passwordless::Otp {
                id: gatehouse_server::ids::random_alphanumeric(24),
                connection: "email".into(),
                recipient: recipient.into(),
                code_hash: self.state.hasher.hash(&secret),
                client_id: client_id.into(),
                send: "code".into(),
                auth_params: serde_json::json!({}),
                attempts: 0,
                created_at: now,
                expires_at: now + time::Duration::seconds(expires_in),
            })
            .await
            .expect("plant a code");
    }
}

/// `s` percent-encoded for a query string.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A redirect's `Location`, parsed.
pub fn location(r: &reqwest::Response) -> url::Url {
    url::Url::parse(r.headers()["location"].to_str().expect("ascii")).expect("url")
}

/// A query parameter of `u`.
pub fn param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A SAML message as the HTTP-Redirect binding carries it: deflated, base64.
pub fn saml_deflated(xml: &str) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    d.write_all(xml.as_bytes()).expect("deflate");
    base64::engine::general_purpose::STANDARD.encode(d.finish().expect("deflated"))
}

/// The XML of the HTTP-Redirect message `name` (`SAMLRequest`, `SAMLResponse`) in `u`.
pub fn saml_inflated(u: &url::Url, name: &str) -> String {
    use base64::Engine;
    use std::io::Read;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(param(u, name).unwrap_or_else(|| panic!("no {name}")))
        .expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .read_to_string(&mut xml)
        .expect("deflated XML");
    xml
}

/// `query` (`SAMLRequest=...[&RelayState=...]&SigAlg=...`) with the HTTP-Redirect binding's
/// RSA-SHA256 `Signature` by `pkcs8` over exactly those bytes.
pub fn saml_signed_query(mut query: String, pkcs8: &[u8]) -> String {
    use base64::Engine;
    let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(pkcs8).expect("rsa");
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        query.as_bytes(),
        &mut sig,
    )
    .expect("sign");
    let sig = base64::engine::general_purpose::STANDARD.encode(sig);
    query.push_str(&format!("&Signature={}", enc(&sig)));
    query
}
