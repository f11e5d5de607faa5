//! The Authorization Extension: its API under `/authz/api` for client-credentials tokens of
//! `urn:auth0-authz-api`, the policy (nested groups, per-application roles and
//! permissions), the switches putting it into tokens and `app_metadata`, and the export and
//! import of the whole configuration.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt_claims, spawn_app};

const AUDIENCE: &str = "urn:auth0-authz-api";

/// A caller of the extension's API with `scope`.
struct Authz<'a> {
    app: &'a TestApp,
    token: String,
}

impl Authz<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .app
            .client
            .request(method, self.app.url(&format!("/authz/api{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }
}

/// An application granted `scopes` of the extension's API, and its token.
async fn authz_caller<'a>(app: &'a TestApp, scopes: &[&str]) -> Authz<'a> {
    let m = app.mgmt().await;
    let (status, client) = m
        .post(
            "/clients",
            json!({"name": "authz-admin", "app_type": "non_interactive"}),
        )
        .await;
    assert_eq!(status, 201, "{client}");
    let (id, secret) = (
        client["client_id"].as_str().expect("id").to_owned(),
        client["client_secret"].as_str().expect("secret").to_owned(),
    );
    let (status, grant) = m
        .post(
            "/client-grants",
            json!({"client_id": id, "audience": AUDIENCE, "scope": scopes}),
        )
        .await;
    assert_eq!(status, 201, "the seeded API takes grants: {grant}");
    let token = app
        .client_credentials_token(&id, &secret, AUDIENCE, None)
        .await;
    Authz { app, token }
}

/// Every scope of the extension's API but those of its proxies to other APIs.
fn all() -> Vec<&'static str> {
    gatehouse_core::authz::SCOPES
        .iter()
        .copied()
        .filter(|s| !matches!(*s, "read:users" | "read:applications" | "read:connections"))
        .collect()
}

fn id(v: &Value) -> String {
    v["_id"].as_str().expect("_id").to_owned()
}

