//! The reads auth0-deploy-cli makes besides the resources gatehouse manages, answered in
//! Auth0's shapes so that an export or import does not stop at them.

use serde_json::json;

use crate::helpers::{Mgmt, assert_mgmt_error, spawn_app};

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
