//! gatehouse as a SAML identity provider, what service providers read before a login: the
//! signing certificate (`/pem`, `/cer`, following a key rotation) and the IdP metadata of
//! an application (`/samlp/metadata/<client_id>`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::helpers::{client, spawn_app};

#[tokio::test]
async fn certificates_and_metadata_follow_the_current_key() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, sp) = mgmt
        .post(
            "/clients",
            json!({"name": "Wiki", "app_type": "regular_web",
                   "addons": {"samlp": {"audience": "https://wiki.example/sp"}}}),
        )
        .await;
    let id = sp["client_id"].as_str().expect("id").to_owned();
    let current_cert = |jwks: &serde_json::Value| {
        STANDARD
            .decode(jwks["keys"][0]["x5c"][0].as_str().expect("x5c"))
            .expect("der")
    };
    let der = |path: &'static str| {
        let url = app.url(path);
        async move {
            client()
                .get(url)
                .send()
                .await
                .expect("get")
                .bytes()
                .await
                .expect("body")
                .to_vec()
        }
    };
    let before = current_cert(&app.get_json("/.well-known/jwks.json").await);
    assert_eq!(der("/cer").await, before);
    let pem = String::from_utf8(der("/pem").await).expect("text");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert_eq!(STANDARD.decode(body).expect("base64"), before);
    let metadata = client()
        .get(app.url(&format!("/samlp/metadata/{id}")))
        .send()
        .await
        .expect("metadata")
        .text()
        .await
        .expect("xml");
    assert!(
        metadata.contains(r#"entityID="urn:gatehouse.auth0.com""#),
        "{metadata}"
    );
    assert!(metadata.contains(&format!(
        r#"Location="{}""#,
        app.url(&format!("/samlp/{id}"))
    )));
    assert!(metadata.contains(&STANDARD.encode(&before)));
    let unknown = client()
        .get(app.url("/samlp/metadata/nobody"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), 404);

    // After a rotation the new current key's certificate is served.
    let (status, _) = mgmt.post("/keys/signing/rotate", json!({})).await;
    assert_eq!(status, 201);
    let after = current_cert(&app.get_json("/.well-known/jwks.json").await);
    assert_ne!(after, before);
    assert_eq!(der("/cer").await, after);
}
