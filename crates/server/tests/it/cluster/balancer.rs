//! HAProxy from Debian's package in front of the replicas, started on loopback by the test,
//! and driven through its runtime API (a Unix socket) as an operator drains a server.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

const BACKEND: &str = "gatehouse";

/// Where HAProxy is installed: `None` outside CI when it is not (the test then skips, and
/// says so); CI installs it, so there a missing HAProxy fails the run.
pub fn haproxy() -> Option<PathBuf> {
    let found = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin"])
        .map(|dir| Path::new(dir).join("haproxy"))
        .find(|p| p.is_file());
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    match found {
        None if ci => panic!("CI is set but haproxy is not installed (.ci/run installs it)"),
        None => eprintln!("note: haproxy is not installed: the cluster tests are skipped"),
        Some(_) => {}
    }
    found
}

/// A running HAProxy balancing HTTP over `servers` (name, port), health-checked on /readyz.
pub struct Balancer {
    socket: PathBuf,
    _child: Child,
}

impl Balancer {
    /// Starts HAProxy on `port` and waits until every server passes its health check.
    pub async fn start(binary: &Path, dir: &Path, port: u16, servers: &[(String, u16)]) -> Self {
        let socket = dir.join("haproxy.sock");
        let mut config = format!(
            "global\n  stats socket {socket} mode 600 level admin\n  maxconn 2000\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  \
             timeout server 60s\n  timeout queue 10s\n  \
             # A connection a stopped or dead server refuses is tried again on another.\n  \
             retries 3\n  option redispatch 1\n  option forwardfor\n\
             frontend public\n  bind 127.0.0.1:{port}\n  default_backend {BACKEND}\n\
             backend {BACKEND}\n  balance roundrobin\n  option httpchk GET /readyz\n  \
             default-server inter 250ms fall 2 rise 2\n",
            socket = socket.display()
        );
        for (name, server_port) in servers {
            config.push_str(&format!("  server {name} 127.0.0.1:{server_port} check\n"));
        }
        let config_path = dir.join("haproxy.cfg");
        std::fs::write(&config_path, config).expect("write haproxy.cfg");
        let log = std::fs::File::create(dir.join("haproxy.log")).expect("haproxy log");
        let child = Command::new(binary)
            .args(["-db", "-f"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn haproxy");
        let balancer = Balancer {
            socket,
            _child: child,
        };
        for (name, _) in servers {
            balancer.wait_status(name, "UP").await;
        }
        balancer
    }

    /// One runtime API command and its whole answer (the socket closes after it).
    pub async fn command(&self, command: &str) -> String {
        let started = Instant::now();
        let mut stream = loop {
            match UnixStream::connect(&self.socket).await {
                Ok(s) => break s,
                Err(e) if started.elapsed() > Duration::from_secs(10) => {
                    panic!("haproxy's socket: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        stream
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("write to haproxy");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .await
            .expect("read haproxy");
        answer
    }

    /// A field of `show stat` for one of our servers (`status`, `scur`, ...).
    pub async fn stat(&self, server: &str, field: &str) -> String {
        let csv = self.command("show stat").await;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .expect("header")
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let at = |name: &str| header.iter().position(|h| *h == name).expect("column");
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|row| row.len() > at("status") && row[0] == BACKEND && row[1] == server)
            .map(|row| row[at(field)].to_owned())
            .unwrap_or_else(|| panic!("{server} is not in haproxy's stats:\n{csv}"))
    }

    /// Waits until HAProxy's health checks put `server` in `status` (`UP`, `DOWN`, `MAINT`).
    pub async fn wait_status(&self, server: &str, status: &str) {
        let started = Instant::now();
        loop {
            let now = self.stat(server, "status").await;
            if now.starts_with(status) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{server} stayed {now} (waiting for {status})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Takes `server` out of rotation and waits for its requests in flight to finish, as an
    /// operator does before stopping it.
    pub async fn drain(&self, server: &str) {
        self.command(&format!("set server {BACKEND}/{server} state maint"))
            .await;
        self.wait_status(server, "MAINT").await;
        let started = Instant::now();
        while self.stat(server, "scur").await != "0" && started.elapsed() < Duration::from_secs(15)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Puts `server` back, once its health checks pass again.
    pub async fn restore(&self, server: &str) {
        self.command(&format!("set server {BACKEND}/{server} state ready"))
            .await;
        self.wait_status(server, "UP").await;
    }
}
