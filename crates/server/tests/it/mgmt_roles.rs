//! `/api/v2/roles` and users' roles and permissions.

use serde_json::{Value, json};

use crate::helpers::{assert_mgmt_error, spawn_app};

#[tokio::test]
async fn roles_permissions_and_members() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    mgmt.post(
        "/resource-servers",
        json!({"name": "Reports", "identifier": "https://reports.example",
               "scopes": [{"value": "read:reports", "description": "Read"}, {"value": "export:reports"}]}),
    )
    .await;
    let (status, role) = mgmt
        .post(
            "/roles",
            json!({"name": "Analyst", "description": "Reads reports"}),
        )
        .await;
    assert_eq!(status, 200, "{role}");
    let rid = role["id"].as_str().expect("id").to_owned();
    assert!(rid.starts_with("rol_"));
    assert_mgmt_error(
        &mgmt.post("/roles", json!({"name": "Analyst"})).await,
        409,
        "conflict",
    );
    assert_mgmt_error(
        &mgmt.post("/roles", json!({"description": "x"})).await,
        400,
        "invalid_body",
    );

    let (_, list) = mgmt
        .get("/roles?include_totals=true&name_filter=anal")
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["start"], 0);
    assert_eq!(list["roles"][0]["name"], "Analyst");
    let (_, patched) = mgmt
        .patch(
            &format!("/roles/{rid}"),
            json!({"description": "Reads all reports"}),
        )
        .await;
    assert_eq!(patched["description"], "Reads all reports");

    let perm = |name: &str| json!({"resource_server_identifier": "https://reports.example", "permission_name": name});
    let (status, _) = mgmt
        .post(
            &format!("/roles/{rid}/permissions"),
            json!({"permissions": [perm("read:reports"), perm("export:reports")]}),
        )
        .await;
    assert_eq!(status, 201);
    assert_mgmt_error(
        &mgmt
            .post(
                &format!("/roles/{rid}/permissions"),
                json!({"permissions": [perm("delete:everything")]}),
            )
            .await,
        400,
        "invalid_body",
    );
    let (status, _) = mgmt
        .send(
            reqwest::Method::DELETE,
            &format!("/roles/{rid}/permissions"),
            Some(json!({"permissions": [perm("export:reports")]})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, perms) = mgmt
        .get(&format!("/roles/{rid}/permissions?include_totals=true"))
        .await;
    assert_eq!(perms["total"], 1);
    assert_eq!(perms["permissions"][0]["permission_name"], "read:reports");
    assert_eq!(perms["permissions"][0]["resource_server_name"], "Reports");
    assert_eq!(perms["permissions"][0]["description"], "Read");

    let (_, user) = mgmt
        .post("/users", json!({"connection": "Username-Password-Authentication", "email": "ana@example.com", "password": "Sup3r-secret!"}))
        .await;
    let uid = user["user_id"].as_str().expect("id").to_owned();
    assert_eq!(
        mgmt.post(&format!("/roles/{rid}/users"), json!({"users": [uid]}))
            .await
            .0,
        200
    );
    assert_mgmt_error(
        &mgmt
            .post(
                &format!("/roles/{rid}/users"),
                json!({"users": ["auth0|ghost"]}),
            )
            .await,
        404,
        "inexistent_user",
    );
    let (_, members) = mgmt.get(&format!("/roles/{rid}/users?take=10")).await;
    assert_eq!(members["users"][0]["user_id"], uid.as_str());
    assert_eq!(members["users"][0]["email"], "ana@example.com");
    assert!(members.get("next").is_none());

    let (_, roles) = mgmt.get(&format!("/users/{uid}/roles")).await;
    assert_eq!(roles.as_array().expect("array")[0]["id"], rid.as_str());
    let (status, _) = mgmt
        .post(
            &format!("/users/{uid}/permissions"),
            json!({"permissions": [perm("read:reports"), perm("export:reports")]}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, up) = mgmt.get(&format!("/users/{uid}/permissions")).await;
    let up = up.as_array().expect("array").clone();
    assert_eq!(up.len(), 2);
    let read = up
        .iter()
        .find(|p| p["permission_name"] == "read:reports")
        .expect("read");
    let kinds: Vec<&str> = read["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["source_type"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds.len(), 2, "{read}");
    assert!(kinds.contains(&"DIRECT") && kinds.contains(&"ROLE"));

    let (status, _) = mgmt
        .send(
            reqwest::Method::DELETE,
            &format!("/users/{uid}/roles"),
            Some(json!({"roles": [rid]})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = mgmt
        .send(
            reqwest::Method::DELETE,
            &format!("/users/{uid}/permissions"),
            Some(json!({"permissions": [perm("export:reports")]})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, up) = mgmt.get(&format!("/users/{uid}/permissions")).await;
    assert_eq!(
        up,
        json!([{"permission_name": "read:reports", "description": "Read", "resource_server_name": "Reports",
        "resource_server_identifier": "https://reports.example",
        "sources": [{"source_id": "", "source_name": "", "source_type": "DIRECT"}]}])
    );
    assert_eq!(
        mgmt.post(&format!("/users/{uid}/roles"), json!({"roles": [rid]}))
            .await
            .0,
        204
    );
    assert_mgmt_error(
        &mgmt
            .post(
                &format!("/users/{uid}/roles"),
                json!({"roles": ["rol_nope"]}),
            )
            .await,
        400,
        "invalid_body",
    );

    let reader = crate::helpers::Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:users")).await,
    };
    assert_mgmt_error(
        &reader.get(&format!("/users/{uid}/roles")).await,
        403,
        "insufficient_scope",
    );

    assert_eq!(mgmt.delete(&format!("/roles/{rid}")).await.0, 200);
    assert_mgmt_error(
        &mgmt.get(&format!("/roles/{rid}")).await,
        404,
        "inexistent_role",
    );
    let (_, none): (u16, Value) = mgmt.get(&format!("/users/{uid}/roles")).await;
    assert_eq!(none, json!([]));
}
