//! `/api/v2/users` and `/api/v2/users-by-email`.

use gatehouse_core::id::UserId;
use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, spawn_app};

const DB: &str = "Username-Password-Authentication";

async fn create(mgmt: &Mgmt<'_>, email: &str, extra: Value) -> Value {
    let mut body = json!({"connection": DB, "email": email, "password": "Sup3r-secret!"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (status, user) = mgmt.post("/users", body).await;
    assert_eq!(status, 201, "{user}");
    user
}

async fn stored_hash(app: &TestApp, id: &str) -> String {
    let u = app
        .state
        .stores
        .users
        .user(&UserId::from(id))
        .await
        .expect("get")
        .expect("exists");
    u.identities[0].password_hash.clone().expect("hash")
}

#[tokio::test]
async fn create_database_user() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let u = create(
        &mgmt,
        "Ada@Example.com",
        json!({"user_metadata": {"theme": "dark"}, "given_name": "Ada"}),
    )
    .await;
    let id = u["user_id"].as_str().expect("id");
    assert!(id.starts_with("auth0|"));
    assert_eq!(u["email"], "ada@example.com", "stored lower-case");
    assert_eq!(u["email_verified"], false);
    assert_eq!(u["name"], "ada@example.com");
    assert_eq!(u["nickname"], "ada");
    assert_eq!(u["given_name"], "Ada");
    assert_eq!(u["identities"][0]["connection"], DB);
    assert_eq!(u["identities"][0]["provider"], "auth0");
    assert_eq!(
        format!(
            "auth0|{}",
            u["identities"][0]["user_id"].as_str().expect("id")
        ),
        id
    );
    assert!(u.get("password").is_none());
    assert!(u["created_at"].as_str().expect("date").ends_with('Z'));
    let hash = stored_hash(&app, id).await;
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        app.state
            .passwords
            .verify("Sup3r-secret!".into(), hash)
            .await
            .expect("verify")
    );

    // The same address in another case is the same person.
    let dup = mgmt
        .post(
            "/users",
            json!({"connection": DB, "email": "ADA@example.com", "password": "Sup3r-secret!"}),
        )
        .await;
    assert_mgmt_error(&dup, 409, "auth0_idp_error");
    assert_eq!(dup.1["message"], "The user already exists.");

    let (status, fixed) = mgmt
        .post("/users", json!({"connection": DB, "email": "bob@example.com", "password": "Sup3r-secret!", "user_id": "bob-1"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(fixed["user_id"], "auth0|bob-1");
}

#[tokio::test]
async fn create_rejects_bad_input() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    for body in [
        json!({"email": "a@b.co", "password": "Sup3r-secret!"}),
        json!({"connection": "nope", "email": "a@b.co", "password": "Sup3r-secret!"}),
        json!({"connection": DB, "password": "Sup3r-secret!"}),
        json!({"connection": DB, "email": "a@b.co"}),
        json!({"connection": DB, "email": "a@b.co", "password": "short"}),
        json!({"connection": DB, "email": "a@b.co", "password": "alllowercase"}),
        json!({"connection": DB, "email": "not-an-email", "password": "Sup3r-secret!"}),
        json!({"connection": DB, "email": "a@b.co", "password": "Sup3r-secret!", "app_metadata": {"blocked": true}}),
        json!({"connection": DB, "email": "a@b.co", "password": "Sup3r-secret!", "user_metadata": {"a.b": 1}}),
        json!({"connection": DB, "email": "a@b.co", "password": "Sup3r-secret!", "user_id": "a|b"}),
        json!({"connection": DB, "email": "a@b.co", "password": "Sup3r-secret!", "given_name": "x".repeat(151)}),
        json!({"connection": DB, "email": "a@b.co", "password": "Sup3r-secret!", "favourite": "tea"}),
    ] {
        assert_mgmt_error(&mgmt.post("/users", body).await, 400, "invalid_body");
    }
}

#[tokio::test]
async fn passwordless_users() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email"}),
    )
    .await;
    mgmt.post("/connections", json!({"name": "sms", "strategy": "sms"}))
        .await;
    let (status, e) = mgmt
        .post(
            "/users",
            json!({"connection": "email", "email": "p@example.com", "email_verified": true}),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    assert!(e["user_id"].as_str().expect("id").starts_with("email|"));
    let (status, s) = mgmt
        .post(
            "/users",
            json!({"connection": "sms", "phone_number": "+15551234567"}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    assert!(s["user_id"].as_str().expect("id").starts_with("sms|"));
    assert_mgmt_error(
        &mgmt
            .post(
                "/users",
                json!({"connection": "sms", "phone_number": "555-1234"}),
            )
            .await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &mgmt.post("/users", json!({"connection": "email", "email": "q@example.com", "password": "Sup3r-secret!"})).await,
        400,
        "invalid_body",
    );
}

#[tokio::test]
async fn ids_raw_or_percent_encoded() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let u = create(&mgmt, "enc@example.com", json!({})).await;
    let id = u["user_id"].as_str().expect("id");
    let encoded = id.replace('|', "%7C");
    assert_eq!(mgmt.get(&format!("/users/{encoded}")).await.1, u);
    assert_eq!(mgmt.get(&format!("/users/{id}")).await.1, u);
    assert_mgmt_error(
        &mgmt.get("/users/auth0%7Cnobody").await,
        404,
        "inexistent_user",
    );
}

#[tokio::test]
async fn patch_follows_auth0_semantics() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let u = create(
        &mgmt,
        "pat@example.com",
        json!({"email_verified": true, "nickname": "pat", "user_metadata": {"a": 1, "b": {"x": 1}},
               "app_metadata": {"plan": "free", "roles": ["x"]}}),
    )
    .await;
    let id = u["user_id"].as_str().expect("id").replace('|', "%7C");
    let (status, p) = mgmt
        .patch(
            &format!("/users/{id}"),
            json!({"user_metadata": {"b": {"y": 2}, "a": null, "c": 3}, "nickname": null,
                   "app_metadata": {"plan": "pro"}, "given_name": "Pat"}),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        p["user_metadata"],
        json!({"b": {"y": 2}, "c": 3}),
        "one level deep, null deletes"
    );
    assert_eq!(p["app_metadata"], json!({"plan": "pro", "roles": ["x"]}));
    assert!(p.get("nickname").is_none(), "null removes a root attribute");
    assert_eq!(p["given_name"], "Pat");
    assert_eq!(p["email_verified"], true);

    let (_, p) = mgmt
        .patch(&format!("/users/{id}"), json!({"email": "new@example.com"}))
        .await;
    assert_eq!(p["email"], "new@example.com");
    assert_eq!(p["email_verified"], false, "a new address is unverified");

    let old_hash = stored_hash(&app, u["user_id"].as_str().expect("id")).await;
    let (status, _) = mgmt
        .patch(
            &format!("/users/{id}"),
            json!({"password": "An0ther-secret!"}),
        )
        .await;
    assert_eq!(status, 200);
    let new_hash = stored_hash(&app, u["user_id"].as_str().expect("id")).await;
    assert_ne!(old_hash, new_hash);
    assert!(
        app.state
            .passwords
            .verify("An0ther-secret!".into(), new_hash)
            .await
            .expect("verify")
    );
    assert_mgmt_error(
        &mgmt
            .patch(&format!("/users/{id}"), json!({"password": "weak"}))
            .await,
        400,
        "invalid_body",
    );

    let (_, b) = mgmt
        .patch(&format!("/users/{id}"), json!({"blocked": true}))
        .await;
    assert_eq!(b["blocked"], true);
    let (_, b) = mgmt
        .patch(&format!("/users/{id}"), json!({"blocked": false}))
        .await;
    assert_eq!(b["blocked"], false);

    let (_, metadata_cleared) = mgmt
        .patch(&format!("/users/{id}"), json!({"user_metadata": {}}))
        .await;
    assert_eq!(
        metadata_cleared["user_metadata"],
        json!({}),
        "{{}} clears it"
    );

    create(&mgmt, "taken@example.com", json!({})).await;
    assert_mgmt_error(
        &mgmt
            .patch(
                &format!("/users/{id}"),
                json!({"email": "taken@example.com"}),
            )
            .await,
        409,
        "auth0_idp_error",
    );
    for bad in [
        json!({"email": 5}),
        json!({"blocked": "yes"}),
        json!({"nope": 1}),
        json!({"app_metadata": {"email": "x"}}),
    ] {
        assert_mgmt_error(
            &mgmt.patch(&format!("/users/{id}"), bad).await,
            400,
            "invalid_body",
        );
    }

    // update:users_app_metadata may change app_metadata and nothing else.
    let limited = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("update:users_app_metadata")).await,
    };
    assert_eq!(
        limited
            .patch(
                &format!("/users/{id}"),
                json!({"app_metadata": {"plan": "team"}})
            )
            .await
            .0,
        200
    );
    assert_mgmt_error(
        &limited
            .patch(&format!("/users/{id}"), json!({"name": "x"}))
            .await,
        403,
        "insufficient_scope",
    );
}

