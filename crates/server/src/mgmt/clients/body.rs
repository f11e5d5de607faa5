//! The body of `POST /clients` and `PATCH /clients/{id}`: Auth0's application properties,
//! typed, and the rules their types cannot say (lengths, URLs, ranges, metadata limits).

use gatehouse_core::client::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::settings::{
    AppTypeName, AuthMethod, GrantType, JwtConfiguration, Mobile, OrganizationRequireBehavior,
    OrganizationUsage, RefreshTokenPolicy,
};
use crate::mgmt::body::{nullable, present};
use crate::mgmt::error::MgmtError;
use crate::mgmt::validate::{self as v, bad};

/// A patchable property: absent leaves it, `null` unsets it.
type Patch<T> = Option<Option<T>>;

/// The properties of `POST /clients` (where `name` is required) and `PATCH /clients/{id}`
/// (where `null` unsets an optional property).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    /// Display name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 140)]
    pub description: Patch<String>,
    /// Logo URL (http or https).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub logo_uri: Patch<String>,
    /// Application type.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = AppTypeName)]
    pub app_type: Option<AppTypeName>,
    /// Whether the tenant owner made it (default true).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub is_first_party: Patch<bool>,
    /// Whether only OIDC-conformant flows are allowed.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub oidc_conformant: Patch<bool>,
    /// Allowed callback URLs (at most 100).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    pub callbacks: Patch<Vec<String>>,
    /// Allowed CORS origins (at most 100).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    pub allowed_origins: Patch<Vec<String>>,
    /// Allowed web origins (at most 100).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    pub web_origins: Patch<Vec<String>>,
    /// Allowed URLs after logout (at most 100).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    pub allowed_logout_urls: Patch<Vec<String>>,
    /// Alternative names.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub client_aliases: Patch<Vec<String>>,
    /// Clients that may delegate to this one.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_clients: Patch<Vec<String>>,
    /// Grant types (defaults per application type).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<GrantType>>)]
    pub grant_types: Patch<Vec<GrantType>>,
    /// How the client authenticates (defaults per application type).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<AuthMethod>)]
    pub token_endpoint_auth_method: Patch<AuthMethod>,
    /// ID-token settings.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<JwtConfiguration>)]
    pub jwt_configuration: Patch<JwtConfiguration>,
    /// Refresh-token policy.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<RefreshTokenPolicy>)]
    pub refresh_token: Patch<RefreshTokenPolicy>,
    /// Up to 10 string properties; on `PATCH`, `null` deletes a key.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    pub client_metadata: Patch<Map<String, Value>>,
    /// App-link settings.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Mobile>)]
    pub mobile: Patch<Mobile>,
    /// Whether cross-origin authentication is allowed.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub cross_origin_authentication: Patch<bool>,
    /// Fallback page for cross-origin authentication.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub cross_origin_loc: Patch<String>,
    /// Where a third party starts a login (https).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub initiate_login_uri: Patch<String>,
    /// Auth0's `sso`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub sso: Patch<bool>,
    /// Auth0's `sso_disabled`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub sso_disabled: Patch<bool>,
    /// Auth0's `custom_login_page_on`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub custom_login_page_on: Patch<bool>,
    /// Auth0's `custom_login_page` (kept, not served).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100_000)]
    pub custom_login_page: Patch<String>,
    /// Whether `auth0-forwarded-for` is trusted at the token endpoint.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub is_token_endpoint_ip_header_trusted: Patch<bool>,
    /// Auth0's `organization_usage`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<OrganizationUsage>)]
    pub organization_usage: Patch<OrganizationUsage>,
    /// Auth0's `organization_require_behavior`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<OrganizationRequireBehavior>)]
    pub organization_require_behavior: Patch<OrganizationRequireBehavior>,
    /// Auth0's `require_pushed_authorization_requests`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub require_pushed_authorization_requests: Patch<bool>,
    /// Add-on settings, kept as given.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub addons: Patch<Map<String, Value>>,
    /// OpenID Connect Back-Channel Logout: each of `backchannel_logout_urls` (https, or http
    /// on loopback) gets a logout token when a session the application took part in ends.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub oidc_logout: Option<Map<String, Value>>,
    /// A chosen secret (`PATCH` with `update:client_keys`, `POST` with
    /// `create:client_credentials`; at least 32 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 32, max_length = 1000)]
    pub client_secret: Option<String>,
    /// A chosen client id (`POST` with `create:client_credentials`): gatehouse's extension, so
    /// that applications with an Auth0 client id built in keep working after a move.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub client_id: Option<String>,
}

