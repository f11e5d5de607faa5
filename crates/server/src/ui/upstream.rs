//! The login page's links to upstream identity providers: `GET /u/upstream?tx=&connection=`
//! opens the page's transaction (bound to this browser) and sends the browser on to the
//! provider, so the choice works without JavaScript.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use crate::AppState;
use crate::error::OAuthError;
use crate::pages;
use crate::ui::bound_form::bound_transaction;

/// The link's query.
#[derive(Debug, Deserialize)]
pub struct UpstreamQuery {
    tx: String,
    connection: String,
}

/// The handler of the link.
pub async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<UpstreamQuery>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand(&state).await;
    let (mut tx, client) = match bound_transaction(&state, &headers, &q.tx, &tenant).await {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let connection = state
        .stores
        .connections
        .connection_by_name(&q.connection.as_str().into())
        .await?
        .filter(|c| {
            crate::upstream::is_upstream(c) && c.enabled_clients.contains(&client.client_id)
        });
    let Some(connection) = connection else {
        return Ok(pages::error_page(
            &tenant,
            "This application does not offer that way to log in.",
        ));
    };
    tx.connection = Some(connection.name.to_string());
    crate::upstream::start(&state, &tx, &connection).await
}
