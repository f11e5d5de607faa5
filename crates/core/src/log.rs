//! Tenant logs: what happened, in Auth0's event types (`seccft`, `feccft`, `sapi`, ...).

use time::OffsetDateTime;

use crate::log_type::LogType;

/// One log event.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// Time-ordered id (sorting by id sorts by time).
    pub log_id: String,
    /// When it happened.
    pub date: OffsetDateTime,
    /// Auth0's event type.
    pub kind: LogType,
    /// Human-readable summary.
    pub description: Option<String>,
    /// The client involved.
    pub client_id: Option<String>,
    /// Its name.
    pub client_name: Option<String>,
    /// The user involved.
    pub user_id: Option<String>,
    /// The connection involved.
    pub connection: Option<String>,
    /// The caller's address.
    pub ip: Option<String>,
    /// The caller's user agent.
    pub user_agent: Option<String>,
    /// Audience of an issued token.
    pub audience: Option<String>,
    /// Scope of an issued token.
    pub scope: Option<String>,
    /// Event-specific details (never secrets).
    pub details: serde_json::Value,
}

impl LogEvent {
    /// An event of `kind` at `date` with id `log_id` (time-ordered: the server makes it),
    /// everything else empty.
    pub fn new(kind: LogType, log_id: String, date: OffsetDateTime) -> Self {
        LogEvent {
            log_id,
            date,
            kind,
            description: None,
            client_id: None,
            client_name: None,
            user_id: None,
            connection: None,
            ip: None,
            user_agent: None,
            audience: None,
            scope: None,
            details: serde_json::json!({}),
        }
    }
}

/// Which logs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only this event type.
    pub kind: Option<String>,
    /// Only this user's.
    pub user_id: Option<String>,
    /// Only this client's.
    pub client_id: Option<String>,
    /// Only this connection's.
    pub connection: Option<String>,
    /// Only events after this log id (checkpoint paging), oldest first.
    pub after: Option<String>,
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events before this time.
    pub until: Option<OffsetDateTime>,
}

impl LogFilter {
    /// Parses Auth0's `q` for logs: `field:value` terms joined by `AND` (fields `type`,
    /// `user_id`, `client_id`, `connection`), values optionally quoted, and
    /// `date:[YYYY-MM-DD TO YYYY-MM-DD]` (UTC days, both included; `*` leaves an end open).
    pub fn parse(q: &str) -> Result<Self, String> {
        let mut f = LogFilter::default();
        for term in q.split(" AND ").map(str::trim).filter(|t| !t.is_empty()) {
            let (field, value) = term
                .split_once(':')
                .ok_or_else(|| format!("expected field:value, got {term}"))?;
            if field == "date" {
                (f.since, f.until) = date_range(value)?;
                continue;
            }
            let value = value.trim_matches('"').to_owned();
            if value.is_empty() {
                return Err(format!("empty value for {field}"));
            }
            let slot = match field {
                "type" => &mut f.kind,
                "user_id" => &mut f.user_id,
                "client_id" => &mut f.client_id,
                "connection" => &mut f.connection,
                other => return Err(format!("cannot search logs by {other}")),
            };
            *slot = Some(value);
        }
        Ok(f)
    }
}

/// `[a TO b]` of UTC days: from a's midnight to the midnight after b.
fn date_range(value: &str) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), String> {
    let bad = || format!("expected date:[YYYY-MM-DD TO YYYY-MM-DD], got {value}");
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(bad)?;
    let (from, to) = inner.split_once(" TO ").ok_or_else(bad)?;
    let day = |s: &str| -> Result<Option<time::Date>, String> {
        let s = s.trim();
        if s == "*" {
            return Ok(None);
        }
        let mut parts = s.splitn(3, '-').map(str::parse::<i32>);
        let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let month =
            time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
        time::Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| bad())?)
            .map(Some)
            .map_err(|_| bad())
    };
    let midnight = |d: time::Date| d.with_time(time::Time::MIDNIGHT).assume_utc();
    let since = day(from)?.map(midnight);
    let until = day(to)?
        .map(|d| d.next_day().map(midnight).ok_or_else(bad))
        .transpose()?;
    Ok((since, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_date_ranges_of_whole_days() {
        use time::macros::datetime;
        let f = LogFilter::parse("type:s AND date:[2026-11-01 TO 2026-11-30]").expect("parses");
        assert_eq!(f.kind.as_deref(), Some("s"));
        assert_eq!(f.since, Some(datetime!(2026-11-01 00:00 UTC)));
        assert_eq!(f.until, Some(datetime!(2026-12-01 00:00 UTC)));
        let open = LogFilter::parse("date:[* TO 2026-02-28]").expect("open start");
        assert_eq!(
            (open.since, open.until),
            (None, Some(datetime!(2026-03-01 00:00 UTC)))
        );
        for bad in ["date:2026-11-01", "date:[2026-13-01 TO *]", "date:[x TO y]"] {
            assert!(LogFilter::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_log_queries() {
        let f = LogFilter::parse(r#"type:seccft AND client_id:"abc""#).expect("parses");
        assert_eq!(f.kind.as_deref(), Some("seccft"));
        assert_eq!(f.client_id.as_deref(), Some("abc"));
        assert!(LogFilter::parse("ip:1.2.3.4").is_err());
        assert!(LogFilter::parse("type").is_err());
    }
}
