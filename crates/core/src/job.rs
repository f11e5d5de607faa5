//! Jobs: long-running Management API work (`/api/v2/jobs`), kept so callers can read the
//! outcome and the per-user errors afterwards.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Counts of a finished users import, as Auth0 reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Users that could not be imported.
    pub failed: u64,
    /// Existing users changed (with `upsert`).
    pub updated: u64,
    /// New users.
    pub inserted: u64,
    /// Users in the file.
    pub total: u64,
}

/// One user the import refused, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportError {
    /// The user's entry as it was in the file.
    pub user: serde_json::Value,
    /// Auth0-style codes (`INVALID_FORMAT`, `DUPLICATED_USER`, ...) with messages.
    pub errors: Vec<ImportProblem>,
}

/// One problem with one user entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProblem {
    /// Machine-readable code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The property at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A job and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// `job_` and 16 letters and digits.
    pub id: String,
    /// `users_import`.
    pub kind: String,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    /// The connection the users went into.
    pub connection_id: String,
    /// The caller's own reference, echoed back.
    pub external_id: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// What happened.
    pub summary: ImportSummary,
    /// The users that failed.
    pub errors: Vec<ImportError>,
    /// What a users export writes, and the link it is downloaded from.
    pub export: Option<ExportSpec>,
}

/// A users export: the file's format and columns, and its one-time download link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSpec {
    /// `json` (one object per line) or `csv`.
    pub format: String,
    /// The fields, each a property path of the user (`user_metadata.plan`) and its column
    /// name; empty: the whole user.
    pub fields: Vec<ExportField>,
    /// At most this many users.
    pub limit: Option<u64>,
    /// The connection whose users are exported; `None`: every user.
    pub connection: Option<String>,
    /// The download link's secret, sealed under the master key (shown by `GET /jobs/{id}`).
    pub link_sealed: Vec<u8>,
    /// Its keyed hash (checked, in constant time, when it is used).
    pub link_hash: Vec<u8>,
    /// When the link stops working.
    pub link_expires_at: Option<OffsetDateTime>,
}

/// One exported field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportField {
    /// The user property (a dotted path).
    pub name: String,
    /// The column or key it is written as.
    pub export_as: Option<String>,
}

/// The largest users file accepted. Auth0 takes 500 KB per file; gatehouse takes a tenant's
/// users in one file (a hundred thousand users are about 30 MB) and imports it in the
/// background, reading one user at a time.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// The highest bcrypt cost an import may bring: every login attempt pays it (cost 14 is
/// about 1 s on one core; 31 would be days, a denial of service planted in a file).
pub const MAX_BCRYPT_COST: u8 = 14;

/// Whether `hash` is a bcrypt hash that verification can use (`$2a$`, `$2b$` or `$2y$`, a
/// cost from 4 to [`MAX_BCRYPT_COST`] and 53 characters of salt and digest in bcrypt's
/// base64).
pub fn is_bcrypt_hash(hash: &str) -> bool {
    let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|p| hash.strip_prefix(p))
    else {
        return false;
    };
    let Some((cost, body)) = rest.split_once('$') else {
        return false;
    };
    cost.len() == 2
        && cost
            .parse::<u8>()
            .is_ok_and(|c| (4..=MAX_BCRYPT_COST).contains(&c))
        && body.len() == 53
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_are_recognised_strictly() {
        let good = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert!(is_bcrypt_hash(good));
        assert!(is_bcrypt_hash(&good.replace("$2b$", "$2y$")));
        assert!(is_bcrypt_hash(&good.replace("$2b$", "$2a$")));
        for bad in [
            "",
            "$2x$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2b$03$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2b$32$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2b$15$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhW",
            "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lh!y",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        ] {
            assert!(!is_bcrypt_hash(bad), "{bad}");
        }
    }
}
