//! `/api/v2/emails/provider`.

use serde_json::json;

use crate::helpers::{assert_mgmt_error, spawn_app};

#[tokio::test]
async fn smtp_provider_with_sealed_credentials() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    assert_mgmt_error(
        &mgmt.get("/emails/provider").await,
        404,
        "inexistent_email_provider",
    );
    let creds = json!({"smtp_host": "smtp.example.com", "smtp_port": 587, "smtp_user": "mailer", "smtp_pass": "hunter2-smtp"});
    let (status, p) = mgmt
        .post("/emails/provider", json!({"name": "smtp", "credentials": creds, "default_from_address": "no-reply@example.com"}))
        .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(
        p["credentials"],
        json!({"smtp_host": "smtp.example.com", "smtp_port": 587, "smtp_user": "mailer"})
    );
    let (_, got) = mgmt.get("/emails/provider").await;
    assert_eq!(got, p);
    assert!(
        !got.to_string().contains("hunter2"),
        "the password is never shown"
    );

    // At rest it is sealed: the raw tenant row does not contain it, the sealer opens it.
    let tenant = app
        .state
        .stores
        .tenant
        .tenant()
        .await
        .expect("tenant")
        .expect("row");
    let provider = tenant.email_provider.expect("provider");
    assert!(!String::from_utf8_lossy(&provider.credentials_sealed).contains("hunter2"));
    let opened = gatehouse_server::secrets::open_email_credentials(&app.state.sealer, &provider)
        .expect("opens");
    assert_eq!(opened["smtp_pass"], "hunter2-smtp");

    assert_mgmt_error(
        &mgmt
            .post(
                "/emails/provider",
                json!({"name": "smtp", "credentials": creds}),
            )
            .await,
        409,
        "conflict",
    );
    let (status, patched) = mgmt
        .patch("/emails/provider", json!({"enabled": false}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["enabled"], false);
    for bad in [
        json!({"name": "mandrill"}),
        json!({"credentials": {"smtp_host": "h", "smtp_port": 99999, "smtp_user": "u", "smtp_pass": "p"}}),
        json!({"credentials": {"smtp_host": "h"}}),
        json!({"default_from_address": "nobody"}),
    ] {
        assert_mgmt_error(
            &mgmt.patch("/emails/provider", bad).await,
            400,
            "invalid_body",
        );
    }
    assert_eq!(mgmt.delete("/emails/provider").await.0, 204);
    assert_mgmt_error(
        &mgmt.get("/emails/provider").await,
        404,
        "inexistent_email_provider",
    );
}
