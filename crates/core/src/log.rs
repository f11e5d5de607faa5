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
}

impl LogFilter {
    /// Parses Auth0's `q` for logs: `field:value` terms joined by `AND` (fields `type`,
    /// `user_id`, `client_id`, `connection`), values optionally quoted.
    pub fn parse(q: &str) -> Result<Self, String> {
        let mut f = LogFilter::default();
        for term in q.split(" AND ").map(str::trim).filter(|t| !t.is_empty()) {
            let (field, value) = term
                .split_once(':')
                .ok_or_else(|| format!("expected field:value, got {term}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_queries() {
        let f = LogFilter::parse(r#"type:seccft AND client_id:"abc""#).expect("parses");
        assert_eq!(f.kind.as_deref(), Some("seccft"));
        assert_eq!(f.client_id.as_deref(), Some("abc"));
        assert!(LogFilter::parse("ip:1.2.3.4").is_err());
        assert!(LogFilter::parse("type").is_err());
    }
}
