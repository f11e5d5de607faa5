//! Users exports: `POST /api/v2/jobs/users-exports` makes the job, and its `location` is a
//! link on gatehouse that, like Auth0's pre-signed URL, is unguessable (32 random
//! characters, stored as a keyed hash), short-lived (ten minutes) and single-use, and
//! downloads with a plain GET. The file is written while it downloads: users are read a page
//! at a time by id and gzip-compressed page by page, so memory stays bounded whatever the
//! number of users.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::UserId;
use gatehouse_core::job::{ExportField, ExportSpec, Job};
use gatehouse_core::user::User;
use gatehouse_core::user_search::UserQuery;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::Write;
use subtle::ConstantTimeEq;
use time::Duration;
use utoipa::ToSchema;

use super::body::{MgmtJson, typed, wire_enum};
use super::error::MgmtError;
use super::jobs::JobView;
use super::users::UserView;
use super::validate::{self as v, bad};
use crate::AppState;

/// The kind of a users export job.
pub const EXPORT_KIND: &str = "users_export";
/// How long the download link works.
const LINK_LIFETIME: Duration = Duration::minutes(10);
/// Users read per database round trip while a file is written.
const PAGE: u32 = 500;
/// The most fields one export may name.
const MAX_FIELDS: usize = 100;

wire_enum! {
    /// The file's format.
    pub enum ExportFormat {
        /// One JSON object per line.
        Json = "json",
        /// Comma-separated values with a header row.
        Csv = "csv",
    }
}

/// One field to export.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    /// The user property (`email`, `user_metadata.plan`, `identities[0].connection`).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The column or key to write it as.
    #[schema(max_length = 200)]
    pub export_as: Option<String>,
}

/// The body of `POST /jobs/users-exports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsersExportBody {
    /// Only this connection's users.
    pub connection_id: Option<String>,
    /// `json` (default, one object per line) or `csv`.
    #[schema(value_type = Option<ExportFormat>)]
    pub format: Option<ExportFormat>,
    /// At most this many users.
    #[schema(minimum = 1)]
    pub limit: Option<u64>,
    /// The fields; without them, the whole user as the Management API shows it.
    #[schema(max_items = 100)]
    pub fields: Option<Vec<FieldBody>>,
}

fn random_link() -> String {
    crate::crypto::random_secret(32)
}

fn link_hash(state: &AppState, secret: &str) -> Vec<u8> {
    state.hasher.hash(&format!("{EXPORT_KIND}:{secret}"))
}

fn seal_context(job_id: &str) -> String {
    format!("{EXPORT_KIND}:{job_id}")
}

