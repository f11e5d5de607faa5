//! The typed pieces of a client's settings that the Management API reads and shows: Auth0's
//! closed sets of names, `jwt_configuration`, `refresh_token` and `mobile`.

use gatehouse_core::client::AppType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::mgmt::body::{present, wire_enum};
use crate::mgmt::error::MgmtError;
use crate::mgmt::validate as v;

wire_enum! {
    /// Auth0's application types.
    pub enum AppTypeName {
        /// A mobile or desktop app.
        Native = "native",
        /// A single-page app.
        Spa = "spa",
        /// A server-rendered web app.
        RegularWeb = "regular_web",
        /// A machine-to-machine client.
        NonInteractive = "non_interactive",
    }
}

impl From<AppTypeName> for AppType {
    fn from(t: AppTypeName) -> Self {
        match t {
            AppTypeName::Native => AppType::Native,
            AppTypeName::Spa => AppType::Spa,
            AppTypeName::RegularWeb => AppType::RegularWeb,
            AppTypeName::NonInteractive => AppType::NonInteractive,
        }
    }
}

impl From<AppType> for AppTypeName {
    fn from(t: AppType) -> Self {
        match t {
            AppType::Native => AppTypeName::Native,
            AppType::Spa => AppTypeName::Spa,
            AppType::RegularWeb => AppTypeName::RegularWeb,
            AppType::NonInteractive => AppTypeName::NonInteractive,
        }
    }
}

wire_enum! {
    /// Grant types a client may list (Auth0's names).
    pub enum GrantType {
        /// Authorization code.
        AuthorizationCode = "authorization_code",
        /// Implicit.
        Implicit = "implicit",
        /// Refresh token.
        RefreshToken = "refresh_token",
        /// Client credentials.
        ClientCredentials = "client_credentials",
        /// Resource owner password.
        Password = "password",
        /// Password with a realm.
        PasswordRealm = "http://auth0.com/oauth/grant-type/password-realm",
        /// Passwordless one-time code.
        PasswordlessOtp = "http://auth0.com/oauth/grant-type/passwordless/otp",
        /// MFA out of band.
        MfaOob = "http://auth0.com/oauth/grant-type/mfa-oob",
        /// MFA one-time password.
        MfaOtp = "http://auth0.com/oauth/grant-type/mfa-otp",
        /// MFA recovery code.
        MfaRecoveryCode = "http://auth0.com/oauth/grant-type/mfa-recovery-code",
        /// Device code.
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        /// Token exchange.
        TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange",
    }
}

wire_enum! {
    /// How a client authenticates at the token endpoint.
    pub enum AuthMethod {
        /// A public client.
        None = "none",
        /// The secret in the form body.
        ClientSecretPost = "client_secret_post",
        /// The secret in HTTP Basic.
        ClientSecretBasic = "client_secret_basic",
    }
}

wire_enum! {
    /// Signing algorithms Auth0 lists for ID tokens.
    pub enum JwtAlg {
        /// HMAC SHA-256.
        Hs256 = "HS256",
        /// RSA SHA-256.
        Rs256 = "RS256",
        /// RSA SHA-512.
        Rs512 = "RS512",
        /// RSA-PSS SHA-256.
        Ps256 = "PS256",
    }
}

wire_enum! {
    /// Whether refresh tokens rotate.
    pub enum RotationType {
        /// Each use returns a new one.
        Rotating = "rotating",
        /// One token for the grant's life.
        NonRotating = "non-rotating",
    }
}

wire_enum! {
    /// Whether refresh tokens expire.
    pub enum ExpirationType {
        /// They expire.
        Expiring = "expiring",
        /// They do not.
        NonExpiring = "non-expiring",
    }
}

wire_enum! {
    /// Auth0's `organization_usage`.
    pub enum OrganizationUsage {
        /// No organizations.
        Deny = "deny",
        /// Optional.
        Allow = "allow",
        /// Required.
        Require = "require",
    }
}

