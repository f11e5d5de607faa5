//! Client addresses behind proxies (`GATEHOUSE_TRUSTED_PROXIES`, IPv6 /64, Auth0's
//! `auth0-forwarded-for`), the per-account back-off, Management rate-limit keys, and the
//! metrics listener (security review findings 6, 13 and 16).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::TestApp;

const DB: &str = "Username-Password-Authentication";
const PASSWORD: &str = "Sup3r-secret!";

/// A confidential client with the password grant (and `extra` settings), and a user.
async fn setup(app: &TestApp, extra: Value) -> (String, String, String) {
    let mgmt = app.mgmt().await;
    let mut body =
        json!({"name": "backend", "app_type": "regular_web", "grant_types": ["password"]});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, c) = mgmt.post("/clients", body).await;
    assert_eq!(status, 201, "{c}");
    let (status, u) = mgmt
        .post(
            "/users",
            json!({"connection": DB, "email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    (
        c["client_id"].as_str().expect("id").into(),
        c["client_secret"].as_str().unwrap_or_default().into(),
        u["user_id"].as_str().expect("id").into(),
    )
}

/// A password grant for ada with `password`, sending `headers`.
async fn login(
    app: &TestApp,
    client: &(String, String, String),
    password: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", client.0.as_str()),
        ("username", "ada@example.com"),
        ("password", password),
    ];
    if !client.1.is_empty() {
        form.push(("client_secret", client.1.as_str()));
    }
    let mut request = app.client.post(app.url("/oauth/token")).form(&form);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let r = request.send().await.expect("request");
    (r.status().as_u16(), r.json().await.expect("json"))
}

fn xff(value: &str) -> [(&str, &str); 1] {
    [("x-forwarded-for", value)]
}

#[tokio::test]
async fn behind_a_trusted_proxy_an_attacker_does_not_lock_out_the_victim() {
    let app = TestApp::builder()
        .env("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
        .spawn()
        .await;
    let client = setup(&app, json!({})).await;
    // The attacker even forges the victim's address on the left; only the right-most
    // entry not written by a trusted proxy counts.
    let attacker = "203.0.113.5, 198.51.100.7";
    for _ in 0..9 {
        assert_eq!(login(&app, &client, "wrong", &xff(attacker)).await.0, 403);
    }
    let (status, e) = login(&app, &client, "wrong", &xff(attacker)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (429, Some("too_many_attempts"))
    );
    assert_eq!(
        login(&app, &client, PASSWORD, &xff(attacker)).await.0,
        429,
        "the attacker's address is blocked"
    );
    // The victim, behind the same load balancer (and one more trusted hop).
    let (status, body) = login(&app, &client, PASSWORD, &xff("203.0.113.5, 10.1.2.3")).await;
    assert_eq!(status, 200, "{body}");
    // Logs carry the client's address, not the proxy's.
    app.state.logs.flush().await;
    let (_, logs) = app.mgmt().await.get("/logs?q=type%3Asepft").await;
    assert_eq!(logs[0]["ip"], "203.0.113.5", "{logs}");
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_the_setting_or_from_an_untrusted_peer() {
    // No setting, and a setting that does not name the actual peer (127.0.0.1).
    for trusted in ["", "10.0.0.0/8"] {
        let app = TestApp::builder()
            .envs(&[
                ("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "3"),
                ("GATEHOUSE_TRUSTED_PROXIES", trusted),
            ])
            .spawn()
            .await;
        let client = setup(&app, json!({})).await;
        // A new forged address each time buys nothing.
        for n in 1..=2 {
            let forged = format!("198.51.100.{n}");
            assert_eq!(login(&app, &client, "wrong", &xff(&forged)).await.0, 403);
        }
        let (status, _) = login(&app, &client, "wrong", &xff("198.51.100.3")).await;
        assert_eq!(status, 429, "trusted={trusted:?}");
        let (status, _) = login(&app, &client, PASSWORD, &xff("203.0.113.9")).await;
        assert_eq!(status, 429, "the peer is blocked, whatever it claims");
    }
}

#[tokio::test]
async fn per_ip_rate_limits_use_the_forwarded_client() {
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
            ("GATEHOUSE_RATE_LIMIT_AUTH", "2:0.01"),
        ])
        .spawn()
        .await;
    let get = |from: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/userinfo"))
                .header("x-forwarded-for", from)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_ne!(get("198.51.100.1").await, 429);
    assert_ne!(get("198.51.100.1").await, 429);
    assert_eq!(
        get("198.51.100.1").await,
        429,
        "one client's bucket is empty"
    );
    assert_ne!(get("198.51.100.2").await, 429, "another client has its own");
    // IPv6 clients share a bucket per /64.
    assert_ne!(get("2001:db8:1:2::1").await, 429);
    assert_ne!(get("2001:db8:1:2::2").await, 429);
    assert_eq!(get("2001:db8:1:2:ffff::3").await, 429);
    assert_ne!(get("2001:db8:1:3::1").await, 429);
}

#[tokio::test]
async fn ipv6_clients_are_counted_by_their_64() {
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
            ("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "3"),
        ])
        .spawn()
        .await;
    let client = setup(&app, json!({})).await;
    // A fresh /128 per guess is the same /64.
    for from in ["2001:db8:1:2::1", "2001:db8:1:2::2"] {
        assert_eq!(login(&app, &client, "wrong", &xff(from)).await.0, 403);
    }
    let (status, _) = login(&app, &client, "wrong", &xff("2001:db8:1:2:abcd::9")).await;
    assert_eq!(status, 429);
    let (status, _) = login(&app, &client, PASSWORD, &xff("2001:db8:1:2::77")).await;
    assert_eq!(status, 429, "the whole /64 is blocked");
    // Another /64 is another client.
    let (status, _) = login(&app, &client, PASSWORD, &xff("2001:db8:1:3::1")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn server_listening_on_ipv6_loopback_serves_and_counts_the_peer() {
    // Only where the machine has ::1.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        return;
    }
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_LISTEN", "[::1]:0"),
            ("GATEHOUSE_RATE_LIMIT_AUTH", "2:0.01"),
        ])
        .spawn()
        .await;
    let port = app.address.rsplit(':').next().expect("port").to_owned();
    let url = format!("http://[::1]:{port}/userinfo");
    let mut statuses = vec![];
    for _ in 0..3 {
        let r = app.client.get(&url).send().await.expect("request");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses[2], 429, "{statuses:?}");
    assert_ne!(statuses[0], 429);
}