/// `POST /jobs/users-exports`: 201 with the job, already `completed` (the file is written as
/// it downloads) and its `location`.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: UsersExportBody = typed(body)?;
    let connection = match &body.connection_id {
        Some(id) => Some(
            state
                .stores
                .connections
                .connection(id)
                .await?
                .ok_or_else(|| bad("connection_id", "The connection does not exist"))?,
        ),
        None => None,
    };
    let fields = body.fields.unwrap_or_default();
    if fields.len() > MAX_FIELDS {
        return Err(bad(
            "fields",
            format!("at most {MAX_FIELDS} items are allowed"),
        ));
    }
    for f in &fields {
        v::max_chars("fields.name", &f.name, 200)?;
        v::not_blank("fields.name", &f.name)?;
        if let Some(e) = &f.export_as {
            v::max_chars("fields.export_as", e, 200)?;
        }
    }
    if body.limit == Some(0) {
        return Err(bad("limit", "must be at least 1"));
    }
    let now = state.clock.now();
    let id = crate::ids::new_job_id();
    let secret = random_link();
    let spec = ExportSpec {
        format: body
            .format
            .unwrap_or(ExportFormat::Json)
            .as_str()
            .to_owned(),
        fields: fields
            .into_iter()
            .map(|f| ExportField {
                name: f.name,
                export_as: f.export_as,
            })
            .collect(),
        limit: body.limit,
        connection: connection.as_ref().map(|c| c.name.as_str().to_owned()),
        link_sealed: state.sealer.seal(&seal_context(&id), secret.as_bytes()),
        link_hash: link_hash(&state, &secret),
        link_expires_at: Some(now + LINK_LIFETIME),
    };
    let job = Job {
        id,
        kind: EXPORT_KIND.to_owned(),
        status: "completed".to_owned(),
        connection_id: body.connection_id.unwrap_or_default(),
        external_id: None,
        created_at: now,
        summary: Default::default(),
        errors: Vec::new(),
        export: Some(spec),
    };
    state.stores.jobs.save_job(&job, now).await?;
    let view = view(&state, &job);
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// The job as shown: an export's format, limit, fields and, while it works, `location`.
pub fn view(state: &AppState, job: &Job) -> JobView {
    let mut view = JobView::new(job);
    let Some(spec) = &job.export else {
        return view;
    };
    view.format = Some(spec.format.clone());
    view.limit = spec.limit;
    view.fields = Some(
        spec.fields
            .iter()
            .map(|f| {
                let mut o = Map::new();
                o.insert("name".into(), Value::String(f.name.clone()));
                if let Some(e) = &f.export_as {
                    o.insert("export_as".into(), Value::String(e.clone()));
                }
                Value::Object(o)
            })
            .collect(),
    );
    let live = spec.link_expires_at.is_some_and(|t| t > state.clock.now());
    let secret = state
        .sealer
        .open(&seal_context(&job.id), &spec.link_sealed)
        .ok()
        .and_then(|s| String::from_utf8(s).ok());
    if let (true, Some(secret)) = (live, secret) {
        view.location = Some(format!(
            "{}exports/{}/{secret}.{}.gz",
            state.issuer, job.id, spec.format
        ));
    }
    view
}

fn gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        "This export link does not exist, has expired or was already used.",
    )
        .into_response()
}