wire_enum! {
    /// Auth0's `organization_require_behavior`.
    #[expect(clippy::enum_variant_names, reason = "Auth0's names")]
    pub enum OrganizationRequireBehavior {
        /// No prompt.
        NoPrompt = "no_prompt",
        /// Prompt before login.
        PreLoginPrompt = "pre_login_prompt",
        /// Prompt after login.
        PostLoginPrompt = "post_login_prompt",
    }
}

/// `jwt_configuration`: how ID tokens are made for this client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtConfiguration {
    /// ID token lifetime, 1 to 2592000 seconds.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 1, maximum = 2_592_000)]
    pub lifetime_in_seconds: Option<i64>,
    /// Whether the secret is base64-encoded.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_encoded: Option<bool>,
    /// Per-scope claims.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub scopes: Option<Map<String, Value>>,
    /// Signing algorithm.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub alg: Option<JwtAlg>,
}

impl JwtConfiguration {
    /// What Auth0 shows for a client that never set one.
    pub fn auth0_default() -> Self {
        JwtConfiguration {
            lifetime_in_seconds: Some(36_000),
            secret_encoded: Some(false),
            scopes: None,
            alg: Some(JwtAlg::Rs256),
        }
    }

    pub(super) fn check(&self) -> Result<(), MgmtError> {
        if let Some(l) = self.lifetime_in_seconds {
            v::in_range("jwt_configuration.lifetime_in_seconds", l, 1, 2_592_000)?;
        }
        Ok(())
    }
}

/// `refresh_token`: the client's refresh-token policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenPolicy {
    /// Rotation.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub rotation_type: Option<RotationType>,
    /// Expiration.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiration_type: Option<ExpirationType>,
    /// Seconds a rotated token stays usable, 0 to 60.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 60)]
    pub leeway: Option<i64>,
    /// Absolute lifetime in seconds.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 31_557_600)]
    pub token_lifetime: Option<i64>,
    /// Whether the absolute lifetime is unlimited.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub infinite_token_lifetime: Option<bool>,
    /// Idle lifetime in seconds.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 31_557_600)]
    pub idle_token_lifetime: Option<i64>,
    /// Whether the idle lifetime is unlimited.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub infinite_idle_token_lifetime: Option<bool>,
    /// Auth0's per-audience policies, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Value>,
}

impl RefreshTokenPolicy {
    pub(super) fn check(&self) -> Result<(), MgmtError> {
        for (name, value, max) in [
            ("leeway", self.leeway, 60),
            ("token_lifetime", self.token_lifetime, 31_557_600),
            ("idle_token_lifetime", self.idle_token_lifetime, 31_557_600),
        ] {
            if let Some(n) = value {
                v::in_range(&format!("refresh_token.{name}"), n, 0, max)?;
            }
        }
        Ok(())
    }
}

/// `mobile`: what the platforms' app-link files publish.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mobile {
    /// Android App Links.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub android: Option<Android>,
    /// iOS Universal Links.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub ios: Option<Ios>,
}

/// `mobile.android`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Android {
    /// The package name.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(max_length = 255)]
    pub app_package_name: Option<String>,
    /// Signing certificate fingerprints.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub sha256_cert_fingerprints: Option<Vec<String>>,
}

/// `mobile.ios`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ios {
    /// The Apple team id.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(max_length = 255)]
    pub team_id: Option<String>,
    /// The bundle identifier.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(max_length = 255)]
    pub app_bundle_identifier: Option<String>,
}

impl Mobile {
    pub(super) fn check(&self) -> Result<(), MgmtError> {
        if let Some(a) = &self.android {
            if let Some(p) = &a.app_package_name {
                v::max_chars("mobile.android.app_package_name", p, 255)?;
            }
            for f in a.sha256_cert_fingerprints.iter().flatten() {
                v::max_chars("mobile.android.sha256_cert_fingerprints", f, 200)?;
            }
        }
        if let Some(i) = &self.ios {
            for (name, s) in [
                ("team_id", &i.team_id),
                ("app_bundle_identifier", &i.app_bundle_identifier),
            ] {
                if let Some(s) = s {
                    v::max_chars(&format!("mobile.ios.{name}"), s, 255)?;
                }
            }
        }
        Ok(())
    }
}