#[tokio::test]
async fn search_sort_page_and_by_email() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    for (i, email) in ["a@example.com", "b@example.com", "c@other.org"]
        .iter()
        .enumerate()
    {
        create(&mgmt, email, json!({"app_metadata": {"n": i}})).await;
    }
    let (_, all) = mgmt.get("/users?include_totals=true&per_page=2").await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["length"], 2);
    assert_eq!(all["users"].as_array().expect("users").len(), 2);
    let q = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let (status, found) = mgmt
        .get(&format!(
            "/users?q={}&search_engine=v3",
            q("email:*@example.com")
        ))
        .await;
    assert_eq!(status, 400, "no leading wildcard: {found}");
    let (_, found) = mgmt
        .get(&format!(
            "/users?q={}",
            q(r#"email:"b@example.com" OR app_metadata.n:2"#)
        ))
        .await;
    let emails: Vec<&str> = found
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect();
    assert_eq!(emails, ["b@example.com", "c@other.org"]);
    let (_, sorted) = mgmt
        .get("/users?sort=created_at:-1&fields=email&include_fields=true")
        .await;
    assert_eq!(sorted[0], json!({"email": "c@other.org"}));
    let (_, counted) = mgmt
        .get(&format!(
            "/users?q={}&include_totals=true",
            q(r#"identities.connection:"Username-Password-Authentication""#)
        ))
        .await;
    assert_eq!(counted["total"], 3);
    assert_mgmt_error(
        &mgmt.get(&format!("/users?q={}", q("password:x"))).await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &mgmt.get("/users?page=20&per_page=50").await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &mgmt.get("/users?sort=password:1").await,
        400,
        "invalid_query_string",
    );

    let (status, by_email) = mgmt.get("/users-by-email?email=B%40Example.com").await;
    assert_eq!(status, 200);
    assert_eq!(by_email.as_array().expect("bare array").len(), 1);
    assert_mgmt_error(
        &mgmt.get("/users-by-email").await,
        400,
        "invalid_query_string",
    );
}

#[tokio::test]
async fn delete_users() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let u = create(&mgmt, "gone@example.com", json!({})).await;
    let id = u["user_id"].as_str().expect("id");
    let reader = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:users")).await,
    };
    assert_mgmt_error(
        &reader.delete(&format!("/users/{id}")).await,
        403,
        "insufficient_scope",
    );
    assert_eq!(mgmt.delete(&format!("/users/{id}")).await.0, 204);
    assert_mgmt_error(
        &mgmt.get(&format!("/users/{id}")).await,
        404,
        "inexistent_user",
    );
    assert_mgmt_error(
        &mgmt.delete(&format!("/users/{id}")).await,
        404,
        "inexistent_user",
    );
    // The address is free again.
    create(&mgmt, "gone@example.com", json!({})).await;
}
