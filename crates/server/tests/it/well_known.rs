//! Discovery and JWKS contracts, snapshotted.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn discovery_document() {
    let app = spawn_app().await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    let issuer = format!("{}/", app.address);
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["jwks_uri"], format!("{issuer}.well-known/jwks.json"));
    // The port changes every run; every URL is the issuer's, so replace it throughout.
    let stable: Value = serde_json::from_str(
        &serde_json::to_string(&doc)
            .expect("json")
            .replace(&issuer, "https://issuer.example/"),
    )
    .expect("json");
    insta::assert_json_snapshot!(stable);
    // RFC 8414 alias, as Auth0 serves it.
    let alias = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(alias, doc);
}

#[tokio::test]
async fn jwks_publishes_current_and_next() {
    let app = spawn_app().await;
    let r = app.get("/.well-known/jwks.json").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .starts_with("public")
    );
    let jwks: Value = r.json().await.expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2, "current and next on a new database");
    assert_eq!(keys[0]["kid"], app.state.keys.get().current.kid.as_str());
    for k in keys {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private parts"
        );
        assert_eq!(k["n"].as_str().map(str::len), Some(342), "RSA-2048 modulus");
    }
    insta::assert_json_snapshot!(jwks, {
        ".keys[].kid" => "[kid]",
        ".keys[].n" => "[modulus]",
        ".keys[].x5c[]" => "[certificate]",
        ".keys[].x5t" => "[sha1 thumbprint]",
    });
}
