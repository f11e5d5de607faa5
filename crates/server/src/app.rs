//! The application: state built once at start-up, and the server that runs it.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use gatehouse_core::store::Stores;
use gatehouse_store::SqlStore;
use tokio::net::TcpListener;

use crate::config::{Config, Database};
use crate::crypto::{MasterKey, Sealer, SecretHasher};
use crate::metrics::Metrics;
use crate::setup::{self, BootstrapCredentials, StartOptions};
use crate::signing::{self, KeyRing, KeySet};

/// How often a replica re-reads the signing keys, to follow a rotation made elsewhere
/// (`gatehouse keys rotate` or another replica). The next key is published a whole rotation
/// ahead, so verifiers already hold whatever key a peer starts signing with.
pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// How often expired sessions, codes, tickets and passwordless codes are deleted. Every
/// replica sweeps; the deletes are idempotent.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// How long a `pending` or `processing` job may go unsaved before it is failed as dead.
const STALLED_JOB: time::Duration = time::Duration::minutes(10);
/// How long dead rows stay before a sweep takes them (a used code's row, for one, still
/// tells a replay apart from a typo for that long).
const SWEEP_GRACE: time::Duration = time::Duration::days(1);

/// Everything a request handler may need, built once.
pub struct App {
    /// Validated settings.
    pub config: Config,
    /// The public base URL with a trailing slash; every token's `iss`.
    pub issuer: String,
    /// Storage.
    pub stores: Stores,
    /// The signing keys.
    pub keys: KeyRing,
    /// Seals secrets stored in the database.
    pub sealer: Arc<Sealer>,
    /// Hashes high-entropy secrets.
    pub hasher: SecretHasher,
    /// The admin dashboard's client id (`ids::dashboard_client_id`, fixed by the master key).
    pub dashboard_client_id: gatehouse_core::id::ClientId,
    /// Request metrics.
    pub metrics: Metrics,
    /// Password hashing, bounded.
    pub passwords: crate::passwords::Passwords,
    /// The tenant log writer.
    pub logs: crate::audit::LogSink,
    /// Cached reads for the token path.
    pub catalog: crate::catalog::Catalog,
    /// Request rate limits.
    pub rate_limits: crate::http::rate_limit::RateLimits,
    /// `/passwordless/start` limits: per client IP, per recipient.
    pub passwordless_limits: PasswordlessLimits,
    /// The time handlers go by (`clock.now()`, not the system clock, so tests can move it).
    pub clock: crate::clock::Clock,
    /// Outgoing HTTP (SMS gateways, Twilio), with a 30-second timeout as Auth0 uses.
    pub http: reqwest::Client,
    /// Mail and SMS queued for the background sender.
    pub outbox: crate::outbox::Outbox,
    /// Upstream identity providers: their HTTP client and what discovery told of them.
    pub upstreams: crate::upstream::Upstreams,
    /// Places for users imports running at once (`mgmt::import_run::MAX_RUNNING`).
    pub imports: Arc<tokio::sync::Semaphore>,
    /// `fetch` for Actions, when `GATEHOUSE_ACTIONS_FETCH` allows some origins.
    pub actions_fetch: Option<crate::actions::fetch::Fetcher>,
    store: SqlStore,
}

/// Limits on sending passwordless codes.
pub struct PasswordlessLimits {
    /// Per client IP.
    pub per_ip: Option<crate::http::rate_limit::Limiter>,
    /// Per recipient (email or phone number).
    pub per_recipient: Option<crate::http::rate_limit::Limiter>,
}

