//! A client as the Management API shows it, with Auth0's defaults for what was never set.

use gatehouse_core::client::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::settings::{
    AppTypeName, JwtConfiguration, Mobile, OrganizationRequireBehavior, OrganizationUsage,
    RefreshTokenPolicy,
};

/// An application in Auth0's representation.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct ClientView {
    /// The public client id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Application type.
    pub app_type: AppTypeName,
    /// Always false: there is no global client here.
    pub global: bool,
    /// Whether the tenant owner made it.
    pub is_first_party: bool,
    /// Whether only OIDC-conformant flows are allowed.
    pub oidc_conformant: bool,
    /// Allowed callback URLs.
    pub callbacks: Vec<String>,
    /// Allowed CORS origins.
    pub allowed_origins: Vec<String>,
    /// Allowed web origins.
    pub web_origins: Vec<String>,
    /// Allowed URLs after logout.
    pub allowed_logout_urls: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// How the client authenticates at the token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// ID-token settings.
    pub jwt_configuration: JwtConfiguration,
    /// Auth0's `custom_login_page_on`.
    pub custom_login_page_on: bool,
    /// Auth0's `sso_disabled`.
    pub sso_disabled: bool,
    /// Whether cross-origin authentication is allowed.
    pub cross_origin_authentication: bool,
    /// Whether `auth0-forwarded-for` is trusted at the token endpoint.
    pub is_token_endpoint_ip_header_trusted: bool,
    /// String properties of the client.
    #[schema(value_type = HashMap<String, String>)]
    pub client_metadata: Map<String, Value>,
    /// Logo URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Where a third party starts a login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiate_login_uri: Option<String>,
    /// Fallback page for cross-origin authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_origin_loc: Option<String>,
    /// Auth0's `custom_login_page`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_login_page: Option<String>,
    /// Alternative names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_aliases: Option<Vec<String>>,
    /// Clients that may delegate to this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_clients: Option<Vec<String>>,
    /// Refresh-token policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshTokenPolicy>,
    /// App-link settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Mobile>,
    /// Auth0's `sso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<bool>,
    /// Auth0's `require_pushed_authorization_requests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Auth0's `organization_usage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_usage: Option<OrganizationUsage>,
    /// Auth0's `organization_require_behavior`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_require_behavior: Option<OrganizationRequireBehavior>,
    /// Add-on settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub addons: Option<Map<String, Value>>,
    /// Back-channel logout settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub oidc_logout: Option<Map<String, Value>>,
    /// The secret, for callers allowed to see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Auth0 properties kept but not acted on (`mgmt::stored::CLIENT`; the document lists
    /// them from that table).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: Map<String, Value>,
}

impl ClientView {
    /// The view of `c`; `secret` is the plain secret when the caller may see it.
    pub fn new(c: &Client, secret: Option<&str>) -> Self {
        let s = &c.settings;
        // Settings the Management API stored in `extra`, checked by `ClientBody` on the way in.
        fn get<T: DeserializeOwned>(extra: &Map<String, Value>, key: &str) -> Option<T> {
            extra
                .get(key)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
        }
        // Settings core types, in their wire form (the two share Auth0's JSON).
        fn wire<T: serde::Serialize, W: DeserializeOwned>(typed: &Option<T>) -> Option<W> {
            serde_json::from_value(serde_json::to_value(typed.as_ref()?).ok()?).ok()
        }
        let e = &s.extra;
        ClientView {
            client_id: c.client_id.clone().into_string(),
            name: c.name.clone(),
            description: s.description.clone(),
            app_type: c.app_type.into(),
            global: false,
            is_first_party: s.is_first_party,
            oidc_conformant: s.oidc_conformant,
            callbacks: s.callbacks.clone(),
            allowed_origins: s.allowed_origins.clone(),
            web_origins: s.web_origins.clone(),
            allowed_logout_urls: s.allowed_logout_urls.clone(),
            grant_types: s.grant_types.clone(),
            token_endpoint_auth_method: s.token_endpoint_auth_method.clone(),
            jwt_configuration: wire(&s.jwt_configuration)
                .unwrap_or_else(JwtConfiguration::auth0_default),
            custom_login_page_on: get(e, "custom_login_page_on").unwrap_or(true),
            sso_disabled: get(e, "sso_disabled").unwrap_or(false),
            cross_origin_authentication: get(e, "cross_origin_authentication").unwrap_or(false),
            is_token_endpoint_ip_header_trusted: s
                .is_token_endpoint_ip_header_trusted
                .unwrap_or(false),
            client_metadata: get(e, "client_metadata").unwrap_or_default(),
            logo_uri: get(e, "logo_uri"),
            initiate_login_uri: get(e, "initiate_login_uri"),
            cross_origin_loc: get(e, "cross_origin_loc"),
            custom_login_page: get(e, "custom_login_page"),
            client_aliases: get(e, "client_aliases"),
            allowed_clients: get(e, "allowed_clients"),
            refresh_token: wire(&s.refresh_token),
            mobile: wire(&s.mobile),
            sso: get(e, "sso"),
            require_pushed_authorization_requests: get(e, "require_pushed_authorization_requests"),
            organization_usage: get(e, "organization_usage"),
            organization_require_behavior: get(e, "organization_require_behavior"),
            addons: get(e, "addons"),
            oidc_logout: get(e, "oidc_logout"),
            client_secret: secret.map(str::to_owned),
            stored: crate::mgmt::stored::shown(e, &crate::mgmt::stored::CLIENT),
        }
    }

    /// The view as JSON, for field selection.
    pub fn into_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The view less what `update:client_keys` alone may change: how the client
    /// authenticates (`token_endpoint_auth_method`) and how its secret and signatures are read
    /// (`jwt_configuration.secret_encoded`, `.alg`). The secret itself is outside the
    /// comparison.
    pub fn without_credentials(mut self) -> Self {
        self.token_endpoint_auth_method = None;
        self.client_secret = None;
        self.jwt_configuration.secret_encoded = None;
        self.jwt_configuration.alg = None;
        self
    }
}
