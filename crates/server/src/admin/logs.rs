//! Logs: filtered by type, user, application and days (Auth0's `q` for logs), newest first,
//! paged; and the feed behind the live tail (checkpoint paging from the newest shown).

use std::collections::HashMap;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::Api;
use super::page::{Flash, Shell, render, with_csp};
use super::session::Admin;
use super::users::LogRow;
use crate::AppState;

const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "admin/logs.html")]
struct Logs {
    shell: Shell,
    logs: Vec<LogRow>,
    kind: String,
    user: String,
    client: String,
    from: String,
    to: String,
    page: u32,
    more: bool,
    newest: String,
    query: String,
}

/// Auth0's logs `q` for the form's filters; a value is quoted, so nothing in it is syntax.
pub fn query_of(kind: &str, user: &str, client: &str, from: &str, to: &str) -> String {
    let quote = |v: &str| format!("\"{}\"", v.replace('"', ""));
    let mut terms = Vec::new();
    if !kind.is_empty() {
        terms.push(format!("type:{}", quote(kind)));
    }
    if !user.is_empty() {
        terms.push(format!("user_id:{}", quote(user)));
    }
    if !client.is_empty() {
        terms.push(format!("client_id:{}", quote(client)));
    }
    if !from.is_empty() || !to.is_empty() {
        let end = |v: &str| {
            if v.is_empty() {
                "*".to_owned()
            } else {
                v.to_owned()
            }
        };
        terms.push(format!("date:[{} TO {}]", end(from), end(to)));
    }
    terms.join(" AND ")
}

/// `GET /admin/logs?type=&user=&client=&from=&to=&page=`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (kind, user, client, from, to) = (
        field("type"),
        field("user"),
        field("client"),
        field("from"),
        field("to"),
    );
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let query = query_of(&kind, &user, &client, &from, &to);
    let path = {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string())
            .append_pair("sort", "date:-1");
        if !query.is_empty() {
            s.append_pair("q", &query);
        }
        format!("/logs?{}", s.finish())
    };
    let mut flash = Flash::from_query(&q);
    let logs: Vec<LogRow> = match Api::new(&state, &admin).get(&path).await {
        Ok(l) => l,
        Err(e) => {
            flash = Flash::error(e.message);
            Vec::new()
        }
    };
    let newest = logs.first().map(|l| l.log_id.clone()).unwrap_or_default();
    let more = logs.len() == PER_PAGE as usize;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("type", &kind),
            ("user", &user),
            ("client", &client),
            ("from", &from),
            ("to", &to),
        ])
        .finish();
    render(&Logs {
        shell: Shell::new(&admin, "logs", flash),
        logs,
        kind,
        user,
        client,
        from,
        to,
        page,
        more,
        newest,
        query,
    })
}

/// `GET /admin/logs/feed?from=<log_id>`: events after it, oldest first, for the live tail.
pub async fn feed(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let from = q.get("from").cloned().unwrap_or_default();
    let path = format!("/logs?take=50&from={}", super::apps::urlencoding(&from));
    match Api::new(&state, &admin).get::<Vec<Value>>(&path).await {
        Ok(events) => {
            let rows: Vec<Value> = events
                .iter()
                .map(|e| {
                    json!({
                        "log_id": e["log_id"],
                        "date": e["date"],
                        "type": e["type"],
                        "description": e["description"],
                        "user": e["user_name"].as_str().or(e["user_id"].as_str()),
                        "client": e["client_name"].as_str().or(e["client_id"].as_str()),
                    })
                })
                .collect();
            with_csp(Json(rows).into_response())
        }
        Err(e) => with_csp((e.status, e.message).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_auth0_log_queries_with_quoted_values() {
        assert_eq!(query_of("", "", "", "", ""), "");
        assert_eq!(
            query_of("s", "auth0|1", "", "2026-11-01", ""),
            "type:\"s\" AND user_id:\"auth0|1\" AND date:[2026-11-01 TO *]"
        );
        assert_eq!(query_of("", "", "a\" OR x", "", ""), "client_id:\"a OR x\"");
    }
}
