//! Auth0 properties gatehouse keeps and shows without acting on them ("stored, not
//! enforced"): accepted when their type is right, returned, removable with `null` where Auth0
//! allows it, while names Auth0 does not know stay a 400.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, assert_mgmt_error, spawn_app};

fn message(got: &(u16, Value)) -> &str {
    got.1["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn clients_keep_auth0_properties_gatehouse_does_not_act_on() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (status, created) = m
        .post(
            "/clients",
            json!({
                "name": "moved",
                "app_type": "regular_web",
                "oidc_logout": {"backchannel_logout_urls": ["https://app.example/bcl"]},
                "compliance_level": "none",
                "require_proof_of_possession": false,
                "organization_discovery_methods": ["email"],
                "par_request_expiry": 30,
            }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["oidc_logout"]["backchannel_logout_urls"][0],
        "https://app.example/bcl"
    );
    let id = created["client_id"].as_str().expect("id");
    let (_, got) = m.get(&format!("/clients/{id}")).await;
    assert_eq!(got["compliance_level"], "none");
    assert_eq!(got["par_request_expiry"], 30);
    assert_eq!(got["organization_discovery_methods"], json!(["email"]));

    let (status, patched) = m
        .patch(
            &format!("/clients/{id}"),
            json!({"compliance_level": null, "token_quota": {"client_credentials": {"enforce": true}}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched.get("compliance_level").is_none(), "{patched}");
    assert_eq!(
        patched["token_quota"]["client_credentials"]["enforce"],
        true
    );
    assert_eq!(patched["par_request_expiry"], 30, "untouched ones stay");

    let wrong = m
        .patch(
            &format!("/clients/{id}"),
            json!({"require_proof_of_possession": "yes"}),
        )
        .await;
    assert_mgmt_error(&wrong, 400, "invalid_body");
    assert!(
        message(&wrong).contains("require_proof_of_possession"),
        "{}",
        wrong.1
    );
    let not_nullable = m
        .patch(&format!("/clients/{id}"), json!({"oidc_logout": null}))
        .await;
    assert_mgmt_error(&not_nullable, 400, "invalid_body");
    let enum_miss = m
        .patch(
            &format!("/clients/{id}"),
            json!({"compliance_level": "fapi9"}),
        )
        .await;
    assert_mgmt_error(&enum_miss, 400, "invalid_body");
    let unknown = m
        .patch(
            &format!("/clients/{id}"),
            json!({"not_an_auth0_property": 1}),
        )
        .await;
    assert_mgmt_error(&unknown, 400, "invalid_body");
    assert!(
        message(&unknown).contains("Additional properties not allowed"),
        "{}",
        unknown.1
    );
}

#[tokio::test]
async fn apis_grants_and_connections_keep_theirs() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (status, api) = m
        .post(
            "/resource-servers",
            json!({"identifier": "https://api.example/", "name": "API",
                   "scopes": [{"value": "read:x", "description": "x"}],
                   "allow_online_access": false,
                   "consent_policy": null,
                   "subject_type_authorization": {"user": {"policy": "allow_all"}}}),
        )
        .await;
    assert_eq!(status, 201, "{api}");
    assert_eq!(
        api["subject_type_authorization"]["user"]["policy"],
        "allow_all"
    );
    assert_eq!(api["allow_online_access"], false);
    assert!(api.get("consent_policy").is_none(), "null stores nothing");
    let api_id = api["id"].as_str().expect("id");
    let (_, api) = m
        .patch(
            &format!("/resource-servers/{api_id}"),
            json!({"authorization_details": [{"type": "payment"}]}),
        )
        .await;
    assert_eq!(api["authorization_details"][0]["type"], "payment");
    assert_eq!(api["allow_online_access"], false);

    let (_, client) = m
        .post(
            "/clients",
            json!({"name": "m2m", "app_type": "non_interactive"}),
        )
        .await;
    let (status, grant) = m
        .post(
            "/client-grants",
            json!({"client_id": client["client_id"], "audience": "https://api.example/",
                   "scope": ["read:x"], "subject_type": "client",
                   "authorization_details_types": ["payment"],
                   "organization_usage": "deny", "allow_any_organization": false}),
        )
        .await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!(grant["subject_type"], "client");
    assert_eq!(grant["organization_usage"], "deny");
    let grant_id = grant["id"].as_str().expect("id");
    let (status, grant) = m
        .patch(
            &format!("/client-grants/{grant_id}"),
            json!({"allow_all_scopes": false, "organization_usage": null}),
        )
        .await;
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["allow_all_scopes"], false);
    assert!(grant.get("organization_usage").is_none(), "{grant}");
    let (_, again) = m.get(&format!("/client-grants/{grant_id}")).await;
    assert_eq!(again, grant, "what PATCH answered is what is stored");
    assert_mgmt_error(
        &m.post(
            "/client-grants",
            json!({"client_id": client["client_id"], "audience": "https://api.example/",
                   "scope": [], "subject_type": "robot"}),
        )
        .await,
        400,
        "invalid_body",
    );

    let (status, conn) = m
        .post(
            "/connections",
            json!({"name": "kept-db", "strategy": "auth0",
                   "authentication": {"active": true},
                   "connected_accounts": {"active": false}}),
        )
        .await;
    assert_eq!(status, 201, "{conn}");
    assert_eq!(conn["authentication"], json!({"active": true}));
    let conn_id = conn["id"].as_str().expect("id");
    let (_, conn) = m.get(&format!("/connections/{conn_id}")).await;
    assert_eq!(conn["connected_accounts"], json!({"active": false}));
    assert_mgmt_error(
        &m.patch(
            &format!("/connections/{conn_id}"),
            json!({"authentication": true}),
        )
        .await,
        400,
        "invalid_body",
    );
}

#[tokio::test]
async fn tenant_settings_take_what_deploy_cli_sends() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    // auth0-deploy-cli's body: lifetimes in minutes, kept settings and flags.
    let (status, t) = m
        .patch(
            "/tenants/settings",
            json!({
                "friendly_name": "Acme",
                "picture_url": "https://cdn.example/tenant.png",
                "support_url": "https://help.example/",
                "default_redirection_uri": "https://app.example/login",
                "enabled_locales": ["en", "de"],
                "session_cookie": {"mode": "persistent"},
                "session_lifetime_in_minutes": 10080,
                "idle_session_lifetime_in_minutes": 90,
                "flags": {"enable_client_connections": false,
                          "revoke_refresh_token_grant": false,
                          "disable_clickjack_protection_headers": false},
            }),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["session_lifetime"], 168);
    assert_eq!(t["idle_session_lifetime"], 1.5);
    assert_eq!(t["support_url"], "https://help.example/");
    assert_eq!(t["enabled_locales"], json!(["en", "de"]));
    assert_eq!(t["session_cookie"]["mode"], "persistent");
    assert_eq!(
        t["flags"],
        json!({"enable_client_connections": false, "revoke_refresh_token_grant": false,
               "disable_clickjack_protection_headers": false})
    );
    assert_eq!(m.get("/tenants/settings").await.1, t);

    // Hours replace minutes; both at once is refused.
    let (_, t) = m
        .patch("/tenants/settings", json!({"idle_session_lifetime": 2}))
        .await;
    assert_eq!(t["idle_session_lifetime"], 2);
    assert_mgmt_error(
        &m.patch(
            "/tenants/settings",
            json!({"session_lifetime": 1, "session_lifetime_in_minutes": 60}),
        )
        .await,
        400,
        "invalid_body",
    );
    let bad_flag = m
        .patch("/tenants/settings", json!({"flags": {"enable_sso": "yes"}}))
        .await;
    assert_mgmt_error(&bad_flag, 400, "invalid_body");
    assert!(
        message(&bad_flag).contains("flags.enable_sso"),
        "{}",
        bad_flag.1
    );
    assert_mgmt_error(
        &m.patch(
            "/tenants/settings",
            json!({"flags": {"no_such_flag": true}}),
        )
        .await,
        400,
        "invalid_body",
    );
}

#[tokio::test]
async fn branding_round_trips_and_keeps_its_own_logo() {
    let app = spawn_app().await;
    let m: Mgmt<'_> = app.mgmt().await;
    // What GET answers on a new tenant can be PATCHed back as is (deploy-cli does).
    let (_, fresh) = m.get("/branding").await;
    let (status, _) = m.patch("/branding", fresh).await;
    assert_eq!(status, 200);

    let body = json!({
        "colors": {"primary": "#112233", "page_background": {"type": "linear-gradient", "start": "#fff", "end": "#000", "angle_deg": 35}},
        "logo_url": "https://cdn.example/logo.svg",
        "favicon_url": "https://cdn.example/favicon.ico",
        "font": {"url": "https://cdn.example/font.woff"},
    });
    let (status, b) = m.patch("/branding", body.clone()).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b, body);
    // The tenant's own logo is a different setting from branding's.
    m.patch(
        "/tenants/settings",
        json!({"picture_url": "https://cdn.example/tenant.png"}),
    )
    .await;
    assert_eq!(m.get("/branding").await.1, body);
    let (_, b) = m
        .patch(
            "/branding",
            json!({"colors": {"primary": null}, "font": null}),
        )
        .await;
    assert_eq!(b["colors"]["primary"], Value::Null);
    assert!(b.get("font").is_none(), "{b}");
    assert_eq!(b["favicon_url"], "https://cdn.example/favicon.ico");
}