#[tokio::test]
async fn groups_roles_and_permissions_make_the_policy_and_reach_the_tokens() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let a = authz_caller(&app, &all()).await;
    let (_, web) = m
        .post(
            "/clients",
            json!({"name": "web", "app_type": "regular_web", "grant_types": ["password"]}),
        )
        .await;
    let web_id = web["client_id"].as_str().expect("id").to_owned();
    let (_, user) = m
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@example.com",
                   "password": "Sup3r-secret!"}),
        )
        .await;
    let user_id = user["user_id"].as_str().expect("user").to_owned();

    // Two permissions and a role of the web application; one of another application.
    let permission = |name: &str, app_id: &str| json!({"name": name, "description": name, "applicationType": "client", "applicationId": app_id});
    let (status, read) = a
        .post("/permissions", permission("read:docs", &web_id))
        .await;
    assert_eq!(status, 200, "{read}");
    let (_, write) = a
        .post("/permissions", permission("write:docs", &web_id))
        .await;
    let (_, other) = a
        .post("/permissions", permission("other:thing", "another-app"))
        .await;
    assert_eq!(
        a.post("/permissions", permission("READ:docs", &web_id))
            .await
            .0,
        400,
        "names are unique per application"
    );
    let (status, editor) = a
        .post(
            "/roles",
            json!({"name": "Editor", "description": "Edits", "applicationType": "client",
                                "applicationId": web_id, "permissions": [id(&read), id(&write)]}),
        )
        .await;
    assert_eq!(status, 200, "{editor}");
    let (status, e) = a
        .post(
            "/roles",
            json!({"name": "Mixed", "description": "x", "applicationType": "client",
                                "applicationId": web_id, "permissions": [id(&other)]}),
        )
        .await;
    assert_eq!(
        status, 400,
        "a role takes its own application's permissions only: {e}"
    );

    // staff nests engineers; engineers have the role; ada is an engineer.
    let (_, staff) = a
        .post(
            "/groups",
            json!({"name": "Staff", "description": "Everyone"}),
        )
        .await;
    let (_, engineers) = a
        .post(
            "/groups",
            json!({"name": "Engineers", "description": "Builders"}),
        )
        .await;
    assert_eq!(
        a.post("/groups", json!({"name": "staff", "description": "again"}))
            .await
            .0,
        400
    );
    assert_eq!(
        a.patch(
            &format!("/groups/{}/nested", id(&staff)),
            json!([id(&engineers)])
        )
        .await
        .0,
        204
    );
    assert_eq!(
        a.patch(
            &format!("/groups/{}/roles", id(&engineers)),
            json!([id(&editor)])
        )
        .await
        .0,
        204
    );
    assert_eq!(
        a.patch(
            &format!("/groups/{}/members", id(&engineers)),
            json!([user_id])
        )
        .await
        .0,
        204
    );

    let (status, policy) = a
        .post(
            &format!("/users/{user_id}/policy/{web_id}"),
            json!({"connectionName": "Username-Password-Authentication", "groups": []}),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(
        policy,
        json!({"groups": ["Staff", "Engineers"], "roles": ["Editor"],
               "permissions": ["read:docs", "write:docs"]})
    );
    let (_, calculated) = a.get(&format!("/users/{user_id}/groups/calculate")).await;
    assert_eq!(calculated.as_array().map(Vec::len), Some(2), "{calculated}");
    // A group another nests, or a role a group has, is not deleted.
    assert_eq!(
        a.send(Method::DELETE, &format!("/groups/{}", id(&engineers)), None)
            .await
            .0,
        400
    );
    assert_eq!(
        a.send(Method::DELETE, &format!("/roles/{}", id(&editor)), None)
            .await
            .0,
        400
    );
    assert_eq!(
        a.get("/groups/5d2a7c3e-0000-4000-8000-000000000000")
            .await
            .0,
        404
    );

    // Off by default: tokens carry nothing of it.
    let login = || async {
        let r = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("client_id", web_id.as_str()),
                (
                    "client_secret",
                    web["client_secret"].as_str().expect("secret"),
                ),
                ("username", "ada@example.com"),
                ("password", "Sup3r-secret!"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.expect("tokens")
    };
    let ns = app.url("/");
    let tokens = login().await;
    assert!(
        jwt_claims(tokens["id_token"].as_str().expect("id"))
            .get(format!("{ns}groups").as_str())
            .is_none()
    );

    let (status, c) = a
        .patch(
            "/configuration",
            json!({"groupsInToken": true, "permissionsInToken": "yes", "persistRoles": true}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["groupsInToken"].clone(), c["rolesInToken"].clone()),
        (json!(true), json!(false))
    );
    let tokens = login().await;
    for token in ["id_token", "access_token"] {
        let claims = jwt_claims(tokens[token].as_str().expect("token"));
        assert_eq!(
            claims[format!("{ns}groups")],
            json!(["Staff", "Engineers"]),
            "{token}: {claims}"
        );
        assert_eq!(
            claims[format!("{ns}permissions")],
            json!(["read:docs", "write:docs"]),
            "{token}"
        );
        assert!(
            claims.get(format!("{ns}roles").as_str()).is_none(),
            "{token}"
        );
    }
    let (_, stored) = m
        .get(&format!("/users/{}", user_id.replace('|', "%7C")))
        .await;
    assert_eq!(
        stored["app_metadata"]["authorization"],
        json!({"roles": ["Editor"]})
    );

    // The extension's API is for applications: a person may not get a token for it.
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", web_id.as_str()),
            (
                "client_secret",
                web["client_secret"].as_str().expect("secret"),
            ),
            ("username", "ada@example.com"),
            ("password", "Sup3r-secret!"),
            ("audience", AUDIENCE),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_api_needs_its_own_tokens_and_scopes() {
    let app = spawn_app().await;
    let reader = authz_caller(&app, &["read:groups"]).await;
    assert_eq!(
        reader.get("/groups").await,
        (200, json!({"groups": [], "total": 0}))
    );
    let (status, e) = reader
        .post("/groups", json!({"name": "x", "description": "y"}))
        .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (403, Some("Forbidden")),
        "{e}"
    );
    // A Management API token is not one of this API's.
    let other = Authz {
        app: &app,
        token: app.mgmt_token(None).await,
    };
    assert_eq!(other.get("/groups").await.0, 401);
    let none = Authz {
        app: &app,
        token: String::new(),
    };
    assert_eq!(none.get("/groups").await.0, 401);
    let admin = authz_caller(&app, &all()).await;
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "description": "y", "members": []}),
        json!({"name": "x".repeat(51), "description": "y"}),
    ] {
        assert_eq!(admin.post("/groups", bad.clone()).await.0, 400, "{bad}");
    }
    // A bad query is a 400 in the extension's error shape too.
    let (status, e) = admin.get("/groups/any/members?per_page=many").await;
    assert_eq!((status, e["statusCode"].as_u64()), (400, Some(400)), "{e}");
}

