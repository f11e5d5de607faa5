//! The `gatehouse` binary as an operator meets it: start-up, settings errors, the one-time
//! credentials, the key file, the CLI commands and a graceful stop.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

pub(crate) fn gatehouse(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("GATEHOUSE_LISTEN")
        .env_remove("GATEHOUSE_ISSUER")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .env_remove("GATEHOUSE_BOOTSTRAP_CLIENT_ID")
        .env_remove("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET")
        .env_remove("GATEHOUSE_LOG_FORMAT")
        .env_remove("GATEHOUSE_LOG_LEVEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A running `gatehouse serve` on port 0, and the port it reported.
pub(crate) struct Served {
    child: Child,
    pub port: u16,
    /// Everything the server writes on stderr, complete once it exits.
    stderr: JoinHandle<String>,
}

/// Starts `cmd` (a `serve` listening on port 0) and waits for the port it bound, read from
/// its "gatehouse is serving" log line: no port is picked before the server binds it.
pub(crate) async fn serve(cmd: &mut Command) -> Served {
    let mut child = cmd.spawn().expect("spawn");
    let stream = child.stderr.take().expect("piped stderr");
    let (found, port) = oneshot::channel();
    let stderr = tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        let mut all = String::new();
        let mut found = Some(found);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(port) = serving_port(&line)
                && let Some(found) = found.take()
            {
                found.send(port).ok();
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    match tokio::time::timeout(Duration::from_secs(20), port).await {
        Ok(Ok(port)) => Served {
            child,
            port,
            stderr,
        },
        Ok(Err(_)) => panic!(
            "the server exited without serving: {}",
            stderr.await.expect("stderr")
        ),
        Err(_) => panic!("the server did not report its address within 20 s"),
    }
}

/// The port in the server's "gatehouse is serving" line, pretty (maybe coloured) or JSON.
fn serving_port(line: &str) -> Option<u16> {
    let plain = strip_ansi(line);
    if !plain.contains("gatehouse is serving") {
        return None;
    }
    let (_, rest) = plain
        .split_once("address=")
        .or_else(|| plain.split_once("\"address\":\""))?;
    let addr: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
}

/// The text without ANSI colour sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn serving_port_reads_pretty_coloured_and_json_lines() {
    let cases = [
        (
            "2026-11-28T21:00:00Z  INFO gatehouse_server::app: gatehouse is serving \
             address=127.0.0.1:41234 issuer=http://127.0.0.1:41234/",
            Some(41234),
        ),
        (
            "\u{1b}[32m INFO\u{1b}[0m gatehouse is serving \u{1b}[3maddress\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:5 x",
            Some(5),
        ),
        (
            r#"{"level":"INFO","message":"gatehouse is serving","address":"127.0.0.1:8080"}"#,
            Some(8080),
        ),
        ("serving /metrics address=127.0.0.1:9464", None),
        ("gatehouse is serving address=nowhere", None),
    ];
    for (line, want) in cases {
        assert_eq!(serving_port(line), want, "{line}");
    }
}

async fn wait_healthy(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server on port {port} never became healthy");
}

/// Sends SIGTERM and returns (exit code, stdout, stderr).
pub(crate) async fn terminate(served: Served) -> (i32, String, String) {
    let Served {
        mut child, stderr, ..
    } = served;
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops within 10 s")
        .expect("exit status");
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut out).await.expect("stdout");
    }
    let err = stderr.await.expect("stderr");
    (code.code().unwrap_or(-1), out, err)
}

