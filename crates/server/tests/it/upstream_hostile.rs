//! Refusals against a hostile OpenID provider: a stand-in on loopback that publishes one key
//! and answers the code exchange with an ID token broken in the way the code asks for (the
//! test passes `<mode>:<nonce>` as the code; the access token is the mode, so userinfo can
//! misbehave too). Every broken answer is refused, reported to the application as
//! `access_denied`, and makes no user.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::signing_key::KeyState;
use gatehouse_server::crypto::{MasterKey, Sealer};
use gatehouse_server::signing::{self, KeyRing, KeySet};
use serde_json::{Value, json};

use crate::helpers::{client, location, param, spawn_app};

const CB: &str = "https://app.example/cb";

struct Provider {
    base: String,
    signer: KeyRing,
    stranger: KeyRing,
    jwks: Value,
    /// A key published only once the provider has rotated to it.
    next: KeyRing,
    next_jwks: Value,
    rotated: AtomicBool,
}

fn ring(sealer: &Sealer) -> (KeyRing, Value) {
    let key = signing::generate(sealer, KeyState::Current).expect("key");
    let set = KeySet::from_stored(&[key], sealer).expect("key set");
    let jwks = set.jwks.clone();
    (KeyRing::new(set), jwks)
}

async fn token(
    State(p): State<Arc<Provider>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Json<Value> {
    let code = form
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (mode, nonce) = code.split_once(':').unwrap_or((code.as_str(), ""));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({"iss": format!("{}/", p.base), "aud": "rp-client", "sub": "mallory",
                            "nonce": nonce, "iat": now, "exp": now + 300, "email": "m@example.com"});
    match mode {
        "wrong-aud" => claims["aud"] = json!("someone-else"),
        "wrong-iss" => claims["iss"] = json!("https://evil.example/"),
        "expired" => claims["exp"] = json!(now - 3600),
        "wrong-nonce" => claims["nonce"] = json!("not-the-nonce"),
        "no-nonce" => {
            claims.as_object_mut().map(|c| c.remove("nonce"));
        }
        "token-error" => return Json(json!({"error": "invalid_grant"})),
        "no-id-token" => return Json(json!({"access_token": "at", "token_type": "Bearer"})),
        "wrong-azp" => {
            claims["aud"] = json!(["rp-client", "api"]);
            claims["azp"] = json!("api");
        }
        _ => {}
    }
    let id_token = match mode {
        "stranger-key" => p.stranger.sign(&claims).expect("sign"),
        "rotated" => {
            p.rotated.store(true, Ordering::SeqCst);
            p.next.sign(&claims).expect("sign")
        }
        "alg-none" => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ),
        "tampered" => {
            let signed = p.signer.sign(&claims).expect("sign");
            let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
            claims["sub"] = json!("admin");
            parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
            parts.join(".")
        }
        _ => p.signer.sign(&claims).expect("sign"),
    };
    Json(json!({"access_token": mode, "token_type": "Bearer", "id_token": id_token}))
}

/// The JWKS: the signing key, and the next one once rotated.
async fn publish_jwks(State(p): State<Arc<Provider>>) -> Json<Value> {
    let mut keys = p.jwks["keys"].as_array().cloned().unwrap_or_default();
    if p.rotated.load(Ordering::SeqCst) {
        keys.extend(p.next_jwks["keys"].as_array().cloned().unwrap_or_default());
    }
    Json(json!({ "keys": keys }))
}

/// Userinfo: about the ID token's subject, unless the mode says another.
async fn userinfo(headers: axum::http::HeaderMap) -> Json<Value> {
    let mode = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let sub = if mode == "userinfo-other-sub" {
        "admin"
    } else {
        "mallory"
    };
    Json(json!({"sub": sub, "name": "Mallory from userinfo", "email": "other@example.com"}))
}