/// The state handed to handlers: cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    /// Connects to the database, prepares it and loads keys; `issuer` is already resolved.
    pub async fn build(
        config: Config,
        issuer: String,
    ) -> anyhow::Result<(Self, Option<BootstrapCredentials>)> {
        Self::build_with(config, issuer, StartOptions::default()).await
    }

    /// `build` with a clock and initial keys from `options` (tests).
    pub async fn build_with(
        config: Config,
        issuer: String,
        options: StartOptions,
    ) -> anyhow::Result<(Self, Option<BootstrapCredentials>)> {
        let master = match (&config.master_key, &config.database) {
            (Some(key), _) => MasterKey::parse(key.expose()).map_err(anyhow::Error::msg)?,
            (None, Database::Sqlite { path, .. }) => {
                let mut key_path = path.clone().into_os_string();
                key_path.push(".key");
                MasterKey::load_or_create(std::path::Path::new(&key_path))?
            }
            (None, Database::Postgres { .. }) => {
                anyhow::bail!("GATEHOUSE_MASTER_KEY is required with PostgreSQL")
            }
        };
        let sealer = Arc::new(Sealer::new(&master));
        let hasher = SecretHasher::new(&master);
        let store = SqlStore::connect(config.database.url()).await?;
        let stores = store.clone().into_stores();
        let prepared =
            setup::prepare(&config, &issuer, &stores, &sealer, &hasher, &options).await?;
        // Buckets in Redis when it is configured (shared by the replicas), else per process.
        let shared = match &config.redis_url {
            Some(url) => Some(Arc::new(
                crate::http::shared_buckets::SharedBuckets::new(url.expose(), &config.redis_prefix)
                    .map_err(|e| anyhow::anyhow!("GATEHOUSE_REDIS_URL: {e}"))?,
            )),
            None => None,
        };
        let limiter = |quota: Option<crate::http::rate_limit::Quota>, class: &'static str| {
            quota.map(|q| match &shared {
                Some(s) => crate::http::rate_limit::Limiter::shared(q, s.clone(), class),
                None => crate::http::rate_limit::Limiter::new(q),
            })
        };
        let metrics = Metrics::new();
        let app = App {
            logs: crate::audit::LogSink::start(stores.logs.clone(), metrics.clone()),
            catalog: crate::catalog::Catalog::new(stores.clone()),
            rate_limits: crate::http::rate_limit::RateLimits {
                auth: limiter(config.rate_limit_auth, "auth"),
                mgmt: limiter(config.rate_limit_mgmt, "mgmt"),
                public: limiter(config.rate_limit_public, "public"),
            },
            passwordless_limits: PasswordlessLimits {
                per_ip: limiter(config.rate_limit_passwordless_ip, "passwordless_ip"),
                per_recipient: limiter(
                    config.rate_limit_passwordless_recipient,
                    "passwordless_recipient",
                ),
            },
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            outbox: crate::outbox::Outbox::new(config.outbox_retry.0, config.outbox_retry.1),
            clock: options.clock,
            upstreams: crate::upstream::Upstreams::default(),
            imports: Arc::new(tokio::sync::Semaphore::new(
                crate::mgmt::import_run::MAX_RUNNING,
            )),
            actions_fetch: config
                .actions_fetch
                .clone()
                .and_then(crate::actions::fetch::Fetcher::new),
            config,
            issuer,
            stores,
            keys: KeyRing::new(prepared.keys),
            sealer,
            dashboard_client_id: crate::ids::dashboard_client_id(&hasher),
            hasher,
            metrics,
            passwords: crate::passwords::Passwords::new(),
            store,
        };
        Ok((app, prepared.new_credentials))
    }

    /// The Management API's audience, `<issuer>api/v2/`.
    pub fn management_audience(&self) -> String {
        gatehouse_core::seed::management_audience(&self.issuer).into_string()
    }

    /// The store itself (replica announcements, see `replicas`).
    pub(crate) fn store(&self) -> &SqlStore {
        &self.store
    }

    /// Closes the database pool; later storage calls fail.
    pub async fn close_storage(&self) {
        self.store.close().await;
    }

    /// Re-reads the signing keys and swaps them in if they changed.
    pub async fn refresh_keys(&self) -> anyhow::Result<bool> {
        let stored = self.stores.signing_keys.signing_keys().await?;
        if signing::fingerprint(&stored) == self.keys.get().fingerprint {
            return Ok(false);
        }
        self.keys
            .replace(KeySet::from_stored(&stored, &self.sealer)?);
        tracing::info!(kid = %self.keys.get().current.kid, "signing keys reloaded");
        Ok(true)
    }
}

/// A built server, listening but not yet serving.
pub struct Application {
    listener: Listener,
    /// `/metrics`, when `GATEHOUSE_METRICS_LISTEN` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    credentials: Option<BootstrapCredentials>,
}