/// Shortest secret `PATCH` takes: a chosen secret is as guessable as its length allows, and
/// ours are 48 random characters.
pub const MIN_SECRET_CHARS: usize = 32;

fn urls(property: &str, list: &[String], absolute: bool) -> Result<(), MgmtError> {
    for u in list {
        v::max_chars(property, u, 2000)?;
        if absolute && !is_absolute_url(u) {
            return Err(bad(
                property,
                format!("Object didn't pass validation for format absolute-uri-or-empty: {u}"),
            ));
        }
    }
    if list.len() > 100 {
        return Err(bad(property, "at most 100 items are allowed"));
    }
    Ok(())
}

/// Auth0's `absolute-uri-or-empty`: empty, or a URL with a scheme (custom schemes for native
/// apps included) whose host may hold Auth0's `*` wildcard.
fn is_absolute_url(u: &str) -> bool {
    if u.is_empty() {
        return true;
    }
    let Some((scheme, rest)) = u.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // A wildcard label stands for one label: check the rest with a real one in its place.
    let concrete = format!("{scheme}://{}", rest.replace('*', "wildcard"));
    scheme_ok && !rest.is_empty() && url::Url::parse(&concrete).is_ok()
}

/// Characters Auth0 allows in `client_metadata` keys besides letters and digits.
const METADATA_KEY_SPECIALS: &str = ":,-+=_*?\"/\\()<>@\t ";

/// Merges `patch` into `current` under Auth0's limits: string values of at most 255
/// characters, keys of at most 255 of Auth0's characters, at most 10 keys; on update a `null`
/// value deletes its key.
pub fn merge_metadata(
    patch: &Map<String, Value>,
    current: &mut Map<String, Value>,
    is_patch: bool,
) -> Result<(), MgmtError> {
    if !is_patch {
        current.clear();
    }
    for (k, val) in patch {
        if k.chars().count() > 255 {
            return Err(bad(
                "client_metadata",
                "keys must be at most 255 characters",
            ));
        }
        if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || METADATA_KEY_SPECIALS.contains(c))
        {
            return Err(bad(
                "client_metadata",
                format!("the key '{k}' holds a character Auth0 does not allow"),
            ));
        }
        match val {
            Value::Null if is_patch => {
                current.remove(k);
            }
            Value::String(s) if s.chars().count() <= 255 => {
                current.insert(k.clone(), val.clone());
            }
            _ => {
                return Err(bad(
                    "client_metadata",
                    "values must be strings of at most 255 characters",
                ));
            }
        }
    }
    if current.len() > 10 {
        return Err(bad("client_metadata", "at most 10 properties are allowed"));
    }
    Ok(())
}

/// Sets, unsets or leaves one of the settings kept in `extra`.
/// Sets a setting core types from its wire form: the two share Auth0's JSON, and the wire
/// form carries the OpenAPI schema and Auth0's validation.
fn set_typed<W: Serialize, T: serde::de::DeserializeOwned>(
    slot: &mut Option<T>,
    value: Patch<W>,
) -> Result<(), MgmtError> {
    match value {
        None => {}
        Some(None) => *slot = None,
        Some(Some(v)) => {
            let v = serde_json::to_value(v).map_err(|e| MgmtError::Internal(e.into()))?;
            *slot = Some(serde_json::from_value(v).map_err(|e| MgmtError::Internal(e.into()))?);
        }
    }
    Ok(())
}

