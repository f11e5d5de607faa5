//! `/api/v2/stats`: active users (a login in the last 30 days) and daily logins and sign-ups,
//! counted from the users table and the tenant logs (`s` and `ss` events; days whose logs
//! were swept count what is left).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time};
use utoipa::ToSchema;

use super::body::MgmtQuery;
use super::error::MgmtError;
use super::validate::bad;
use crate::AppState;

/// The longest range `/stats/daily` answers, in days.
const MAX_DAYS: i64 = 366;

/// One day, as Auth0 shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyStatsView {
    /// The day (midnight UTC, ISO 8601).
    pub date: String,
    /// Successful logins.
    pub logins: i64,
    /// Successful sign-ups.
    pub signups: i64,
    /// Breached-password detections (gatehouse has none).
    pub leaked_passwords: i64,
    /// When the counts were computed.
    pub updated_at: String,
    /// The day again (Auth0 shows when its row was made).
    pub created_at: String,
}

/// The query of `/stats/daily`: `from` and `to` as `YYYYMMDD`, both included.
#[derive(Debug, Deserialize)]
pub struct DailyQuery {
    from: Option<String>,
    to: Option<String>,
}

fn day(name: &str, value: &str) -> Result<Date, MgmtError> {
    Date::parse(value, format_description!("[year][month][day]"))
        .map_err(|_| bad(name, "must be a date as YYYYMMDD"))
}

fn iso(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// `GET /stats/active-users`: a bare number.
pub async fn active_users(State(state): State<AppState>) -> Result<Json<i64>, MgmtError> {
    let since = state.clock.now() - Duration::days(30);
    Ok(Json(state.stores.users.count_active_users(since).await?))
}

/// `GET /stats/daily`: every day of the range (the last 30 by default), zeros included.
pub async fn daily(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<DailyQuery>,
) -> Result<Json<Vec<DailyStatsView>>, MgmtError> {
    let now = state.clock.now();
    let to = match q.to.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => day("to", t)?,
        None => now.date(),
    };
    let from = match q.from.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => day("from", f)?,
        None => to - Duration::days(29),
    };
    let days = (to - from).whole_days() + 1;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(bad(
            "from",
            format!("the range must be 1 to {MAX_DAYS} days, from before to"),
        ));
    }
    let start = from.with_time(Time::MIDNIGHT).assume_utc();
    // Events still in the writer's buffer count too, as on `/logs`.
    state.logs.flush().await;
    let counts = state
        .stores
        .logs
        .daily_counts(
            &gatehouse_core::log_type::DAILY_TYPES,
            start,
            start + Duration::days(days),
        )
        .await?;
    let out = (0..days)
        .map(|i| {
            let midnight = start + Duration::days(i);
            let key = midnight.date().to_string();
            let found = counts.iter().find(|c| c.day == key);
            DailyStatsView {
                date: iso(midnight),
                logins: found.map_or(0, |c| c.logins),
                signups: found.map_or(0, |c| c.signups),
                leaked_passwords: 0,
                updated_at: iso(now),
                created_at: iso(midnight),
            }
        })
        .collect();
    Ok(Json(out))
}
