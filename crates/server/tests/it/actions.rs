//! Auth0 Actions through the Management API and real token requests: Auth0's examples run
//! unchanged (claims, deny, app_metadata, M2M claims), secrets stay sealed, and hostile
//! actions fail the request cleanly while the server goes on.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, jwt_claims, spawn_app};

/// Creates, deploys and binds `code` to `trigger` (replacing the flow); returns the action.
pub async fn bound(m: &Mgmt<'_>, trigger: &str, name: &str, code: &str, secrets: Value) -> Value {
    let (status, action) = m
        .post(
            "/actions/actions",
            json!({"name": name, "supported_triggers": [{"id": trigger, "version": "v3"}],
                   "code": code, "secrets": secrets, "deploy": true}),
        )
        .await;
    assert_eq!(status, 201, "{action}");
    let (status, flow) = m
        .send(
            Method::PATCH,
            &format!("/actions/triggers/{trigger}/bindings"),
            Some(json!({"bindings": [{"ref": {"type": "action_name", "value": name}, "display_name": name}]})),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    action
}

/// A password-grant application and two users, ada@example.com and eve@evil.example.
pub async fn web_app(m: &Mgmt<'_>) -> Value {
    let (_, web) = m
        .post(
            "/clients",
            json!({"name": "web", "app_type": "regular_web", "grant_types": ["password"]}),
        )
        .await;
    for email in ["ada@example.com", "eve@evil.example"] {
        m.post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": email,
                   "password": "Sup3r-secret!"}),
        )
        .await;
    }
    web
}

/// A password-grant login of `email` to `web`.
pub async fn login(app: &TestApp, web: &Value, email: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", web["client_id"].as_str().expect("id")),
            (
                "client_secret",
                web["client_secret"].as_str().expect("secret"),
            ),
            ("username", email),
            ("password", "Sup3r-secret!"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .expect("login");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn post_login_actions_add_claims_deny_and_keep_metadata() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let web = web_app(&m).await;
    // Auth0's examples, as written: roles into the tokens, and app_metadata.
    let action = bound(
        &m,
        "post-login",
        "add-roles",
        "exports.onExecutePostLogin = async (event, api) => {
           const namespace = 'https://my-app.example.com';
           const roles = event.authorization.roles.concat([event.secrets.TIER]);
           api.idToken.setCustomClaim(`${namespace}/roles`, roles);
           api.accessToken.setCustomClaim(`${namespace}/roles`, roles);
           api.idToken.setCustomClaim('sub', 'someone-else');
           api.user.setAppMetadata('last_action_login', event.client.name);
         };",
        json!([{"name": "TIER", "value": "gold"}]),
    )
    .await;
    assert_eq!(
        action["secrets"],
        json!([{"name": "TIER", "updated_at": action["secrets"][0]["updated_at"]}]),
        "a secret's value is never shown"
    );
    assert_eq!(action["deployed_version"]["number"], 1);
    // `event.authorization.roles`: the user's RBAC roles.
    let (_, role) = m.post("/roles", json!({"name": "editor"})).await;
    let (_, found) = m.get("/users-by-email?email=ada%40example.com").await;
    let ada = found[0]["user_id"]
        .as_str()
        .expect("ada")
        .replace('|', "%7C");
    let (status, _) = m
        .post(
            &format!("/users/{ada}/roles"),
            json!({"roles": [role["id"]]}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, tokens) = login(&app, &web, "ada@example.com").await;
    assert_eq!(status, 200, "{tokens}");
    let id = jwt_claims(tokens["id_token"].as_str().expect("id"));
    let access = jwt_claims(tokens["access_token"].as_str().expect("access"));
    assert_eq!(
        id["https://my-app.example.com/roles"],
        json!(["editor", "gold"])
    );
    assert_eq!(
        access["https://my-app.example.com/roles"],
        json!(["editor", "gold"])
    );
    assert_ne!(
        id["sub"], "someone-else",
        "reserved claims are not the action's to set"
    );
    let user = id["sub"].as_str().expect("sub").replace('|', "%7C");
    let (_, u) = m.get(&format!("/users/{user}")).await;
    assert_eq!(u["app_metadata"]["last_action_login"], "web");

    // Deny by email domain (Auth0's example): the login is refused with the reason.
    bound(
        &m,
        "post-login",
        "deny-domain",
        "exports.onExecutePostLogin = async (event, api) => {
           if (event.user.email && event.user.email.endsWith('@evil.example')) {
             api.access.deny('Access from evil.example is not allowed.');
           }
         };",
        json!([]),
    )
    .await;
    let (status, e) = login(&app, &web, "eve@evil.example").await;
    assert_eq!(status, 403, "{e}");
    assert_eq!(e["error"], "access_denied");
    assert_eq!(
        e["error_description"],
        "Access from evil.example is not allowed."
    );
    assert_eq!(login(&app, &web, "ada@example.com").await.0, 200);
}

