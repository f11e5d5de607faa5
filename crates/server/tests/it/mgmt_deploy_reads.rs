//! The reads auth0-deploy-cli makes besides the resources gatehouse manages, answered in
//! Auth0's shapes so that an export or import does not stop at them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, spawn_app};

#[tokio::test]
async fn actions_list_is_empty_and_paged_as_auth0_pages_it() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    // What deploy-cli's databases handler asks for.
    let (status, body) = m.get("/actions/actions?page=0&per_page=100").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"actions": [], "total": 0, "page": 0, "per_page": 100})
    );
    let (_, body) = m
        .get("/actions/actions?triggerId=post-login&actionName=x&deployed=true&page=2")
        .await;
    assert_eq!(
        body,
        json!({"actions": [], "total": 0, "page": 2, "per_page": 50})
    );

    assert_mgmt_error(
        &m.get("/actions/actions?per_page=1000").await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &m.get("/actions/actions?deployed=maybe").await,
        400,
        "invalid_query_string",
    );
    let outsider = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:clients")).await,
    };
    assert_mgmt_error(
        &outsider.get("/actions/actions").await,
        403,
        "insufficient_scope",
    );
}

#[tokio::test]
async fn features_not_offered_answer_as_for_a_tenant_that_uses_none() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    // Each list in the paging shape deploy-cli asks for.
    for (path, want) in [
        (
            "/rules?page=0&per_page=100&include_totals=true",
            json!({"rules": [], "start": 0, "limit": 100, "length": 0, "total": 0}),
        ),
        ("/hooks?per_page=10", json!([])),
        (
            "/organizations?include_totals=true&take=50",
            json!({"organizations": []}),
        ),
        (
            "/token-exchange-profiles?take=50",
            json!({"token_exchange_profiles": []}),
        ),
        (
            "/connections-directory-provisionings?take=50",
            json!({"directory_provisionings": []}),
        ),
        (
            "/flows/vault/connections?page=0&per_page=50&include_totals=true",
            json!({"connections": [], "start": 0, "limit": 50, "length": 0, "total": 0}),
        ),
        (
            "/prompts/rendering?page=0&per_page=100&include_totals=true",
            json!({"configs": [], "start": 0, "limit": 100, "length": 0, "total": 0}),
        ),
        ("/event-streams?take=50", json!({"eventStreams": []})),
        ("/custom-domains", json!([])),
        ("/log-streams", json!([])),
        ("/rules-configs", json!([])),
        ("/guardian/policies", json!([])),
        ("/branding/phone/providers", json!({"providers": []})),
        ("/branding/phone/templates", json!({"templates": []})),
        (
            "/actions/modules?page=0&per_page=100",
            json!({"modules": [], "total": 0, "page": 0, "per_page": 100}),
        ),
        (
            "/actions/triggers/post-login/bindings?page=0&per_page=50",
            json!({"bindings": [], "total": 0, "page": 0, "per_page": 50}),
        ),
        ("/guardian/factors/sms/providers/twilio", json!({})),
    ] {
        assert_eq!(m.get(path).await, (200, want), "{path}");
    }
    assert_mgmt_error(&m.get("/rules?take=0").await, 400, "invalid_query_string");
    assert_mgmt_error(
        &m.get("/actions/triggers/nope/bindings").await,
        404,
        "inexistent_trigger",
    );
    let (_, triggers) = m.get("/actions/triggers").await;
    let ids: Vec<&str> = triggers["triggers"]
        .as_array()
        .expect("triggers")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"post-login") && ids.contains(&"credentials-exchange"),
        "{triggers}"
    );
    assert_mgmt_error(
        &m.get("/attack-protection/captcha").await,
        403,
        "feature_not_enabled",
    );
    assert_mgmt_error(
        &m.get("/branding/themes/default").await,
        404,
        "theme_not_found",
    );

    // MFA: every factor off, and it stays off.
    let (_, factors) = m.get("/guardian/factors").await;
    let factors = factors.as_array().expect("factors").clone();
    assert_eq!(factors.len(), 8);
    assert!(factors.iter().all(|f| f["enabled"] == false));
    let put = |path: &'static str, body: Value| m.send(Method::PUT, path, Some(body));
    assert_eq!(
        put("/guardian/factors/otp", json!({"enabled": false})).await,
        (200, json!({"enabled": false}))
    );
    assert_mgmt_error(
        &put("/guardian/factors/otp", json!({"enabled": true})).await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &put("/guardian/factors/sms", json!({"enabled": 1})).await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &put(
            "/guardian/factors/carrier-pigeon",
            json!({"enabled": false}),
        )
        .await,
        400,
        "invalid_uri",
    );
    assert_eq!(put("/guardian/policies", json!([])).await, (200, json!([])));
    assert_mgmt_error(
        &put("/guardian/policies", json!(["all-applications"])).await,
        400,
        "invalid_body",
    );

    // Reading them takes Auth0's scopes.
    let outsider = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:clients")).await,
    };
    for path in [
        "/custom-domains",
        "/attack-protection/brute-force-protection",
        "/guardian/factors",
    ] {
        assert_mgmt_error(&outsider.get(path).await, 403, "insufficient_scope");
    }
}

