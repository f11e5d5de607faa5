//! Auth0's timesheets scenario: people record the hours they worked, read their own entries,
//! and approvers read everyone's and approve them. Entries live in memory; their owner is
//! the token's `sub`, never something the caller says.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Api, insufficient_scope};

const READ: &str = "read:timesheets";
const CREATE: &str = "create:timesheets";
const APPROVE: &str = "approve:timesheets";

#[derive(Default)]
pub(crate) struct Store {
    entries: Vec<Entry>,
}

#[derive(Clone, Serialize)]
struct Entry {
    id: u64,
    owner: String,
    date: String,
    project: String,
    hours: f64,
    notes: String,
    status: Status,
    approved_by: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Submitted,
    Approved,
}

#[derive(Deserialize)]
struct NewEntry {
    date: String,
    project: String,
    hours: f64,
    #[serde(default)]
    notes: String,
}

fn bad_request(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "error_description": description})),
    )
        .into_response()
}

/// `YYYY-MM-DD`, by shape only: the API stores the day the person names.
fn is_date(s: &str) -> bool {
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

impl NewEntry {
    fn check(&self) -> Result<(), &'static str> {
        if !is_date(&self.date) {
            return Err("date must be YYYY-MM-DD");
        }
        let project = self.project.trim();
        if project.is_empty() || project.chars().count() > 100 {
            return Err("project must be 1 to 100 characters");
        }
        if !(self.hours > 0.0 && self.hours <= 24.0) {
            return Err("hours must be more than 0 and at most 24");
        }
        if self.notes.chars().count() > 1000 {
            return Err("notes must be at most 1000 characters");
        }
        Ok(())
    }
}

/// `GET /timesheets`: everyone's entries for an approver, else the caller's own.
pub(crate) async fn list(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let claims = match api.authenticate(&headers, &api.timesheets_audience).await {
        Ok(claims) => claims,
        Err(refusal) => return refusal,
    };
    let all = claims.may(APPROVE);
    if !all && !claims.may(READ) {
        return insufficient_scope();
    }
    let store = api.timesheets.lock().unwrap_or_else(|e| e.into_inner());
    let entries: Vec<&Entry> = store
        .entries
        .iter()
        .filter(|e| all || e.owner == claims.sub)
        .collect();
    Json(entries).into_response()
}

/// `POST /timesheets`: a new entry of the caller's, submitted for approval.
// The body is read as bytes and parsed only after the token is checked: a request without a
// valid token gets its 401 (or 403), not a complaint about its body from an extractor.
pub(crate) async fn create(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match api.authenticate(&headers, &api.timesheets_audience).await {
        Ok(claims) => claims,
        Err(refusal) => return refusal,
    };
    if !claims.may(CREATE) {
        return insufficient_scope();
    }
    let new: NewEntry = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(e) => return bad_request(&format!("body: {e}")),
    };
    if let Err(why) = new.check() {
        return bad_request(why);
    }
    let mut store = api.timesheets.lock().unwrap_or_else(|e| e.into_inner());
    let entry = Entry {
        id: store.entries.len() as u64 + 1,
        owner: claims.sub,
        date: new.date,
        project: new.project.trim().to_owned(),
        hours: new.hours,
        notes: new.notes,
        status: Status::Submitted,
        approved_by: None,
    };
    store.entries.push(entry.clone());
    (StatusCode::CREATED, Json(entry)).into_response()
}

/// `POST /timesheets/{id}/approve`: approvers only; approving twice changes nothing.
pub(crate) async fn approve(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let claims = match api.authenticate(&headers, &api.timesheets_audience).await {
        Ok(claims) => claims,
        Err(refusal) => return refusal,
    };
    if !claims.may(APPROVE) {
        return insufficient_scope();
    }
    let mut store = api.timesheets.lock().unwrap_or_else(|e| e.into_inner());
    let Some(entry) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| store.entries.iter_mut().find(|e| e.id == id))
    else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response();
    };
    if entry.status != Status::Approved {
        entry.status = Status::Approved;
        entry.approved_by = Some(claims.sub);
    }
    Json(entry.clone()).into_response()
}