#[tokio::test]
async fn auth0_forwarded_for_is_honoured_only_for_trusting_confidential_clients() {
    let app = TestApp::builder()
        .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "3")
        .spawn()
        .await;
    let trusting = setup(&app, json!({"is_token_endpoint_ip_header_trusted": true})).await;
    let mgmt = app.mgmt().await;
    let unblock = || async {
        let path = format!("/user-blocks/{}", trusting.2);
        assert_eq!(mgmt.delete(&path).await.0, 204);
    };
    let header = |ip: &'static str| [("auth0-forwarded-for", ip)];
    for _ in 0..2 {
        assert_eq!(
            login(&app, &trusting, "wrong", &header("198.51.100.7"))
                .await
                .0,
            403
        );
    }
    assert_eq!(
        login(&app, &trusting, "wrong", &header("198.51.100.7"))
            .await
            .0,
        429
    );
    let (status, body) = login(&app, &trusting, PASSWORD, &header("203.0.113.5")).await;
    assert_eq!(status, 200, "another end user is not blocked: {body}");
    app.state.logs.flush().await;
    let (_, logs) = mgmt.get("/logs?q=type%3Asepft").await;
    assert_eq!(logs[0]["ip"], "203.0.113.5", "{logs}");
    unblock().await;

    // The same header from a client that does not trust it, or cannot authenticate (a
    // public client, even with the flag), is ignored: failures count for the peer.
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "plain", "app_type": "regular_web", "grant_types": ["password"]}),
        )
        .await;
    let plain = (
        c["client_id"].as_str().expect("id").to_owned(),
        c["client_secret"].as_str().expect("secret").to_owned(),
        trusting.2.clone(),
    );
    assert_eq!(c["is_token_endpoint_ip_header_trusted"], false, "default");
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "spa", "app_type": "spa", "grant_types": ["password"],
                   "token_endpoint_auth_method": "none",
                   "is_token_endpoint_ip_header_trusted": true}),
        )
        .await;
    let public = (
        c["client_id"].as_str().expect("id").to_owned(),
        String::new(),
        trusting.2.clone(),
    );
    for untrusted in [&plain, &public] {
        for n in 0..3 {
            let ip = ["198.51.100.1", "198.51.100.2", "198.51.100.3"][n];
            let (status, body) =
                login(&app, untrusted, "wrong", &[("auth0-forwarded-for", ip)]).await;
            assert_eq!(status, if n < 2 { 403 } else { 429 }, "{body}");
        }
        let (status, _) = login(&app, untrusted, PASSWORD, &header("203.0.113.5")).await;
        assert_eq!(status, 429, "the peer is blocked");
        unblock().await;
    }
}

