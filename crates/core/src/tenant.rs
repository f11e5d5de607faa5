//! The tenant: the one set of settings a gatehouse deployment has.

use serde::{Deserialize, Serialize};

/// Tenant-wide settings, stored as one JSON document so later settings need no migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    /// Human-readable tenant name shown on login pages.
    pub friendly_name: Option<String>,
    /// Audience used when `/authorize` or `/oauth/token` names none.
    pub default_audience: Option<String>,
    /// Connection used by the plain `password` grant.
    pub default_directory: Option<String>,
    /// Client id of the bootstrap Management API client made on first start.
    pub bootstrap_client_id: Option<String>,
}
