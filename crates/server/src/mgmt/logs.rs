//! `/api/v2/logs` and `/api/v2/users/{id}/logs`, and the audit trail of Management writes.

use axum::Json;
use axum::extract::{MatchedPath, OriginalUri, Path, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_core::log::{LogEvent, LogFilter};
use gatehouse_core::log_type::LogType;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use super::auth::Authentication;
use super::body::MgmtQuery;
use super::error::MgmtError;
use super::page::{Listing, MAX_PER_PAGE, PageQuery, parse_bool};
use super::validate as v;
use crate::AppState;
use crate::http::caller_info::CallerInfo;

/// The Auth0 representation; absent fields are left out.
pub fn log_json(e: &LogEvent) -> Value {
    let mut out = Map::new();
    out.insert("log_id".into(), json!(e.log_id));
    out.insert(
        "date".into(),
        json!(e.date.format(&Rfc3339).unwrap_or_default()),
    );
    out.insert("type".into(), json!(e.kind));
    for (k, val) in [
        ("description", &e.description),
        ("client_id", &e.client_id),
        ("client_name", &e.client_name),
        ("user_id", &e.user_id),
        ("connection", &e.connection),
        ("ip", &e.ip),
        ("user_agent", &e.user_agent),
        ("audience", &e.audience),
        ("scope", &e.scope),
    ] {
        if let Some(val) = val {
            out.insert(k.into(), json!(val));
        }
    }
    out.insert("details".into(), e.details.clone());
    Value::Object(out)
}

/// Query of `GET /logs`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    q: Option<String>,
    /// auth0-python 6 sends the query as `search`.
    search: Option<String>,
    sort: Option<String>,
    fields: Option<String>,
    include_fields: Option<String>,
    from: Option<String>,
    take: Option<String>,
}

fn oldest_first(sort: Option<&str>) -> Result<bool, MgmtError> {
    match sort {
        None | Some("") | Some("date:-1") => Ok(false),
        Some("date:1") => Ok(true),
        Some(_) => Err(MgmtError::invalid_query("sort must be date:1 or date:-1")),
    }
}

async fn respond(
    state: &AppState,
    filter: LogFilter,
    q: &ListQuery,
) -> Result<Json<Value>, MgmtError> {
    // Read-your-writes on this replica: what this process queued is written first.
    state.logs.flush().await;
    let include = match q.include_fields.as_deref() {
        None => true,
        other => parse_bool("include_fields", other)?,
    };
    let render = |events: Vec<LogEvent>| {
        let mut items: Vec<Value> = events.iter().map(log_json).collect();
        v::select_fields(&mut items, q.fields.as_deref(), include);
        items
    };
    if let Some(take) = q.take.as_deref().filter(|t| !t.is_empty()) {
        // Checkpoint paging: events after `from`, oldest first, as a bare array.
        let take: u32 = take
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| MgmtError::invalid_query("take must be between 1 and 100"))?;
        let filter = LogFilter {
            after: Some(q.from.clone().unwrap_or_default()),
            ..filter
        };
        let page = gatehouse_core::store::Page {
            offset: 0,
            limit: take,
        };
        let events = state.stores.logs.list_logs(&filter, true, page).await?;
        return Ok(Json(Value::Array(render(events))));
    }
    let listing = Listing::offset(&q.page)?;
    let logs = &state.stores.logs;
    let events = logs
        .list_logs(&filter, oldest_first(q.sort.as_deref())?, listing.page())
        .await?;
    listing
        .answer("logs", render(events), logs.count_logs(&filter))
        .await
}

/// `GET /logs`.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let text = q.q.as_deref().or(q.search.as_deref());
    let filter = match text.filter(|s| !s.trim().is_empty()) {
        Some(text) => LogFilter::parse(text).map_err(MgmtError::invalid_query)?,
        None => LogFilter::default(),
    };
    respond(&state, filter, &q).await
}

/// `GET /logs/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    state.logs.flush().await;
    state
        .stores
        .logs
        .log(&id)
        .await?
        .map(|e| Json(log_json(&e)))
        .ok_or_else(|| MgmtError::not_found("Log event not found", "inexistent_log"))
}

/// `GET /users/{id}/logs`.
pub async fn user_logs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let filter = LogFilter {
        user_id: Some(id),
        ..LogFilter::default()
    };
    respond(&state, filter, &q).await
}

/// What a handler adds to its audit event (`details.change`), e.g. both users of a link.
#[derive(Debug, Clone)]
pub struct AuditDetails(pub Value);

/// Middleware: every Management write leaves a `sapi` (or, when refused, `fapi`) event
/// naming the route, the status, the calling client and the token's subject. Bodies are not
/// logged: they carry passwords and secrets.
pub async fn audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !super::is_write(request.method()) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    // Inside the nested router the URI has lost its `/api/v2` prefix; the original has it.
    let path = request.extensions().get::<OriginalUri>().map_or_else(
        || request.uri().path().to_owned(),
        |u| u.0.path().to_owned(),
    );
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let (parts, body) = request.into_parts();
    let info = CallerInfo::from_parts(&parts);
    // Verified once by `auth::authenticate`, never again here.
    let signer = parts
        .extensions
        .get::<Authentication>()
        .and_then(|a| a.signed_by.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    let mut event = crate::audit::event(
        &state.clock,
        if status.is_success() {
            LogType::SuccessApiOperation
        } else {
            LogType::FailedApiOperation
        },
    );
    event.description = Some(format!("{method} {route}"));
    event.ip = info.ip;
    event.user_agent = info.user_agent;
    event.client_id = signer.as_ref().and_then(|s| s.azp.clone());
    // A write about one user belongs in that user's log too.
    if route.starts_with("/api/v2/users/{id}") {
        event.user_id = path
            .strip_prefix("/api/v2/users/")
            .and_then(|rest| rest.split('/').next())
            .map(|id| {
                percent_encoding::percent_decode_str(id)
                    .decode_utf8_lossy()
                    .into_owned()
            });
    }
    event.details = json!({
        "request": {"method": method.as_str(), "path": path},
        "response": {"statusCode": status.as_u16()},
        "caller": signer.map(|s| s.sub),
    });
    if let Some(AuditDetails(change)) = response.extensions().get::<AuditDetails>() {
        event.details["change"] = change.clone();
    }
    state.logs.record(event);
    response
}