#[tokio::test]
async fn an_account_backs_off_after_failures_from_many_addresses() {
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
            ("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "3"),
        ])
        .spawn()
        .await;
    let client = setup(&app, json!({})).await;
    // Six guesses (twice the per-address threshold) from three addresses, none blocked.
    for from in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        for _ in 0..2 {
            assert_eq!(login(&app, &client, "wrong", &xff(from)).await.0, 403);
        }
    }
    // Now every address must wait, even with the right password.
    let (status, e) = login(&app, &client, PASSWORD, &xff("192.0.2.50")).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (429, Some("too_many_attempts")),
        "{e}"
    );
    // Attempts while waiting are not counted and do not extend the wait.
    for _ in 0..3 {
        assert_eq!(
            login(&app, &client, "wrong", &xff("192.0.2.51")).await.0,
            429
        );
    }
    app.advance_clock(time::Duration::milliseconds(1200));
    // One attempt after the first second; a failure restarts a wait twice as long
    // (`account_backoff::delay`, unit-tested), counted from the failure's end.
    assert_eq!(
        login(&app, &client, "wrong", &xff("192.0.2.52")).await.0,
        403
    );
    assert_eq!(
        login(&app, &client, PASSWORD, &xff("192.0.2.53")).await.0,
        429
    );
    app.advance_clock(time::Duration::milliseconds(2200));
    let (status, body) = login(&app, &client, PASSWORD, &xff("192.0.2.55")).await;
    assert_eq!(status, 200, "time-limited: {body}");
    // A success resets the back-off.
    assert_eq!(
        login(&app, &client, "wrong", &xff("192.0.2.56")).await.0,
        403
    );
    assert_eq!(
        login(&app, &client, PASSWORD, &xff("192.0.2.57")).await.0,
        200
    );
    app.state.logs.flush().await;
    let (_, logs) = app.mgmt().await.get("/logs?q=type%3Alimit_wc").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1, "{logs}");
}

#[tokio::test]
async fn management_buckets_belong_to_verified_callers() {
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_RATE_LIMIT_MGMT", "2:0.01"),
            ("GATEHOUSE_RATE_LIMIT_AUTH", "off"),
        ])
        .spawn()
        .await;
    let token = app.mgmt_token(None).await;
    let bootstrap = app.credentials.clone().expect("credentials").client_id;
    let audience = app.state.management_audience();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sign = |claims: Value| app.state.keys.sign(&claims).expect("sign");
    let machine = format!("{bootstrap}@clients");
    let expired = sign(
        json!({"iss": app.state.issuer, "aud": audience, "sub": machine,
        "azp": bootstrap, "iat": now - 120, "exp": now - 60, "scope": "read:clients"}),
    );
    let foreign = sign(
        json!({"iss": app.state.issuer, "aud": "https://reports.example/",
        "sub": machine, "azp": bootstrap, "iat": now, "exp": now + 60, "scope": "read:clients"}),
    );
    let call = |bearer: String, path: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&format!("/api/v2{path}")))
                .bearer_auth(bearer)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    for bad in [&expired, &foreign, &expired, &foreign] {
        let status = call(bad.clone(), "/clients".into()).await;
        assert!(matches!(status, 401 | 429), "{status}");
    }
    assert_eq!(call(token.clone(), "/clients".into()).await, 200);
    assert_eq!(
        call(token.clone(), "/clients".into()).await,
        200,
        "bad tokens charged nothing to the client's bucket"
    );
    assert_eq!(call(token.clone(), "/clients".into()).await, 429);

    // Two people using one SPA have a bucket each.
    let person = |sub: &str| {
        sign(
            json!({"iss": app.state.issuer, "aud": audience, "sub": sub, "azp": "spa-client",
            "iat": now, "exp": now + 60, "scope": "read:current_user"}),
        )
    };
    let (ada, bob) = ("auth0|ada", "auth0|bob");
    for _ in 0..2 {
        assert_ne!(call(person(ada), format!("/users/{ada}")).await, 429);
    }
    assert_eq!(call(person(ada), format!("/users/{ada}")).await, 429);
    assert_ne!(
        call(person(bob), format!("/users/{bob}")).await,
        429,
        "another user of the same application"
    );
}

#[tokio::test]
async fn metrics_are_served_only_on_the_metrics_listener() {
    let app = TestApp::builder().spawn().await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    assert!(app.metrics_address.is_none(), "off by default");
    app.stop().await;

    let app = TestApp::builder()
        .env("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:0")
        .spawn()
        .await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "not on the public port"
    );
    let metrics = app.metrics_address.clone().expect("metrics listener");
    let r = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = r.text().await.expect("text");
    assert!(text.contains(r#"route="/healthz""#), "{text}");
    let other = app
        .client
        .get(format!("{metrics}/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(other.status(), 404, "only /metrics there");
    // Both listeners stop gracefully.
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("stops");
    assert!(
        reqwest::get(format!("{metrics}/metrics")).await.is_err(),
        "the metrics listener is closed"
    );
}

#[tokio::test]
async fn bad_proxy_or_metrics_settings_stop_start_up_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, value) in [
        ("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, lb.internal"),
        ("GATEHOUSE_TRUSTED_PROXIES", "2001:db8::/129"),
        ("GATEHOUSE_METRICS_LISTEN", "9464"),
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .current_dir(dir.path())
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_MASTER_KEY")
            .env(name, value)
            .arg("serve")
            .output()
            .await
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{name}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{err}");
    }
    assert!(!dir.path().join("gatehouse.db").exists(), "nothing created");
}