#[tokio::test]
async fn first_start_prints_credentials_once_and_restarts_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(gatehouse(dir.path()).args(["serve", "--listen", "127.0.0.1:0"])).await;
    let port = served.port;
    wait_healthy(port).await;
    let (code, out, err) = terminate(served).await;
    assert_eq!(code, 0, "graceful stop exits 0; stderr: {err}");
    assert!(err.contains("gatehouse stopped"), "{err}");

    let secret_line = out
        .lines()
        .find(|l| l.contains("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET="))
        .expect("secret printed on first start");
    let secret = secret_line.split('=').nth(1).expect("value").trim();
    assert!(secret.len() >= 64);
    assert!(!err.contains(secret), "the secret never reaches the logs");
    assert!(out.contains(&format!("audience: http://127.0.0.1:{port}/api/v2/")));

    // Created in the working directory: the database and its 0600 key file.
    use std::os::unix::fs::PermissionsExt;
    assert!(dir.path().join("gatehouse.db").exists());
    let mode = std::fs::metadata(dir.path().join("gatehouse.db.key"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Another port, the same issuer: the same tenant, restarted.
    let issuer = format!("http://127.0.0.1:{port}/");
    let served = serve(gatehouse(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--issuer",
        &issuer,
    ]))
    .await;
    wait_healthy(served.port).await;
    let (code, out, _) = terminate(served).await;
    assert_eq!(code, 0);
    assert!(!out.contains("SECRET"), "not printed again: {out}");
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gatehouse(dir.path())
        .arg("serve")
        .env("GATEHOUSE_ISSUER", "https://id.example.com")
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    assert!(err.contains("GATEHOUSE_ISSUER"), "{err}");
    assert!(!dir.path().join("gatehouse.db").exists(), "nothing created");

    let out = gatehouse(dir.path())
        .args(["serve", "--log-format", "yaml"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-format"));

    let out = gatehouse(dir.path())
        .arg("serve")
        .env("GATEHOUSE_DATABASE_URL", "postgres://postgres@127.0.0.1/x")
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_MASTER_KEY"));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(
        gatehouse(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("GATEHOUSE_LOG_FORMAT", "json"),
    )
    .await;
    wait_healthy(served.port).await;
    let (code, _, err) = terminate(served).await;
    assert_eq!(code, 0);
    let mut request_logged = false;
    for line in err.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        if v["request_id"].is_string() || v["span"]["request_id"].is_string() {
            request_logged = true;
        }
    }
    assert!(request_logged, "request lines carry the request id: {err}");
}

#[tokio::test]
async fn cli_migrate_keys_and_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gatehouse(dir.path())
        .arg("version")
        .output()
        .await
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gatehouse "));

    let out = gatehouse(dir.path())
        .arg("migrate")
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let list = |out: std::process::Output| -> Vec<(String, String)> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.len() == 4 && cols[2] == "RS256")
                    .then(|| (cols[0].to_owned(), cols[1].to_owned()))
            })
            .collect()
    };
    let before = list(
        gatehouse(dir.path())
            .args(["keys", "list"])
            .output()
            .await
            .expect("run"),
    );
    let state_of = |keys: &[(String, String)], st: &str| {
        keys.iter()
            .find(|(_, s)| s == st)
            .map(|(k, _)| k.clone())
            .expect(st)
    };
    let next = state_of(&before, "next");
    let current = state_of(&before, "current");
    let after = list(
        gatehouse(dir.path())
            .args(["keys", "rotate"])
            .output()
            .await
            .expect("run"),
    );
    assert_eq!(state_of(&after, "current"), next);
    assert_eq!(state_of(&after, "previous"), current);
    assert_eq!(after.len(), 3);
}

#[tokio::test]
async fn backup_and_restore_bring_a_database_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &'static [&'static str]| {
        let mut cmd = gatehouse(dir.path());
        cmd.args(args);
        async move { cmd.output().await.expect("run") }
    };
    let ok = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The key table (the first opening also prints the new bootstrap credentials).
    let table = |listed: String| listed[listed.find("KID").expect("table")..].to_owned();
    ok(&run(&["migrate"]).await);
    let before = table(ok(&run(&["keys", "list"]).await));
    let out = ok(&run(&["backup", "copy.db"]).await);
    assert!(out.contains("copy.db.key"), "{out}");
    assert!(dir.path().join("copy.db").is_file());
    assert!(
        !run(&["backup", "copy.db"]).await.status.success(),
        "never over a file"
    );
    ok(&run(&["keys", "rotate"]).await);
    assert_ne!(table(ok(&run(&["keys", "list"]).await)), before);
    ok(&run(&["restore", "copy.db"]).await);
    assert_eq!(
        table(ok(&run(&["keys", "list"]).await)),
        before,
        "the keys are back"
    );

    // Something else is refused, and the database stays as it was.
    std::fs::write(dir.path().join("junk.db"), b"not a database").expect("write");
    let out = run(&["restore", "junk.db"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be restored"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table(ok(&run(&["keys", "list"]).await)), before);

    // PostgreSQL has its own tools.
    let out = gatehouse(dir.path())
        .args(["backup", "pg.dump"])
        .env(
            "GATEHOUSE_DATABASE_URL",
            "postgres://nobody@127.0.0.1:9/none",
        )
        .env(
            "GATEHOUSE_MASTER_KEY",
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
        )
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
}
