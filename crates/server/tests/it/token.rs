//! `POST /oauth/token` with the client-credentials grant.

use base64::Engine;
use gatehouse_core::client::{AppType, Client, ClientSettings, StoredSecret};
use gatehouse_core::resource_server::ResourceServer;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn creds(app: &TestApp) -> (String, String, String) {
    let c = app.credentials.clone().expect("bootstrap credentials");
    (c.client_id, c.client_secret.expose().to_owned(), c.audience)
}

async fn post_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("request")
}

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("json error body");
    (
        status,
        body["error"].as_str().expect("error").to_owned(),
        body["error_description"]
            .as_str()
            .expect("description")
            .to_owned(),
    )
}

/// Verifies `token` against the server's JWKS, as any resource server would.
async fn verify(app: &TestApp, token: &str, audience: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).expect("jwks");
    let kid = jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid");
    let jwk = jwks.find(&kid).expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[format!("{}/", app.address)]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("token verifies")
        .claims
}

#[tokio::test]
async fn issues_a_management_token_with_auth0_claims() {
    let app = spawn_app().await;
    let (id, secret, audience) = creds(&app);
    let r = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", &audience),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    let claims = verify(
        &app,
        body["access_token"].as_str().expect("token"),
        &audience,
    )
    .await;
    assert_eq!(claims["sub"], format!("{id}@clients"));
    assert_eq!(claims["azp"], id.as_str());
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        86400
    );
    assert_eq!(claims["scope"], body["scope"]);
    let scopes: Vec<&str> = body["scope"].as_str().expect("scope").split(' ').collect();
    assert!(scopes.contains(&"read:users") && scopes.contains(&"create:clients"));
}

#[tokio::test]
async fn accepts_json_with_nulls_and_basic_auth() {
    let app = spawn_app().await;
    let (id, secret, audience) = creds(&app);
    // auth0-python's shape: JSON, unset optionals as null, unknown fields.
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": id,
            "client_secret": secret,
            "audience": audience,
            "organization": null,
            "scope": "",
            "something_new": 1
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", &audience),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn requested_scopes_are_narrowed_to_the_grant() {
    let app = spawn_app().await;
    let (id, secret, audience) = creds(&app);
    let r = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", &audience),
            ("scope", "read:users not:a:scope"),
        ],
    )
    .await;
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["scope"], "read:users");
}

#[tokio::test]
async fn client_authentication_failures_are_401() {
    let app = spawn_app().await;
    let (id, _, audience) = creds(&app);
    for (client_id, secret) in [(id.as_str(), "wrong"), ("no-such-client", "x")] {
        let r = post_form(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("audience", &audience),
            ],
        )
        .await;
        let (status, error, _) = error_of(r).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"));
    }
    let r = post_form(
        &app,
        &[("grant_type", "client_credentials"), ("client_id", &id)],
    )
    .await;
    assert_eq!(error_of(r).await.0, 401, "no secret");

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:nope"));
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn bad_requests_are_400() {
    let app = spawn_app().await;
    let (id, secret, _) = creds(&app);
    let r = post_form(&app, &[("client_id", &id)]).await;
    let (status, error, description) = error_of(r).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    assert!(description.contains("grant_type"));

    let r = post_form(&app, &[("grant_type", "urn:nope"), ("client_id", &id)]).await;
    let (status, error, _) = error_of(r).await;
    assert_eq!((status, error.as_str()), (400, "unsupported_grant_type"));

    let r = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("request");
    assert_eq!(error_of(r).await.1, "invalid_request");

    let r = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(error_of(r).await.1, "invalid_request");

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(error_of(r).await.0, 400, "two authentication methods");

    let r = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "bad\"scope"),
        ],
    )
    .await;
    assert_eq!(error_of(r).await.1, "invalid_scope");
}

#[tokio::test]
async fn audiences_need_an_api_and_a_client_grant() {
    let app = spawn_app().await;
    let (id, secret, _) = creds(&app);
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let r = post_form(&app, &base).await;
    let (status, error, _) = error_of(r).await;
    assert_eq!(
        (status, error.as_str()),
        (403, "access_denied"),
        "no audience"
    );

    let mut with = base.to_vec();
    with.push(("audience", "https://unknown.example"));
    let (status, error, description) = error_of(post_form(&app, &with).await).await;
    assert_eq!((status, error.as_str()), (403, "access_denied"));
    assert!(
        description.starts_with("Service not found"),
        "{description}"
    );

    let now = time::OffsetDateTime::now_utc();
    app.state
        .stores
        .resource_servers
        .insert_resource_server(&ResourceServer {
            id: gatehouse_server::ids::new_resource_server_id(),
            name: "reports".into(),
            identifier: "https://reports.example".into(),
            is_system: false,
            scopes: vec![],
            signing_alg: "RS256".into(),
            token_lifetime: 600,
            allow_offline_access: false,
            enforce_policies: false,
            token_dialect: Default::default(),
            extra: Default::default(),
            created_at: now,
        })
        .await
        .expect("insert api");
    let mut with = base.to_vec();
    with.push(("audience", "https://reports.example"));
    let (status, error, description) = error_of(post_form(&app, &with).await).await;
    assert_eq!((status, error.as_str()), (403, "access_denied"));
    assert!(description.contains("client-grant"), "{description}");
}

#[tokio::test]
async fn clients_without_the_grant_type_are_unauthorized() {
    let app = spawn_app().await;
    let secret = "spa-secret-that-is-long-enough-000000000000";
    let now = time::OffsetDateTime::now_utc();
    let client = Client {
        client_id: "regular-web-app".into(),
        name: "web".into(),
        app_type: AppType::RegularWeb,
        is_system: false,
        secret: Some(StoredSecret {
            hash: app.state.hasher.hash(secret),
            sealed: app
                .state
                .sealer
                .seal("client_secret:regular-web-app", secret.as_bytes()),
        }),
        settings: ClientSettings {
            grant_types: vec!["authorization_code".into()],
            ..ClientSettings::default()
        },
        created_at: now,
        updated_at: now,
    };
    app.state
        .stores
        .clients
        .insert_client(&client)
        .await
        .expect("insert");
    let audience = creds(&app).2;
    let r = post_form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "regular-web-app"),
            ("client_secret", secret),
            ("audience", &audience),
        ],
    )
    .await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        body["error_description"],
        "Grant type 'client_credentials' not allowed for the client."
    );
    assert!(body["error_uri"].is_string());
}
