//! `gatehouse apps|apis|users|connections|roles|logs ...`: the real binary as a Management API
//! client of a running server, with the bootstrap client's credentials from the environment.

use std::path::Path;

use serde_json::Value;

use crate::binary::{gatehouse, serve, terminate};

const ID: &str = "cli-bootstrap";
const SECRET: &str = "cli-bootstrap-secret-0123456789-0123456789-0123456789";

/// Runs the CLI against the server at `port`: (exit code, stdout, stderr).
async fn cli(dir: &Path, port: u16, args: &[&str]) -> (i32, String, String) {
    let out = gatehouse(dir)
        .args(args)
        .args(["--issuer", &format!("http://127.0.0.1:{port}/")])
        .env("GATEHOUSE_BOOTSTRAP_CLIENT_ID", ID)
        .env("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", SECRET)
        .output()
        .await
        .expect("run the CLI");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn json(dir: &Path, port: u16, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let (code, out, err) = cli(dir, port, &all).await;
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
}

#[tokio::test]
async fn the_cli_lists_creates_shows_updates_and_deletes_through_the_management_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(
        gatehouse(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("GATEHOUSE_BOOTSTRAP_CLIENT_ID", ID)
            .env("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", SECRET),
    )
    .await;
    let (d, port) = (dir.path(), served.port);

    let app = json(
        d,
        port,
        &[
            "apps",
            "create",
            "--json",
            r#"{"name":"From the CLI","app_type":"spa"}"#,
        ],
    )
    .await;
    let id = app["client_id"].as_str().expect("client_id").to_owned();
    assert_eq!(app["app_type"], "spa");
    let (code, table, err) = cli(d, port, &["apps", "list"]).await;
    assert_eq!(code, 0, "{err}");
    let header = table.lines().next().expect("header");
    assert!(
        header.starts_with("CLIENT_ID") && header.contains("APP_TYPE"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("From the CLI") && l.ends_with("spa")),
        "{table}"
    );
    let renamed = json(
        d,
        port,
        &["apps", "update", &id, "--json", r#"{"name":"Renamed"}"#],
    )
    .await;
    assert_eq!(renamed["name"], "Renamed");
    let (code, shown, _) = cli(d, port, &["apps", "show", &id]).await;
    assert_eq!(code, 0);
    assert!(shown.lines().any(|l| l == "name: Renamed"), "{shown}");
    let (code, out, _) = cli(d, port, &["apps", "delete", &id]).await;
    assert_eq!((code, out.trim()), (0, format!("deleted {id}").as_str()));
    // The API's own error, not a stack trace.
    let (code, _, err) = cli(d, port, &["apps", "show", &id]).await;
    assert_eq!(code, 1);
    assert!(err.contains("404"), "{err}");

    // Users: created, found with Auth0's query syntax, shown by an id with a `|` in it.
    let user = json(
        d,
        port,
        &[
            "users",
            "create",
            "--json",
            r#"{"connection":"Username-Password-Authentication","email":"ada@example.com","password":"Sup3r-secret!"}"#,
        ],
    )
    .await;
    let user_id = user["user_id"].as_str().expect("user_id");
    let found = json(
        d,
        port,
        &["users", "list", "--q", r#"email:"ada@example.com""#],
    )
    .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let shown = json(d, port, &["users", "show", user_id]).await;
    assert_eq!(shown["email"], "ada@example.com");
    for resource in ["apis", "connections", "roles", "logs"] {
        let (code, table, err) = cli(d, port, &[resource, "list"]).await;
        assert_eq!(code, 0, "{resource}: {err}");
        assert!(table.lines().count() >= 1, "{resource}: {table}");
    }
    let connections = json(d, port, &["connections", "list"]).await;
    assert!(
        connections
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["name"] == "Username-Password-Authentication"),
        "{connections}"
    );

    // A bad body and bad credentials are clear errors.
    let (code, _, err) = cli(d, port, &["roles", "create", "--json", "[1]"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("JSON object"), "{err}");
    let out = gatehouse(d)
        .args([
            "apps",
            "list",
            "--issuer",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .env("GATEHOUSE_BOOTSTRAP_CLIENT_ID", ID)
        .env(
            "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
            "wrong-secret-0123456789-0123456789-012345",
        )
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Management API token (401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, _, err) = terminate(served).await;
    assert_eq!(code, 0, "{err}");
}