fn set_extra<T: Serialize>(
    extra: &mut Map<String, Value>,
    key: &str,
    value: Patch<T>,
) -> Result<(), MgmtError> {
    match value {
        None => {}
        Some(None) => {
            extra.remove(key);
        }
        Some(Some(v)) => {
            let v = serde_json::to_value(v).map_err(|e| MgmtError::Internal(e.into()))?;
            extra.insert(key.to_owned(), v);
        }
    }
    Ok(())
}

/// `oidc_logout.backchannel_logout_urls`: at most five URLs that may receive logout tokens.
fn check_oidc_logout(o: &Map<String, Value>) -> Result<(), MgmtError> {
    const NAME: &str = "oidc_logout.backchannel_logout_urls";
    let Some(urls) = o.get("backchannel_logout_urls") else {
        return Ok(());
    };
    let list = urls
        .as_array()
        .ok_or_else(|| v::wrong_type(NAME, "array", urls))?;
    if list.len() > 5 {
        return Err(bad(NAME, "at most 5 items are allowed"));
    }
    for u in list {
        let text = u.as_str().ok_or_else(|| v::wrong_type(NAME, "string", u))?;
        if !crate::backchannel::acceptable_url(text) {
            return Err(bad(
                NAME,
                format!("{text} must be an https URL (or http on localhost) without a fragment"),
            ));
        }
    }
    Ok(())
}

impl ClientBody {
    /// The rules the types do not carry: lengths, URL schemes, ranges.
    fn check(&self) -> Result<(), MgmtError> {
        if let Some(n) = &self.name {
            v::max_chars("name", n, 255)?;
            v::not_blank("name", n)?;
        }
        if let Some(Some(d)) = &self.description {
            v::max_chars("description", d, 140)?;
        }
        for (name, list, absolute) in [
            ("callbacks", &self.callbacks, true),
            ("allowed_origins", &self.allowed_origins, true),
            ("web_origins", &self.web_origins, true),
            ("allowed_logout_urls", &self.allowed_logout_urls, true),
            ("client_aliases", &self.client_aliases, false),
            ("allowed_clients", &self.allowed_clients, false),
        ] {
            if let Some(Some(list)) = list {
                urls(name, list, absolute)?;
            }
        }
        for (name, url, https_only) in [
            ("logo_uri", &self.logo_uri, false),
            ("initiate_login_uri", &self.initiate_login_uri, true),
            ("cross_origin_loc", &self.cross_origin_loc, false),
        ] {
            if let Some(Some(u)) = url {
                v::check_url(name, u, https_only)?;
            }
        }
        if let Some(Some(p)) = &self.custom_login_page {
            v::max_chars("custom_login_page", p, 100_000)?;
        }
        if let Some(Some(j)) = &self.jwt_configuration {
            j.check()?;
        }
        if let Some(Some(r)) = &self.refresh_token {
            r.check()?;
        }
        if let Some(Some(m)) = &self.mobile {
            m.check()?;
        }
        if let Some(o) = &self.oidc_logout {
            check_oidc_logout(o)?;
        }
        Ok(())
    }