#[tokio::test]
async fn an_extension_export_imports_as_it_is_and_exports_back() {
    let app = spawn_app().await;
    let a = authz_caller(&app, &all()).await;
    let export = json!({
        "configuration": [{"_id": "v1", "groupsInToken": true, "rolesInToken": true,
                           "permissionsInToken": false, "persistGroups": false,
                           "persistRoles": false, "persistPermissions": false,
                           "groupsPassthrough": false, "rolesPassthrough": false,
                           "permissionsPassthrough": false, "apikey": "00ff"}],
        "groups": [{"_id": "1f0d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b", "name": "Admins",
                    "description": "Admins", "members": ["auth0|abc"], "nested": [], "roles": [],
                    "mappings": [{"_id": "2f0d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b",
                                  "groupName": "Domain Admins", "connectionName": "corp"}]}],
        "roles": [], "permissions": [], "applications": []
    });
    assert_eq!(a.post("/configuration/import", export.clone()).await.0, 204);
    let (status, back) = a.get("/configuration/export").await;
    assert_eq!(status, 200);
    let mut expected = export;
    // The extension's own API key is its business: gatehouse keeps none.
    expected["configuration"][0]
        .as_object_mut()
        .expect("config")
        .remove("apikey");
    assert_eq!(back, expected);
    // A mapped upstream group makes a member.
    let (_, policy) = a
        .post(
            "/users/someone/policy/app",
            json!({"connectionName": "corp", "groups": "Domain Admins"}),
        )
        .await;
    assert_eq!(
        policy["groups"],
        json!([]),
        "a string of names splits on spaces, as the extension's does"
    );
    let (_, policy) = a
        .post(
            "/users/someone/policy/app",
            json!({"connectionName": "corp", "groups": ["Domain Admins"]}),
        )
        .await;
    assert_eq!(policy["groups"], json!(["Admins"]));
    assert_eq!(
        a.post("/configuration/import", json!({"unknown": []}))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn a_groups_lists_change_by_patch_and_delete() {
    let app = spawn_app().await;
    let a = authz_caller(&app, &all()).await;
    let (_, g) = a
        .post("/groups", json!({"name": "Ops", "description": "On call"}))
        .await;
    let base = format!("/groups/{}", id(&g));
    assert_eq!(
        a.patch(&format!("{base}/members"), json!(["u3", "u1", "u2", "u1"]))
            .await
            .0,
        204
    );
    let (status, page) = a.get(&format!("{base}/members?per_page=2")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 3, "each member once");
    let listed: Vec<&str> = page["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    assert_eq!(listed, ["u1", "u2"], "sorted by user id, one page");
    assert_eq!(
        a.send(
            Method::DELETE,
            &format!("{base}/members"),
            Some(json!(["u1"]))
        )
        .await
        .0,
        204
    );
    assert_eq!(a.get(&format!("{base}/members")).await.1["total"], 2);
    assert_eq!(
        a.patch(&format!("{base}/members"), json!([])).await.0,
        400,
        "at least one"
    );
    // Nesting itself is skipped; an unknown group or role is a 404.
    assert_eq!(
        a.patch(&format!("{base}/nested"), json!([id(&g)])).await.0,
        204
    );
    assert_eq!(a.get(&format!("{base}/nested")).await.1, json!([]));
    let unknown = "7b9e0c1a-0000-4000-8000-000000000000";
    assert_eq!(
        a.patch(&format!("{base}/nested"), json!([unknown])).await.0,
        404
    );
    assert_eq!(
        a.patch(&format!("{base}/roles"), json!([unknown])).await.0,
        404
    );
    assert_eq!(
        a.patch(&format!("{base}/roles"), json!(["not-a-guid"]))
            .await
            .0,
        400
    );

    let (status, _) = a
        .patch(
            &format!("{base}/mappings"),
            json!([{"groupName": "ops", "connectionName": "corp"}]),
        )
        .await;
    assert_eq!(status, 204);
    let (_, mappings) = a.get(&format!("{base}/mappings")).await;
    assert_eq!(mappings[0]["groupName"], "ops");
    let mapping = mappings[0]["_id"].as_str().expect("id").to_owned();
    let (_, p) = a
        .post(
            "/users/u9/policy/app",
            json!({"connectionName": "corp", "groups": ["ops"]}),
        )
        .await;
    assert_eq!(p["groups"], json!(["Ops"]));
    assert_eq!(
        a.send(
            Method::DELETE,
            &format!("{base}/mappings"),
            Some(json!([mapping]))
        )
        .await
        .0,
        204
    );
    assert_eq!(a.get(&format!("{base}/mappings")).await.1, json!([]));
    assert_eq!(a.send(Method::DELETE, &base, None).await.0, 204);
    assert_eq!(a.get(&base).await.0, 404);
}

#[tokio::test]
async fn the_extension_reads_users_applications_connections_and_its_status() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let mut users = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        let (status, u) = m
            .post(
                "/users",
                json!({"connection": "Username-Password-Authentication", "email": email,
                       "password": "Sup3r-secret!", "name": email}),
            )
            .await;
        assert_eq!(status, 201, "{u}");
        users.push(u["user_id"].as_str().expect("id").to_owned());
    }
    let (_, web) = m
        .post(
            "/clients",
            json!({"name": "Zeta web", "app_type": "regular_web",
                   "callbacks": ["https://z.example/cb"]}),
        )
        .await;
    let mut scopes = all();
    scopes.extend(["read:users", "read:applications", "read:connections"]);
    let authz = authz_caller(&app, &scopes).await;

    let (status, page) = authz.get("/users?q=bob@example.com&field=email").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["users"][0]["user_id"], users[1].as_str());
    assert!(
        page["users"][0].get("app_metadata").is_none(),
        "only the extension's fields"
    );
    let (_, page) = authz.get("/users?per_page=1&page=2").await;
    assert_eq!(
        (page["total"].as_i64(), page["length"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(page["start"], 1);
    assert_eq!(authz.get("/users?per_page=101").await.0, 400);
    let (status, user) = authz.get(&format!("/users/{}", users[0])).await;
    assert_eq!((status, &user["email"]), (200, &json!("ada@example.com")));
    assert_eq!(authz.get("/users/auth0%7Cnobody").await.0, 404);

    let (_, apps) = authz.get("/applications").await;
    let names: Vec<&str> = apps
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted, "by name");
    assert!(names.contains(&"Zeta web"), "{apps}");
    assert!(
        !names.contains(&"gatehouse dashboard"),
        "the dashboard is not the tenant's: {apps}"
    );
    let (status, one) = authz
        .get(&format!(
            "/applications/{}",
            web["client_id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["callbacks"], json!(["https://z.example/cb"]));
    let (_, connections) = authz.get("/connections").await;
    assert!(
        connections
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["name"] == "Username-Password-Authentication" && c["strategy"] == "auth0"),
        "{connections}"
    );
    assert!(
        !connections.to_string().contains("gatehouse-admins"),
        "{connections}"
    );

    // The "rule" is the server itself: enabled once a switch asks for the policy at login.
    let (_, status_now) = authz.get("/configuration/status").await;
    assert_eq!(
        status_now,
        json!({"rule": {"exists": true, "enabled": false}})
    );
    let (_, config) = authz.get("/configuration").await;
    let mut config = config;
    config.as_object_mut().expect("object").remove("_id");
    config["groupsInToken"] = json!(true);
    assert_eq!(authz.patch("/configuration", config).await.0, 200);
    let (_, status_now) = authz.get("/configuration/status").await;
    assert_eq!(status_now["rule"]["enabled"], true);
    let (status, api) = authz.get("/configuration/resource-server").await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["apiAccess"], true);
    assert!(api["token_lifetime"].as_i64().is_some_and(|t| t > 0));

    // Nested roles: a group's own and those of the groups nesting it.
    let (_, role_a) = authz
        .post(
            "/roles",
            json!({"name": "Reader", "description": "r", "applicationType": "client",
                   "applicationId": web["client_id"]}),
        )
        .await;
    let (_, role_b) = authz
        .post(
            "/roles",
            json!({"name": "Writer", "description": "w", "applicationType": "client",
                   "applicationId": web["client_id"]}),
        )
        .await;
    let (_, parent) = authz
        .post("/groups", json!({"name": "Staff", "description": "all"}))
        .await;
    let (_, child) = authz
        .post(
            "/groups",
            json!({"name": "Engineers", "description": "eng"}),
        )
        .await;
    for (group, role) in [(&parent, &role_a), (&child, &role_b)] {
        let (status, _) = authz
            .patch(&format!("/groups/{}/roles", id(group)), json!([id(role)]))
            .await;
        assert_eq!(status, 204);
    }
    let (status, _) = authz
        .patch(
            &format!("/groups/{}/nested", id(&parent)),
            json!([id(&child)]),
        )
        .await;
    assert_eq!(status, 204);
    let (status, nested) = authz
        .get(&format!("/groups/{}/roles/nested", id(&child)))
        .await;
    assert_eq!(status, 200, "{nested}");
    let pairs: Vec<(String, String)> = nested
        .as_array()
        .expect("list")
        .iter()
        .map(|p| (id(&p["role"]), id(&p["group"])))
        .collect();
    assert_eq!(
        pairs,
        vec![(id(&role_a), id(&parent)), (id(&role_b), id(&child))]
    );
    let (_, nested) = authz
        .get(&format!("/groups/{}/roles/nested", id(&parent)))
        .await;
    assert_eq!(nested.as_array().map(Vec::len), Some(1), "upward only");
    assert_eq!(
        authz
            .get("/groups/00000000-0000-4000-8000-000000000000/roles/nested")
            .await
            .0,
        404
    );
    // Scopes hold for the new reads too.
    let narrow = authz_caller(&app, &["read:groups"]).await;
    for path in [
        "/users",
        "/applications",
        "/connections",
        "/configuration/status",
    ] {
        assert_eq!(narrow.get(path).await.0, 403, "{path}");
    }
}

#[tokio::test]
async fn groups_an_upstream_provider_sends_are_mapped_to_the_extensions_groups() {
    let f = crate::upstream_oidc::federation().await;
    // The provider (a gatehouse too) puts the person's directory groups into its ID tokens.
    crate::actions::bound(
        &f.idp.mgmt().await,
        "post-login",
        "directory-groups",
        "exports.onExecutePostLogin = async (event, api) => {
           api.idToken.setCustomClaim('groups', ['Domain Admins', 'Everyone']);
         };",
        json!([]),
    )
    .await;
    let authz = authz_caller(&f.rp, &all()).await;
    let (_, role) = authz
        .post(
            "/roles",
            json!({"name": "Approver", "description": "approves", "applicationType": "client",
                   "applicationId": f.app_id}),
        )
        .await;
    let (_, admins) = authz
        .post(
            "/groups",
            json!({"name": "Admins", "description": "from AD"}),
        )
        .await;
    let (status, _) = authz
        .patch(
            &format!("/groups/{}/mappings", id(&admins)),
            json!([{"connectionName": "upstream", "groupName": "Domain Admins"},
                   {"connectionName": "elsewhere", "groupName": "Everyone"}]),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = authz
        .patch(
            &format!("/groups/{}/roles", id(&admins)),
            json!([id(&role)]),
        )
        .await;
    assert_eq!(status, 204);
    let (_, mut config) = authz.get("/configuration").await;
    config.as_object_mut().expect("object").remove("_id");
    config["groupsInToken"] = json!(true);
    config["rolesInToken"] = json!(true);
    assert_eq!(authz.patch("/configuration", config).await.0, 200);

    let (_, tokens) = crate::upstream_oidc::logged_in(&f).await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    let ns = f.rp.state.issuer.as_str();
    assert_eq!(
        claims[format!("{ns}groups").as_str()],
        json!(["Admins"]),
        "{claims}"
    );
    assert_eq!(claims[format!("{ns}roles").as_str()], json!(["Approver"]));
    // The provider's groups are kept on the user, as Auth0 keeps them.
    let sub = claims["sub"].as_str().expect("sub").replace('|', "%7C");
    let (_, user) = f.rp.mgmt().await.get(&format!("/users/{sub}")).await;
    assert_eq!(
        user["groups"],
        json!(["Domain Admins", "Everyone"]),
        "{user}"
    );
    f.idp.stop().await;
}