#[tokio::test]
async fn settings_objects_are_kept_in_their_shape() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (status, ip) = m.get("/attack-protection/suspicious-ip-throttling").await;
    assert_eq!(status, 200);
    assert_eq!(ip["enabled"], true);
    assert_eq!(ip["stage"]["pre-login"]["max_attempts"], 100);
    // A PATCH replaces the properties it names and keeps the rest.
    let (status, set) = m
        .patch(
            "/attack-protection/suspicious-ip-throttling",
            json!({"enabled": false, "allowlist": ["10.0.0.0/8"],
                   "stage": {"pre-login": {"max_attempts": 5, "rate": 60}}}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["enabled"], false);
    assert_eq!(set["shields"], ip["shields"]);
    assert_eq!(
        set["stage"],
        json!({"pre-login": {"max_attempts": 5, "rate": 60}})
    );
    assert_eq!(
        m.get("/attack-protection/suspicious-ip-throttling").await,
        (200, set)
    );
    // Not Auth0's shape: refused, nothing kept.
    for bad in [
        json!({"enabled": "no"}),
        json!({"allowlist": [1]}),
        json!({"stage": {"pre-login": {"burst": 5}}}),
        json!({"something": true}),
        json!([]),
    ] {
        let r = m
            .patch("/attack-protection/suspicious-ip-throttling", bad.clone())
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    // PUT replaces the whole object.
    let (status, p) = m
        .send(
            Method::PUT,
            "/guardian/factors/phone/selected-provider",
            Some(json!({"provider": "twilio"})),
        )
        .await;
    assert_eq!((status, p), (200, json!({"provider": "twilio"})));
    assert_eq!(
        m.get("/risk-assessments/settings/new-device").await,
        (200, json!({"remember_for": 30}))
    );
    assert_eq!(
        m.get("/supplemental-signals").await,
        (200, json!({"akamai_enabled": false}))
    );
}

#[tokio::test]
async fn brute_force_protection_shows_the_configured_threshold() {
    for (threshold, enabled, max) in [("5", true, 5), ("off", false, 10)] {
        let app = TestApp::builder()
            .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", threshold)
            .spawn()
            .await;
        let (status, bf) = app
            .mgmt()
            .await
            .get("/attack-protection/brute-force-protection")
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            (bf["enabled"].clone(), bf["max_attempts"].clone()),
            (json!(enabled), json!(max)),
            "{bf}"
        );
        assert_eq!(bf["mode"], "count_per_identifier_and_ip");
    }
}

#[tokio::test]
async fn the_global_client_is_listed_only_when_asked_for() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (status, body) = m
        .get("/clients?is_global=true&page=0&per_page=100&include_totals=true")
        .await;
    assert_eq!(status, 200, "{body}");
    let global = &body["clients"];
    assert_eq!(global.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(global[0]["name"], "All Applications");
    assert_eq!(global[0]["global"], true);
    let id = global[0]["client_id"].as_str().expect("id").to_owned();
    // Stable, and never among the real clients.
    assert_eq!(
        m.get("/clients?is_global=true").await.1[0]["client_id"],
        json!(id)
    );
    for path in ["/clients", "/clients?is_global=false"] {
        let (_, list) = m.get(path).await;
        assert!(
            list.as_array()
                .expect("list")
                .iter()
                .all(|c| c["client_id"] != json!(id)),
            "{path}"
        );
    }
    assert_mgmt_error(
        &m.get("/clients?is_global=maybe").await,
        400,
        "invalid_query_string",
    );
}