    /// The chosen secret of a `PATCH` or `POST`, checked, taken out of the body.
    pub fn take_secret(&mut self) -> Result<Option<String>, MgmtError> {
        let Some(secret) = self.client_secret.take() else {
            return Ok(None);
        };
        v::max_chars("client_secret", &secret, 1000)?;
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(bad(
                "client_secret",
                format!("must be at least {MIN_SECRET_CHARS} characters"),
            ));
        }
        Ok(Some(secret))
    }

    /// The chosen client id of a `POST`, checked, taken out of the body.
    pub fn take_client_id(&mut self) -> Result<Option<String>, MgmtError> {
        let Some(id) = self.client_id.take() else {
            return Ok(None);
        };
        let fits = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !fits {
            return Err(bad(
                "client_id",
                "must be 1 to 64 letters, digits, '_', '.' or '-'",
            ));
        }
        Ok(Some(id))
    }

    /// Applies the body to `client`. On update (`patch`), properties not in the body stay,
    /// `null` unsets an optional property, and `client_metadata` merges.
    pub fn apply(self, client: &mut Client, patch: bool) -> Result<(), MgmtError> {
        self.check()?;
        // Credentials are taken out first by the operations that take them.
        if self.client_secret.is_some() {
            return Err(MgmtError::invalid_body(
                "'Additional properties not allowed: client_secret'.",
            ));
        }
        if self.client_id.is_some() {
            return Err(MgmtError::invalid_body(
                "'Additional properties not allowed: client_id'.",
            ));
        }
        if let Some(name) = self.name {
            client.name = name;
        }
        if let Some(t) = self.app_type {
            client.app_type = t.into();
        }
        let s = &mut client.settings;
        if let Some(d) = self.description {
            s.description = d;
        }
        if let Some(m) = self.token_endpoint_auth_method {
            s.token_endpoint_auth_method = m.map(|m| m.as_str().to_owned());
        }
        // `null` leaves these as they are, as Auth0 does for properties with defaults.
        for (target, value) in [
            (&mut s.callbacks, self.callbacks),
            (&mut s.allowed_origins, self.allowed_origins),
            (&mut s.web_origins, self.web_origins),
            (&mut s.allowed_logout_urls, self.allowed_logout_urls),
        ] {
            if let Some(Some(list)) = value {
                *target = list;
            }
        }
        if let Some(Some(grants)) = self.grant_types {
            s.grant_types = grants.iter().map(|g| g.as_str().to_owned()).collect();
        }
        if let Some(Some(b)) = self.is_first_party {
            s.is_first_party = b;
        }
        if let Some(Some(b)) = self.oidc_conformant {
            s.oidc_conformant = b;
        }
        if let Some(metadata) = self.client_metadata {
            let mut current = s
                .extra
                .get("client_metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            match metadata {
                None => current.clear(),
                Some(m) => merge_metadata(&m, &mut current, patch)?,
            }
            s.extra
                .insert("client_metadata".to_owned(), Value::Object(current));
        }
        set_typed(&mut s.jwt_configuration, self.jwt_configuration)?;
        set_typed(&mut s.refresh_token, self.refresh_token)?;
        set_typed(&mut s.mobile, self.mobile)?;
        if let Some(trusted) = self.is_token_endpoint_ip_header_trusted {
            s.is_token_endpoint_ip_header_trusted = trusted;
        }
        let e = &mut s.extra;
        set_extra(e, "logo_uri", self.logo_uri)?;
        set_extra(e, "initiate_login_uri", self.initiate_login_uri)?;
        set_extra(e, "cross_origin_loc", self.cross_origin_loc)?;
        set_extra(e, "custom_login_page", self.custom_login_page)?;
        set_extra(e, "client_aliases", self.client_aliases)?;
        set_extra(e, "allowed_clients", self.allowed_clients)?;
        set_extra(e, "addons", self.addons)?;
        set_extra(e, "oidc_logout", self.oidc_logout.map(Some))?;
        set_extra(e, "organization_usage", self.organization_usage)?;
        set_extra(
            e,
            "organization_require_behavior",
            self.organization_require_behavior,
        )?;
        for (key, value) in [
            (
                "cross_origin_authentication",
                self.cross_origin_authentication,
            ),
            ("sso", self.sso),
            ("sso_disabled", self.sso_disabled),
            ("custom_login_page_on", self.custom_login_page_on),
            (
                "require_pushed_authorization_requests",
                self.require_pushed_authorization_requests,
            ),
        ] {
            set_extra(e, key, value)?;
        }
        Ok(())
    }
}
