//! The tables of stored properties, one per resource (see `super` and
//! docs/stored-not-enforced.md). One property per line: these are data, kept readable.

use super::Kind::{self, Array, Bool, Integer, Object, OneOf, SomeOf, Strings};
use super::{Table, p};

/// Applications (`/clients`).
#[rustfmt::skip]
pub const CLIENT: Table = Table {
    resource: "clients",
    path: "",
    properties: &[
        p("oidc_backchannel_logout", Object, false, "Auth0's older name of `oidc_logout`"),
        p("session_transfer", Object, true, "native-to-web session transfer tokens; not offered"),
        p("encryption_key", Object, true, "key for encrypted SAML/WS-Fed responses; responses are not encrypted"),
        p("custom_login_page_preview", Kind::String, false, "Classic Login page preview; not served"),
        p("form_template", Kind::String, false, "WS-Fed form template; WS-Fed is not offered"),
        p("native_social_login", Object, true, "native Apple/Google/Facebook sign-in; not offered"),
        p("fedcm_login", Object, true, "Google FedCM; not offered"),
        p("default_organization", Object, true, "organizations are not offered"),
        p("organization_discovery_methods", SomeOf(&["email", "organization_name"]), true, "organizations are not offered"),
        p("client_authentication_methods", Object, true, "private_key_jwt and mTLS credentials; only client secrets authenticate"),
        p("require_proof_of_possession", Bool, false, "DPoP/mTLS binding; tokens are bearer tokens"),
        p("signed_request_object", Object, false, "JAR (signed request objects) is not required or checked"),
        p("token_vault_privileged_access", Object, false, "Token Vault; not offered"),
        p("compliance_level", OneOf(&["none", "fapi1_adv_pkj_par", "fapi1_adv_mtls_par", "fapi2_sp_pkj_mtls", "fapi2_sp_mtls_mtls"]), true, "FAPI profiles are not enforced"),
        p("skip_non_verifiable_callback_uri_confirmation_prompt", Bool, true, "no confirmation prompt is shown for custom-scheme callbacks"),
        p("token_exchange", Object, true, "custom token exchange is not offered"),
        p("par_request_expiry", Integer, true, "pushed authorization requests are not offered"),
        p("token_quota", Object, true, "client-credentials quotas are not counted"),
        p("resource_server_identifier", Kind::String, false, "the API a resource-server client stands for"),
        p("identity_assertion_authorization_grant", Object, true, "not offered"),
        p("third_party_security_mode", OneOf(&["strict", "permissive"]), false, "kept for third-party clients; not enforced"),
        p("redirection_policy", OneOf(&["allow_always", "open_redirect_protection"]), false, "callbacks are always matched exactly"),
        p("express_configuration", Object, true, "Okta Express Configuration; not offered"),
        p("my_organization_configuration", Object, true, "organizations are not offered"),
        p("async_approval_notification_channels", SomeOf(&["guardian-push", "email"]), true, "CIBA is not offered"),
    ],
};

/// APIs (`/resource-servers`).
#[rustfmt::skip]
pub const RESOURCE_SERVER: Table = Table {
    resource: "resource-servers",
    path: "",
    properties: &[
        p("allow_online_access", Bool, false, "online refresh tokens are not offered"),
        p("allow_online_access_with_ephemeral_sessions", Bool, false, "online refresh tokens are not offered"),
        p("token_encryption", Object, true, "access tokens are signed, never encrypted"),
        p("consent_policy", OneOf(&["transactional-authorization-with-mfa"]), true, "not enforced"),
        p("authorization_details", Array, true, "rich authorization requests (RFC 9396) are not offered"),
        p("proof_of_possession", Object, true, "DPoP/mTLS binding; tokens are bearer tokens"),
        p("subject_type_authorization", Object, false, "client grants decide access as before"),
        p("authorization_policy", Object, true, "not enforced"),
    ],
};

/// Client grants (`/client-grants`).
#[rustfmt::skip]
pub const CLIENT_GRANT: Table = Table {
    resource: "client-grants",
    path: "",
    properties: &[
        p("subject_type", OneOf(&["client", "user", "anonymous_user"]), false, "every grant is a client-credentials grant"),
        p("authorization_details_types", Strings, false, "rich authorization requests are not offered"),
        p("allow_all_scopes", Bool, true, "the grant's `scope` list decides"),
        p("organization_usage", OneOf(&["deny", "allow", "require"]), true, "organizations are not offered"),
        p("allow_any_organization", Bool, true, "organizations are not offered"),
    ],
};

/// Connections (`/connections`, top level; `options` are kept whole per strategy).
#[rustfmt::skip]
pub const CONNECTION: Table = Table {
    resource: "connections",
    path: "",
    properties: &[
        p("authentication", Object, false, "the connection always authenticates"),
        p("connected_accounts", Object, false, "connected accounts are not offered"),
        p("cross_app_access_requesting_app", Object, false, "not offered"),
        p("cross_app_access_resource_app", Object, false, "not offered"),
    ],
};

