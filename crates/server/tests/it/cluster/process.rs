//! `gatehouse serve` as a child process on a port of its own, started, stopped and killed as
//! an operator (or a crash) would: the real binary, its real signal handling.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// The bootstrap client every replica seeds (the same on all, so any may mint its tokens).
pub const BOOTSTRAP_ID: &str = "cluster-bootstrap";
/// Its secret.
pub const BOOTSTRAP_SECRET: &str = "cluster-bootstrap-secret-0123456789-0123456789";

/// What every replica of one deployment shares: the database, the key sealing its secrets,
/// the public address, and a directory for the logs.
#[derive(Clone)]
pub struct Deployment {
    pub database_url: String,
    pub master_key: String,
    pub issuer: String,
    pub dir: PathBuf,
}

/// One `gatehouse serve` process, restartable on the same port.
pub struct Replica {
    pub name: String,
    pub port: u16,
    deployment: Deployment,
    child: Option<Child>,
}

/// A port nobody listens on now (the replica binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Replica {
    pub fn new(name: &str, port: u16, deployment: &Deployment) -> Self {
        Replica {
            name: name.to_owned(),
            port,
            deployment: deployment.clone(),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.deployment.dir.join(format!("{}.log", self.name))
    }

    /// Starts the process (its log appended to `<name>.log`) and waits until it is ready.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let d = &self.deployment;
        let child = Command::new(BIN)
            .arg("serve")
            .current_dir(&d.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("GATEHOUSE_ISSUER", &d.issuer)
            .env("GATEHOUSE_DATABASE_URL", &d.database_url)
            .env("GATEHOUSE_MASTER_KEY", &d.master_key)
            .env("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOTSTRAP_ID)
            .env("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOTSTRAP_SECRET)
            // The balancer is the peer; the client's address arrives in X-Forwarded-For.
            .env("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1")
            .env("GATEHOUSE_SHUTDOWN_GRACE", "10")
            .env("GATEHOUSE_LOG_FORMAT", "json")
            .env("GATEHOUSE_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn gatehouse");
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60)).await;
    }

    async fn wait_ready(&mut self, within: Duration) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = client
                .get(format!("{}/readyz", self.url()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{} exited ({status}) before it was ready:\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                started.elapsed() < within,
                "{} was not ready within {within:?}:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: no shutdown, no flush, whatever was in flight is cut.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
    }

    /// SIGTERM, as an orchestrator stops a replica, and its exit status.
    pub async fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("pid").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not stop within 30 s of SIGTERM", self.name))
            .expect("reaped")
    }

    /// Everything the process (and its earlier runs) wrote on stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}
