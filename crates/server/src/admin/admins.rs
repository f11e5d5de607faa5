//! Administrators: who they are, and inviting another (made through the Management API
//! like `gatehouse admin create`, the one-time set-password link shown to pass on).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gatehouse_core::admin::{ADMIN_CONNECTION, invitation, new_admin};
use serde::Deserialize;

use super::api::Api;
use super::page::{Flash, Posted, Shell, back, render};
use super::session::Admin;
use crate::AppState;

#[derive(Deserialize)]
struct Row {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    last_login: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
struct Admins {
    shell: Shell,
    admins: Vec<Row>,
    link: Option<String>,
}

/// `GET /admin/admins`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "q",
            &format!("identities.connection:\"{ADMIN_CONNECTION}\""),
        )
        .append_pair("per_page", "100")
        .append_pair("search_engine", "v3")
        .finish();
    let admins: Vec<Row> = match Api::new(&state, &admin)
        .get(&format!("/users?{query}"))
        .await
    {
        Ok(a) => a,
        Err(e) => return back("/admin/", Err(e.message)),
    };
    render(&Admins {
        shell: Shell::new(&admin, "admins", Flash::from_query(&q)),
        admins,
        link: q.get("link").cloned(),
    })
}

/// `POST /admin/admins`: invites `email`; the page shows the link to pass on.
pub async fn invite(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let Some(email) = form.get("email") else {
        return back("/admin/admins", Err("Give their email address.".into()));
    };
    let api = Api::new(&state, &admin);
    let placeholder = crate::crypto::placeholder_password();
    let user = match api.post("/users", &new_admin(email, &placeholder)).await {
        Ok(u) => u,
        Err(e) => return back("/admin/admins", Err(e.message)),
    };
    let user_id = user["user_id"].as_str().unwrap_or_default();
    match api
        .post(
            "/tickets/password-change",
            &invitation(user_id, &state.issuer),
        )
        .await
    {
        Ok(t) => {
            let link = t["ticket"].as_str().unwrap_or_default();
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(
                    "done",
                    &format!(
                        "{email} is invited: pass on the link below (it works once, for 7 days)."
                    ),
                )
                .append_pair("link", link)
                .finish();
            axum::response::IntoResponse::into_response(axum::response::Redirect::to(&format!(
                "/admin/admins?{query}"
            )))
        }
        Err(e) => back("/admin/admins", Err(e.message)),
    }
}