#[tokio::test]
async fn hostile_actions_fail_the_login_not_the_server() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let web = web_app(&m).await;
    for (name, code) in [
        (
            "spin",
            "exports.onExecutePostLogin = async () => { while (true) {} };",
        ),
        (
            "hog",
            "exports.onExecutePostLogin = async () => { const a = []; while (true) { a.push('x'.repeat(4e6)); } };",
        ),
        (
            "throw",
            "exports.onExecutePostLogin = async () => { throw new Error('boom'); };",
        ),
        (
            "mfa",
            "exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('any'); };",
        ),
    ] {
        bound(&m, "post-login", name, code, json!([])).await;
        let started = std::time::Instant::now();
        let (status, e) = login(&app, &web, "ada@example.com").await;
        assert_eq!(
            (status, e["error"].as_str()),
            (403, Some("access_denied")),
            "{name}: {e}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name}"
        );
        // The server still answers everyone else at once.
        assert_eq!(
            app.get("/.well-known/openid-configuration").await.status(),
            200
        );
    }
    // An empty flow: logins work again.
    let (status, _) = m
        .send(
            Method::PATCH,
            "/actions/triggers/post-login/bindings",
            Some(json!({"bindings": []})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(login(&app, &web, "ada@example.com").await.0, 200);
}

#[tokio::test]
async fn deploying_checks_the_code_and_refuses_npm_modules() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let trigger = json!([{"id": "post-login", "version": "v3"}]);
    let (_, broken) = m
        .post("/actions/actions", json!({"name": "broken", "supported_triggers": trigger,
                                          "code": "exports.onExecutePostLogin = async (event, api) => {"}))
        .await;
    let r = m
        .post(
            &format!(
                "/actions/actions/{}/deploy",
                broken["id"].as_str().expect("id")
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.0, 400, "{}", r.1);
    let (_, npm) = m
        .post(
            "/actions/actions",
            json!({"name": "npm", "supported_triggers": trigger,
                                          "code": "const axios = require('axios');",
                                          "dependencies": [{"name": "axios", "version": "1.7.0"}]}),
        )
        .await;
    let r = m
        .post(
            &format!(
                "/actions/actions/{}/deploy",
                npm["id"].as_str().expect("id")
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(
        r.1["message"].as_str().expect("message").contains("npm"),
        "{}",
        r.1
    );
    // A module required without being declared is refused at deploy too, not at login.
    let (status, undeclared) = m
        .send(
            Method::PATCH,
            &format!("/actions/actions/{}", npm["id"].as_str().expect("id")),
            Some(json!({"dependencies": [],
                        "code": "const crypto = require('crypto'); exports.onExecutePostLogin = async () => {};"})),
        )
        .await;
    assert_eq!(status, 200, "{undeclared}");
    let r = m
        .post(
            &format!(
                "/actions/actions/{}/deploy",
                npm["id"].as_str().expect("id")
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(
        r.1["message"]
            .as_str()
            .expect("message")
            .contains("require('crypto') is not supported"),
        "{}",
        r.1
    );
    // Not deployed, so not bindable; an unknown trigger is refused.
    let (status, _) = m
        .send(
            Method::PATCH,
            "/actions/triggers/post-login/bindings",
            Some(json!({"bindings": [{"ref": {"type": "action_name", "value": "broken"}}]})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = m
        .post(
            "/actions/actions",
            json!({"name": "x", "supported_triggers": [{"id": "send-phone-message"}]}),
        )
        .await;
    assert_eq!(status, 400);
    let (_, list) = m.get("/actions/actions?page=0&per_page=100").await;
    assert_eq!(list["total"], 2, "{list}");
    // The test endpoint runs the draft.
    let (_, ok) = m
        .post("/actions/actions", json!({"name": "tested", "supported_triggers": trigger,
                                          "code": "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://x/e', event.user.email); };"}))
        .await;
    let (status, out) = m
        .post(
            &format!("/actions/actions/{}/test", ok["id"].as_str().expect("id")),
            json!({"payload": {"user": {"email": "t@example.com"}}}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["payload"]["idToken"]["https://x/e"], "t@example.com");
    // Deleting a bound action needs force.
    let (status, _) = m
        .delete(&format!(
            "/actions/actions/{}",
            broken["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn credentials_exchange_actions_shape_machine_tokens() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    bound(
        &m,
        "credentials-exchange",
        "m2m",
        "exports.onExecuteCredentialsExchange = async (event, api) => {
           if (event.client.name === 'blocked') { api.access.deny('invalid_request', 'This client is retired.'); }
           api.accessToken.setCustomClaim('https://my-api.example.com/client', event.client.name);
         };",
        json!([]),
    )
    .await;
    let creds = app.credentials.clone().expect("bootstrap");
    let token = app
        .client_credentials_token(
            &creds.client_id,
            creds.client_secret.expose(),
            &creds.audience,
            None,
        )
        .await;
    let claims = jwt_claims(&token);
    assert!(
        claims["https://my-api.example.com/client"].is_string(),
        "{claims}"
    );
}

#[tokio::test]
async fn pre_user_registration_actions_refuse_or_enrich_sign_ups() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (_, web) = m
        .post(
            "/clients",
            json!({"name": "web", "app_type": "spa", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    bound(
        &m,
        "pre-user-registration",
        "gate",
        "exports.onExecutePreUserRegistration = async (event, api) => {
           if (event.user.email.endsWith('@spam.example')) {
             api.access.deny('spam_domain', 'Sign-ups from this domain are not allowed.');
             return;
           }
           api.user.setAppMetadata('plan', 'trial');
           api.user.setUserMetadata('source', event.connection.name);
         };",
        json!([]),
    )
    .await;
    let signup = |email: &'static str| {
        let app = &app;
        let client_id = web["client_id"].as_str().expect("id").to_owned();
        async move {
            let r = app
                .client
                .post(app.url("/dbconnections/signup"))
                .json(
                    &json!({"client_id": client_id, "email": email, "password": "Sup3r-secret!",
                              "connection": "Username-Password-Authentication"}),
                )
                .send()
                .await
                .expect("signup");
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, e) = signup("bot@spam.example").await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["code"], "extensibility_error");
    assert_eq!(
        e["description"],
        "Sign-ups from this domain are not allowed."
    );
    let (_, none) = m.get("/users-by-email?email=bot%40spam.example").await;
    assert_eq!(none, json!([]), "no user was made");

    let (status, made) = signup("new@example.com").await;
    assert_eq!(status, 200, "{made}");
    let (_, found) = m.get("/users-by-email?email=new%40example.com").await;
    assert_eq!(found[0]["app_metadata"], json!({"plan": "trial"}));
    assert_eq!(
        found[0]["user_metadata"],
        json!({"source": "Username-Password-Authentication"})
    );
}

#[tokio::test]
async fn executions_are_recorded_and_named_in_the_log_events() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let web = web_app(&m).await;
    bound(
        &m,
        "post-login",
        "claims",
        "exports.onExecutePostLogin = async (event, api) => {
           if (event.user.email.endsWith('@evil.example')) { throw new Error('no evil'); }
           api.idToken.setCustomClaim('https://example.com/ok', true);
         };",
        json!([]),
    )
    .await;
    let (status, _) = login(&app, &web, "ada@example.com").await;
    assert_eq!(status, 200);
    let (status, _) = login(&app, &web, "eve@evil.example").await;
    assert_eq!(status, 403);
    // The login's log event (success, then failure) names its execution.
    let mut seen = Vec::new();
    for kind in ["sepft", "fepft"] {
        let (_, logs) = m.get(&format!("/logs?q=type%3A{kind}")).await;
        let event = &logs.as_array().expect("logs")[0];
        let ids = event["details"]["actions"]["executions"]
            .as_array()
            .unwrap_or_else(|| panic!("{event}"));
        let (status, execution) = m
            .get(&format!(
                "/actions/executions/{}",
                ids[0].as_str().expect("id")
            ))
            .await;
        assert_eq!(status, 200, "{execution}");
        assert_eq!(execution["trigger_id"], "post-login");
        assert_eq!(execution["status"], "final");
        assert_eq!(execution["results"][0]["action_name"], "claims");
        assert!(execution["results"][0]["started_at"].is_string());
        seen.push(execution["results"][0]["error"].clone());
    }
    assert_eq!(seen[0], Value::Null, "the first login's action succeeded");
    assert_eq!(seen[1]["id"], "exception");
    assert!(
        seen[1]["msg"].as_str().expect("msg").contains("no evil"),
        "{}",
        seen[1]
    );
    let (status, body) = m.get("/actions/executions/nope").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errorCode"], "execution_not_found");
}