async fn spawn_provider() -> Arc<Provider> {
    let sealer = Sealer::new(&MasterKey::generate());
    let (signer, jwks) = ring(&sealer);
    let (stranger, _) = ring(&sealer);
    let (next, next_jwks) = ring(&sealer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let provider = Arc::new(Provider {
        base: base.clone(),
        signer,
        stranger,
        jwks,
        next,
        next_jwks,
        rotated: AtomicBool::new(false),
    });
    let discovery = json!({
        "issuer": format!("{base}/"),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "code_challenge_methods_supported": ["S256"],
    });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks", get(publish_jwks))
        .route("/userinfo", get(userinfo))
        .route("/token", post(token))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    provider
}

#[tokio::test]
async fn broken_id_tokens_are_refused_and_make_no_user() {
    let provider = spawn_provider().await;
    let rp = spawn_app().await;
    let mgmt = rp.mgmt().await;
    let (_, app) = mgmt
        .post(
            "/clients",
            json!({"name": "Shop", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let app_id = app["client_id"].as_str().expect("id").to_owned();
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": "hostile", "strategy": "oidc", "enabled_clients": [app_id],
                   "options": {"discovery_url": format!("{}/.well-known/openid-configuration", provider.base),
                               "client_id": "rp-client", "client_secret": "s3cret"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let answer = |mode: &'static str| {
        let rp = &rp;
        let app_id = app_id.clone();
        async move {
            let browser = client();
            let url = rp.url(&format!(
                "/authorize?response_type=code&client_id={app_id}&redirect_uri={}&scope=openid&state=app-state&connection=hostile",
                url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
            ));
            let to_provider = browser.get(url).send().await.expect("authorize");
            assert_eq!(to_provider.status(), 303, "{mode}");
            let at = location(&to_provider);
            let state = param(&at, "state").expect("state");
            let nonce = param(&at, "nonce").expect("nonce");
            let callback = url::Url::parse_with_params(
                &rp.url("/login/callback"),
                &[("code", format!("{mode}:{nonce}")), ("state", state)],
            )
            .expect("url");
            let back = browser
                .get(callback.as_str())
                .send()
                .await
                .expect("callback");
            location(&back)
        }
    };
    for mode in [
        "stranger-key",
        "alg-none",
        "tampered",
        "wrong-aud",
        "wrong-iss",
        "expired",
        "wrong-nonce",
        "no-nonce",
        "wrong-azp",
        "token-error",
        "no-id-token",
        "userinfo-other-sub",
    ] {
        let at_app = answer(mode).await;
        assert_eq!(
            param(&at_app, "error").as_deref(),
            Some("access_denied"),
            "{mode}: {at_app}"
        );
        assert_eq!(
            param(&at_app, "state").as_deref(),
            Some("app-state"),
            "{mode}"
        );
        let (_, users) = mgmt.get("/users").await;
        assert_eq!(
            users.as_array().map(Vec::len),
            Some(0),
            "{mode} made a user"
        );
    }
    // Each refusal is in the tenant's logs as Auth0's failed login (`f`), with its reason.
    let (_, logs) = mgmt.get("/logs?q=type%3Af&per_page=50").await;
    let failures: Vec<&Value> = logs
        .as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["type"] == "f" && l["connection"] == "hostile")
        .collect();
    assert_eq!(failures.len(), 12, "one per refusal: {logs}");
    assert!(
        failures.iter().any(|l| l["description"]
            .as_str()
            .is_some_and(|d| d.contains("nonce"))),
        "{logs}"
    );
    // The same provider's good token logs in: the refusals above were about the tokens.
    // Userinfo fills what the ID token lacks; the ID token's claims win.
    let at_app = answer("good").await;
    assert!(param(&at_app, "code").is_some(), "{at_app}");
    let (_, users) = mgmt.get("/users").await;
    assert_eq!(users[0]["user_id"], "oidc|hostile|mallory");
    assert_eq!(users[0]["email"], "m@example.com");
    assert_eq!(users[0]["name"], "Mallory from userinfo");
    // A token signed by a key the provider published after gatehouse read its JWKS: read
    // again once, then accepted.
    let at_app = answer("rotated").await;
    assert!(param(&at_app, "code").is_some(), "{at_app}");
}