/// Tenant settings (`/tenants/settings`).
#[rustfmt::skip]
pub const TENANT: Table = Table {
    resource: "tenants/settings",
    path: "",
    properties: &[
        p("change_password", Object, true, "Classic password-reset page; Universal Login's is served"),
        p("device_flow", Object, true, "the device flow is not offered"),
        p("guardian_mfa_page", Object, true, "MFA is not offered"),
        p("error_page", Object, true, "gatehouse shows its own error page"),
        p("default_token_quota", Object, true, "quotas are not counted"),
        p("support_url", Kind::String, false, "not shown on pages yet"),
        p("ephemeral_session_lifetime", Integer, false, "sessions are persistent"),
        p("idle_ephemeral_session_lifetime", Integer, false, "sessions are persistent"),
        p("ephemeral_session_lifetime_in_minutes", Integer, false, "sessions are persistent"),
        p("idle_ephemeral_session_lifetime_in_minutes", Integer, false, "sessions are persistent"),
        p("sandbox_version", Kind::String, false, "no extensibility sandbox (Node version)"),
        p("legacy_sandbox_version", Kind::String, false, "no extensibility sandbox"),
        p("default_redirection_uri", Kind::String, false, "not used yet"),
        p("security_headers", Object, true, "gatehouse sends its own fixed security headers"),
        p("session_cookie", Object, true, "the session cookie is always persistent"),
        p("sessions", Object, true, "no logout prompt"),
        p("oidc_logout", Object, false, "not used"),
        p("customize_mfa_in_postlogin_action", Bool, true, "neither MFA nor Actions run"),
        p("allow_organization_name_in_authentication_api", Bool, true, "organizations are not offered"),
        p("acr_values_supported", Strings, true, "not advertised"),
        p("mtls", Object, true, "mTLS endpoint aliases are not offered"),
        p("pushed_authorization_requests_supported", Bool, true, "PAR is not offered"),
        p("authorization_response_iss_parameter_supported", Bool, true, "`iss` (RFC 9207) is always sent"),
        p("skip_non_verifiable_callback_uri_confirmation_prompt", Bool, true, "no prompt is shown"),
        p("resource_parameter_profile", OneOf(&["audience", "compatibility"]), false, "`audience` is the parameter"),
        p("client_id_metadata_document_supported", Bool, false, "not offered"),
        p("enable_ai_guide", Bool, false, "not offered"),
        p("phone_consolidated_experience", Bool, false, "not offered"),
        p("include_session_metadata_in_tenant_logs", Bool, false, "not offered"),
        p("dynamic_client_registration_security_mode", OneOf(&["strict", "permissive"]), false, "dynamic client registration is not offered"),
        p("country_codes", Object, true, "phone numbers are not restricted by country"),
    ],
};

/// Tenant flags (`flags` of `/tenants/settings`) besides `enable_client_connections`.
#[rustfmt::skip]
pub const TENANT_FLAGS: Table = Table {
    resource: "tenants/settings flags",
    path: "flags.",
    properties: &[
        p("change_pwd_flow_v1", Bool, false, "not used"),
        p("enable_apis_section", Bool, false, "dashboard setting"),
        p("disable_impersonation", Bool, false, "impersonation is not offered"),
        p("enable_pipeline2", Bool, false, "not used"),
        p("allow_legacy_delegation_grant_types", Bool, false, "legacy grants are never offered"),
        p("allow_legacy_ro_grant_types", Bool, false, "legacy grants are never offered"),
        p("allow_legacy_tokeninfo_endpoint", Bool, false, "`/tokeninfo` is not offered"),
        p("enable_legacy_profile", Bool, false, "tokens carry OIDC-conformant profiles"),
        p("enable_idtoken_api2", Bool, false, "not used"),
        p("enable_public_signup_user_exists_error", Bool, false, "sign-up answers as before"),
        p("enable_sso", Bool, false, "SSO is always on"),
        p("allow_changing_enable_sso", Bool, false, "not used"),
        p("disable_clickjack_protection_headers", Bool, false, "pages always send frame-ancestors 'none'"),
        p("no_disclose_enterprise_connections", Bool, false, "not used"),
        p("enforce_client_authentication_on_passwordless_start", Bool, false, "confidential clients authenticate as before"),
        p("enable_adfs_waad_email_verification", Bool, false, "not used"),
        p("revoke_refresh_token_grant", Bool, false, "revocation behaves as before"),
        p("dashboard_log_streams_next", Bool, false, "dashboard setting"),
        p("dashboard_insights_view", Bool, false, "dashboard setting"),
        p("disable_fields_map_fix", Bool, false, "not used"),
        p("mfa_show_factor_list_on_enrollment", Bool, false, "MFA is not offered"),
        p("remove_alg_from_jwks", Bool, false, "the JWKS always names `alg`"),
        p("improved_signup_bot_detection_in_classic", Bool, false, "not used"),
        p("genai_trial", Bool, false, "not used"),
        p("enable_dynamic_client_registration", Bool, false, "dynamic client registration is not offered"),
        p("disable_management_api_sms_obfuscation", Bool, false, "not used"),
        p("trust_azure_adfs_email_verified_connection_property", Bool, false, "not used"),
        p("custom_domains_provisioning", Bool, false, "custom domains are not offered"),
    ],
};

/// Branding (`/branding`).
#[rustfmt::skip]
pub const BRANDING: Table = Table {
    resource: "branding",
    path: "",
    properties: &[
    ],
};

/// Prompt settings (`/prompts`) besides `identifier_first`.
#[rustfmt::skip]
pub const PROMPTS: Table = Table {
    resource: "prompts",
    path: "",
    properties: &[
        p("universal_login_experience", OneOf(&["new", "classic"]), false, "gatehouse serves its own Universal Login pages"),
        p("webauthn_platform_first_factor", Bool, false, "passkeys are not offered"),
    ],
};

/// Every table, in the order the docs list them.
pub const TABLES: &[Table] = &[
    CLIENT,
    RESOURCE_SERVER,
    CLIENT_GRANT,
    CONNECTION,
    TENANT,
    TENANT_FLAGS,
    BRANDING,
    PROMPTS,
];
