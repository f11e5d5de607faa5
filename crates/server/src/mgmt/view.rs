//! Pieces shared by the Management API's response views.

use time::OffsetDateTime;

/// RFC 3339, as Auth0 writes times.
pub fn iso(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
