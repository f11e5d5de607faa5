//! A connection as the Management API shows it: secrets left out, Auth0's defaults for what
//! was never set.

use gatehouse_core::connection::Connection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::secrets::public_options;

/// A connection in Auth0's representation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    /// `con_...`.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Where identities come from.
    pub strategy: String,
    /// Strategy-specific settings, less secrets.
    #[schema(value_type = Object)]
    pub options: Value,
    /// Clients that may use it.
    pub enabled_clients: Vec<String>,
    /// Auth0's `is_domain_connection`.
    pub is_domain_connection: bool,
    /// Realms it answers for (its name unless set).
    pub realms: Vec<String>,
    /// The name shown on login pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Auth0's `show_as_button`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_as_button: Option<bool>,
    /// String properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Option<Map<String, Value>>,
    /// Auth0 properties kept but not acted on (`mgmt::stored::CONNECTION`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: Map<String, Value>,
}

impl ConnectionView {
    /// The view of `c`.
    pub fn new(c: &Connection) -> Self {
        // Properties the Management API stored in `extra`, checked on the way in.
        fn get<T: DeserializeOwned>(extra: &Map<String, Value>, key: &str) -> Option<T> {
            extra
                .get(key)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
        }
        let e = &c.extra;
        ConnectionView {
            id: c.id.clone(),
            name: c.name.clone().into_string(),
            strategy: c.strategy.to_string(),
            options: public_options(&c.options.to_json()),
            enabled_clients: c
                .enabled_clients
                .clone()
                .into_iter()
                .map(Into::into)
                .collect(),
            is_domain_connection: get(e, "is_domain_connection").unwrap_or(false),
            realms: (get(e, "realms").unwrap_or_else(|| vec![c.name.clone()]))
                .into_iter()
                .map(Into::into)
                .collect(),
            display_name: get(e, "display_name"),
            show_as_button: get(e, "show_as_button"),
            metadata: get(e, "metadata"),
            stored: crate::mgmt::stored::shown(e, &crate::mgmt::stored::CONNECTION),
        }
    }

    /// The view as JSON, for field selection.
    pub fn into_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One client of `GET /connections/{id}/clients`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnabledClient {
    /// The client.
    pub client_id: String,
}