impl Application {
    /// Binds the listener, prepares the database and builds the state.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, StartOptions::default()).await
    }

    /// `build` with a clock and initial keys from `options` (tests).
    pub async fn build_with(config: Config, options: StartOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let metrics_listener = match config.metrics_listen {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {a} for metrics: {e}"))?,
            ),
            None => None,
        };
        let bound = listener.local_addr()?;
        let listener = match &config.tls {
            Some(files) => Listener::Tls(crate::tls::TlsListener::new(listener, files.clone())?),
            None => Listener::Plain(listener),
        };
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{}://{bound}/", listener.scheme()));
        let (app, credentials) = App::build_with(config, issuer, options).await?;
        Ok(Application {
            listener,
            metrics_listener,
            state: AppState(Arc::new(app)),
            credentials,
        })
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The metrics listener's bound port, if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        let l = self.metrics_listener.as_ref()?;
        l.local_addr().ok().map(|a| a.port())
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `https` when gatehouse terminates TLS itself, else `http`.
    pub fn scheme(&self) -> &'static str {
        self.listener.scheme()
    }

    /// The state, for tests and the CLI.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Bootstrap credentials this start generated (first start on a new database only).
    pub fn new_bootstrap_credentials(&self) -> Option<&BootstrapCredentials> {
        self.credentials.as_ref()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let refresher = tokio::spawn(refresh_keys_periodically(self.state.clone()));
        let sweeper = tokio::spawn(sweep_periodically(self.state.clone()));
        // Mail and SMS go out here, never inside a request.
        let sender = tokio::spawn(crate::outbox::run(self.state.clone()));
        let follower = crate::replicas::follower(self.state.clone()).await;
        let router = crate::router::router(self.state.clone());
        tracing::info!(
            address = %self.local_addr()?,
            scheme = self.scheme(),
            issuer = %self.state.issuer,
            "gatehouse is serving"
        );
        // One shutdown for both listeners: the main one's signal is passed on to the metrics
        // listener (which also stops if the main server ends for any other reason).
        let (stopping, mut stop) = tokio::sync::watch::channel(());
        let metrics = self.metrics_listener.map(|l| {
            tracing::info!(address = ?l.local_addr().ok(), "serving /metrics");
            let serve = axum::serve(l, crate::router::metrics_router(self.state.clone()))
                .with_graceful_shutdown(async move {
                    stop.changed().await.ok();
                });
            tokio::spawn(serve.into_future())
        });
        // In-flight requests get `GATEHOUSE_SHUTDOWN_GRACE` to finish once the signal came;
        // whatever is still open then is cut, so a stuck client cannot hold a restart.
        let mut signalled = stopping.subscribe();
        let grace = self.state.config.shutdown_grace;
        let deadline = async move {
            signalled.changed().await.ok();
            tokio::time::sleep(grace).await;
        };
        let shutdown = async move {
            shutdown.await;
            stopping.send(()).ok();
        };
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let serving = async move {
            match self.listener {
                Listener::Plain(l) => {
                    axum::serve(l, service)
                        .with_graceful_shutdown(shutdown)
                        .await
                }
                // `tap_io` gives the TLS listener axum's `ConnectInfo<SocketAddr>` (it is only
                // implemented for plain TCP and tapped listeners); the tap itself does nothing.
                Listener::Tls(l) => {
                    axum::serve(l.tap_io(|_| ()), service)
                        .with_graceful_shutdown(shutdown)
                        .await
                }
            }
        };
        let served = tokio::select! {
            served = serving => served,
            () = deadline => {
                tracing::warn!(grace = ?grace, "requests still open after the shutdown grace were cut");
                Ok(())
            }
        };
        if let Some(m) = metrics
            && let Ok(Err(e)) = m.await
        {
            tracing::warn!(error = %e, "metrics listener failed");
        }
        refresher.abort();
        sweeper.abort();
        sender.abort();
        follower.abort();
        self.state.logs.flush().await;
        self.state.close_storage().await;
        tracing::info!("gatehouse stopped");
        served
    }
}

/// Re-reads the signing keys every `KEY_REFRESH_INTERVAL` (the net under announcements).
async fn refresh_keys_periodically(state: AppState) {
    let mut tick = tokio::time::interval(KEY_REFRESH_INTERVAL);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = state.refresh_keys().await {
            tracing::warn!(error = %e, "could not refresh signing keys");
        }
    }
}

/// Deletes what expired, and log events past their retention, at start and every
/// `SWEEP_INTERVAL`.
async fn sweep_periodically(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tick.tick().await;
        let before = state.clock.now() - SWEEP_GRACE;
        match state.stores.setup.sweep_expired(before).await {
            Ok(n) => tracing::debug!(rows = n, "swept expired rows"),
            Err(e) => tracing::warn!(error = %e, "could not sweep expired rows"),
        }
        // An import saves its counts every few hundred users: one quiet this long died with
        // its process, and its file with it.
        let stalled = state.clock.now() - STALLED_JOB;
        match state.stores.jobs.fail_stalled_jobs(stalled).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "users imports interrupted by a stop: failed"),
            Err(e) => tracing::warn!(error = %e, "could not fail stalled jobs"),
        }
        if let Some(days) = state.config.log_retention_days {
            let cut = state.clock.now() - time::Duration::days(i64::from(days));
            if let Err(e) = state.stores.logs.delete_logs_before(cut).await {
                tracing::warn!(error = %e, "could not delete old log events");
            }
        }
    }
}

/// The public listener: plain TCP, or TLS terminated here.
enum Listener {
    Plain(TcpListener),
    Tls(crate::tls::TlsListener),
}

impl Listener {
    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Listener::Plain(l) => l.local_addr(),
            Listener::Tls(l) => axum::serve::Listener::local_addr(l),
        }
    }

    fn scheme(&self) -> &'static str {
        match self {
            Listener::Plain(_) => "http",
            Listener::Tls(_) => "https",
        }
    }
}

/// A future that completes on SIGINT or SIGTERM, with both handlers installed at the call.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered now, not when the future is first polled: a SIGTERM that arrives while the
    // server starts must stop it gracefully, not kill it with the default action.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
