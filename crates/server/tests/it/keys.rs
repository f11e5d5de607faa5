//! Key rotation as the JWKS shows it.

use gatehouse_core::signing_key::KeyState;
use serde_json::Value;

use crate::helpers::{TestApp, TestDb};

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[tokio::test]
async fn rotation_promotes_next_and_keeps_previous_published() {
    for db in TestDb::all().await {
        let app = TestApp::builder().db(db).spawn().await;
        let before = kids(&app.get_json("/.well-known/jwks.json").await);
        let (current, next) = (before[0].clone(), before[1].clone());

        let fresh =
            gatehouse_server::signing::generate(&app.state.sealer, KeyState::Next).expect("key");
        app.state
            .stores
            .signing_keys
            .rotate_signing_keys(&fresh)
            .await
            .expect("rotate");
        assert!(app.state.refresh_keys().await.expect("refresh"), "noticed");
        assert!(!app.state.refresh_keys().await.expect("refresh"), "once");

        let after = kids(&app.get_json("/.well-known/jwks.json").await);
        assert_eq!(
            after,
            vec![next.clone(), fresh.kid.clone(), current.clone()]
        );
        assert_eq!(app.state.keys.get().current.kid, next);

        // Tokens now carry the new current kid and verify against the published key.
        let token = app
            .state
            .keys
            .sign(&serde_json::json!({"sub": "s", "exp": 4_000_000_000u64}))
            .expect("sign");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(next.as_str()));
    }
}