/// `GET /exports/{job_id}/{secret}.{json|csv}.gz`: the file, once.
pub async fn download(
    State(state): State<AppState>,
    Path((job_id, file)): Path<(String, String)>,
) -> Response {
    match open_link(&state, &job_id, &file).await {
        Ok(Some(spec)) => stream(state, spec),
        Ok(None) => gone(),
        Err(e) => {
            tracing::warn!(error = %e, "users export not served");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The export the link opens, if it is right, in time and not used before (using it now).
async fn open_link(
    state: &AppState,
    job_id: &str,
    file: &str,
) -> Result<Option<ExportSpec>, gatehouse_core::store::StoreError> {
    let Some(job) = state.stores.jobs.job(job_id).await? else {
        return Ok(None);
    };
    let Some(spec) = job.export.filter(|_| job.kind == EXPORT_KIND) else {
        return Ok(None);
    };
    let suffix = format!(".{}.gz", spec.format);
    let Some(secret) = file.strip_suffix(&suffix) else {
        return Ok(None);
    };
    let matches = bool::from(link_hash(state, secret).ct_eq(&spec.link_hash));
    let now = state.clock.now();
    let Some(expires) = spec.link_expires_at.filter(|t| matches && *t > now) else {
        return Ok(None);
    };
    let first = state
        .stores
        .sessions
        .use_once(&spec.link_hash, expires, now)
        .await?;
    Ok(first.then_some(spec))
}

/// Where the walk over the users is.
struct Walk {
    state: AppState,
    spec: ExportSpec,
    query: Option<UserQuery>,
    after: Option<UserId>,
    written: u64,
    gzip: Option<flate2::write::GzEncoder<Vec<u8>>>,
}

fn stream(state: AppState, spec: ExportSpec) -> Response {
    let query = match &spec.connection {
        Some(c) => {
            let quoted = c.replace('\\', "\\\\").replace('"', "\\\"");
            match gatehouse_core::user_search::parse(&format!("identities.connection:\"{quoted}\""))
            {
                Ok(q) => Some(q),
                // Never every user instead of one connection's.
                Err(e) => {
                    tracing::warn!(error = %e, "users export: connection filter unusable");
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            }
        }
        None => None,
    };
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    if spec.format == "csv" {
        let header: Vec<String> = match spec.fields.is_empty() {
            // Without fields each row is the whole user as one JSON cell.
            true => vec!["user".to_owned()],
            false => spec
                .fields
                .iter()
                .map(column)
                .map(|c| csv_cell(&c))
                .collect(),
        };
        writeln!(gzip, "{}", header.join(",")).ok();
    }
    let filename = format!("users.{}.gz", spec.format);
    let walk = Walk {
        state,
        spec,
        query,
        after: None,
        written: 0,
        gzip: Some(gzip),
    };
    let body = futures_util::stream::unfold(walk, next_chunk);
    (
        [
            (header::CONTENT_TYPE, "application/gzip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// The next compressed chunk: one page of users, or the end of the gzip stream.
async fn next_chunk(mut walk: Walk) -> Option<(Result<Bytes, std::io::Error>, Walk)> {
    let mut gzip = walk.gzip.take()?;
    let room = walk.spec.limit.map_or(u64::MAX, |l| l - walk.written);
    let page = if room == 0 {
        Ok(Vec::new())
    } else {
        let limit = u32::try_from(room.min(u64::from(PAGE))).unwrap_or(PAGE);
        walk.state
            .stores
            .users
            .users_after(walk.query.as_ref(), walk.after.as_ref(), limit)
            .await
    };
    let users = match page {
        Ok(users) => users,
        Err(e) => return Some((Err(std::io::Error::other(e.to_string())), walk)),
    };
    if users.is_empty() {
        // The end: the gzip trailer, then nothing more.
        return Some((gzip.finish().map(Bytes::from), walk));
    }
    for user in &users {
        let line = record(&walk.spec, user);
        if let Err(e) = writeln!(gzip, "{line}") {
            return Some((Err(e), walk));
        }
    }
    walk.written += users.len() as u64;
    walk.after = users.last().map(|u| u.user_id.clone());
    let chunk = gzip
        .flush()
        .map(|()| Bytes::from(std::mem::take(gzip.get_mut())));
    walk.gzip = Some(gzip);
    Some((chunk, walk))
}

fn column(f: &ExportField) -> String {
    f.export_as.clone().unwrap_or_else(|| f.name.clone())
}

/// One user as a line of the file.
fn record(spec: &ExportSpec, user: &User) -> String {
    let whole = UserView::new(user).into_json();
    if spec.fields.is_empty() {
        return match spec.format.as_str() {
            "csv" => csv_cell(&whole.to_string()),
            _ => whole.to_string(),
        };
    }
    if spec.format == "csv" {
        let cells: Vec<String> = spec
            .fields
            .iter()
            .map(|f| match lookup(&whole, &f.name) {
                Some(Value::String(s)) => csv_cell(s),
                Some(Value::Null) | None => String::new(),
                Some(other) => csv_cell(&other.to_string()),
            })
            .collect();
        return cells.join(",");
    }
    let mut out = Map::new();
    for f in &spec.fields {
        if let Some(v) = lookup(&whole, &f.name) {
            out.insert(column(f), v.clone());
        }
    }
    Value::Object(out).to_string()
}

/// `a.b[0].c` in `value`.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut at = value;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.strip_suffix(']')?.parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            at = at.get(key)?;
        }
        if let Some(i) = index {
            at = at.get(i)?;
        }
    }
    Some(at)
}

/// A CSV cell (RFC 4180), with a leading `=`, `+`, `-`, `@`, tab or carriage return
/// neutralised: a spreadsheet
/// would run it as a formula, and user profile text is the attacker's to choose.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\t=1+1"), "'\t=1+1");
    }

    #[test]
    fn fields_are_property_paths() {
        let v = json!({"email": "a@b", "user_metadata": {"plan": "gold"},
                       "identities": [{"connection": "db"}]});
        assert_eq!(lookup(&v, "email"), Some(&json!("a@b")));
        assert_eq!(lookup(&v, "user_metadata.plan"), Some(&json!("gold")));
        assert_eq!(lookup(&v, "identities[0].connection"), Some(&json!("db")));
        assert_eq!(lookup(&v, "identities[3].connection"), None);
        assert_eq!(lookup(&v, "nope.deeper"), None);
    }
}
