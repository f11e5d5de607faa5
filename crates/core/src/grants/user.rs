//! Tokens for a person (the authorization-code, refresh-token, password and passwordless
//! grants, and `/authorize`'s implicit and hybrid responses): which scopes they get at which
//! API, the access token's claims, the ID token's claims, and whether a refresh token may go
//! with them. The server fetches what these need (the API, the user's permissions) and signs.

use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::resource_server::ResourceServer;
use crate::scope::Scope;
use crate::seed::USER_MANAGEMENT_SCOPES;
use crate::token::{AccessTokenClaims, OIDC_SCOPES, user_claims};
use crate::user::User;

/// Access tokens that only open `/userinfo` live as long as Auth0's (24 h).
pub const USERINFO_TOKEN_LIFETIME: i64 = 86_400;
/// Auth0's default ID token lifetime (10 h).
pub const ID_TOKEN_LIFETIME: i64 = 36_000;

/// Whether the API enforces RBAC (`enforce_policies`): then its scopes go only to users who
/// hold them as permissions, and the server must fetch those.
pub fn enforces_policies(api: &ResourceServer) -> bool {
    api.enforce_policies
}

/// Whether the API's `token_dialect` (`access_token_authz`, `rfc9068_profile_authz`) puts
/// the user's permissions in a `permissions` claim.
fn authz_dialect(api: &ResourceServer) -> bool {
    api.token_dialect.has_permissions_claim()
}

/// What decides a person's token.
#[derive(Debug, Clone, Copy)]
pub struct UserGrant<'a> {
    /// Our issuer, with its trailing slash.
    pub issuer: &'a str,
    /// The Management API's identifier (`<issuer>api/v2/`).
    pub management_audience: &'a str,
    /// The client, authenticated.
    pub client: &'a Client,
    /// The user's id (`sub`).
    pub user_id: &'a str,
    /// The API of the `audience`, if one was named.
    pub api: Option<&'a ResourceServer>,
    /// The scopes requested (None: what the API defines, as Auth0's password grant does).
    pub requested: Option<&'a Scope>,
    /// The user's permission names on `api`, fetched when it [`enforces_policies`].
    pub permissions: Option<&'a [String]>,
    /// The `gty` claim.
    pub gty: &'static str,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// A person's access token, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccess {
    /// Its claims.
    pub claims: AccessTokenClaims,
    /// Whether a refresh token may go with it: `offline_access` granted, allowed by the
    /// API (or no API), and the client has the `refresh_token` grant.
    pub may_refresh: bool,
}

impl UserAccess {
    /// Seconds the access token lives (`expires_in`).
    pub fn lifetime(&self) -> i64 {
        self.claims.exp - self.claims.iat
    }
}

/// The granted scope and `permissions` claim: requested ∩ (the API's scopes ∪ OIDC scopes),
/// where, when the API enforces RBAC, API scopes count only if the user holds them as
/// permissions; with no request, every API scope allowed. A person's token for the
/// Management API carries only the scopes that act on that person (never the tenant-wide
/// ones, `read:users` ...), and a third-party application gets none of them: with the
/// person's own token it could otherwise link into that account any account that logged in
/// to it recently.
pub fn grant_scope(g: &UserGrant<'_>) -> (Scope, Option<Vec<String>>) {
    let management = g.api.is_some_and(|a| a.identifier == g.management_audience);
    let first_party = g.client.settings.is_first_party;
    let enforce = g.api.is_some_and(enforces_policies);
    // Fail closed: an enforcing API with no permissions given grants no API scope.
    let permitted = enforce.then(|| g.permissions.unwrap_or_default());
    let allowed_api: Vec<String> = g
        .api
        .map(|a| a.scopes.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| &s.value)
        .filter(|s| !management || (first_party && USER_MANAGEMENT_SCOPES.contains(&s.as_str())))
        .filter(|s| permitted.is_none_or(|p| p.contains(s)))
        .cloned()
        .collect();
    let scope = match g.requested {
        None => Scope::from_tokens(allowed_api),
        Some(r) => {
            let mut allowed = allowed_api;
            allowed.extend(OIDC_SCOPES.iter().map(|s| (*s).to_owned()));
            r.intersect(&allowed)
        }
    };
    let dialect_authz = g.api.is_some_and(authz_dialect);
    let permissions = permitted.filter(|_| dialect_authz).map(<[String]>::to_vec);
    (scope, permissions)
}

/// Decides a person's access token: the granted scope, the audiences (the API, plus
/// `<issuer>userinfo` with `openid` or without an API), the API's lifetime (else 24 h).
pub fn decide(g: &UserGrant<'_>) -> UserAccess {
    let (scope, permissions) = grant_scope(g);
    let mut aud: Vec<String> = g
        .api
        .map(|a| a.identifier.to_string())
        .into_iter()
        .collect();
    if scope.contains("openid") || aud.is_empty() {
        aud.push(format!("{}userinfo", g.issuer));
    }
    let lifetime = g.api.map_or(USERINFO_TOKEN_LIFETIME, |a| a.token_lifetime);
    let may_refresh = scope.contains("offline_access")
        && g.api.is_none_or(|a| a.allow_offline_access)
        && g.client
            .settings
            .grant_types
            .iter()
            .any(|t| t == "refresh_token");
    UserAccess {
        claims: AccessTokenClaims {
            iss: g.issuer.to_owned(),
            sub: g.user_id.to_owned(),
            aud,
            azp: g.client.client_id.to_string(),
            iat: g.now,
            exp: g.now + lifetime,
            scope,
            gty: Some(g.gty),
            permissions,
        },
        may_refresh,
    }
}

/// An ID token's claims (OIDC Core s2), with the user's claims the scope releases.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience: the client id.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at: the client's `jwt_configuration.lifetime_in_seconds` after `iat`, else 10 h.
    pub exp: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The authorization request's `nonce`.
    pub nonce: Option<String>,
    /// The session's id.
    pub sid: Option<String>,
    /// Half hash of the access token issued with it (implicit and hybrid responses).
    pub at_hash: Option<String>,
    /// Half hash of the code issued with it (hybrid responses).
    pub c_hash: Option<String>,
    /// `sub` and the user's claims released by the scope (`token::user_claims`).
    pub user: Map<String, Value>,
}

impl IdTokenClaims {
    /// The claims for `user` at `client`, released by `scope`, issued at `now`; `nonce`,
    /// `sid`, `at_hash` and `c_hash` start absent.
    pub fn new(
        issuer: &str,
        client: &Client,
        user: &User,
        scope: &Scope,
        auth_time: i64,
        now: i64,
    ) -> Self {
        let lifetime = client
            .settings
            .jwt_configuration
            .as_ref()
            .and_then(|j| j.lifetime_in_seconds)
            .unwrap_or(ID_TOKEN_LIFETIME);
        IdTokenClaims {
            iss: issuer.to_owned(),
            aud: client.client_id.to_string(),
            iat: now,
            exp: now + lifetime,
            auth_time,
            nonce: None,
            sid: None,
            at_hash: None,
            c_hash: None,
            user: user_claims(user, scope),
        }
    }

    /// The claims as JSON.
    pub fn to_json(&self) -> Value {
        let mut claims = self.user.clone();
        claims.insert("iss".into(), json!(self.iss));
        claims.insert("aud".into(), json!(self.aud));
        claims.insert("iat".into(), json!(self.iat));
        claims.insert("exp".into(), json!(self.exp));
        claims.insert("auth_time".into(), json!(self.auth_time));
        let optional = [
            ("nonce", &self.nonce),
            ("sid", &self.sid),
            ("at_hash", &self.at_hash),
            ("c_hash", &self.c_hash),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                claims.insert(name.into(), json!(v));
            }
        }
        Value::Object(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{AppType, ClientSettings};
    use crate::client_settings::JwtConfiguration;
    use crate::resource_server::ScopeDef;
    use time::OffsetDateTime;

    const ISS: &str = "https://iss/";
    const MGMT: &str = "https://iss/api/v2/";

    fn client(first_party: bool, grant_types: &[&str]) -> Client {
        Client {
            client_id: "c1".into(),
            name: "app".into(),
            app_type: AppType::RegularWeb,
            is_system: false,
            secret: None,
            settings: ClientSettings {
                grant_types: grant_types.iter().map(|g| (*g).to_owned()).collect(),
                is_first_party: first_party,
                ..ClientSettings::default()
            },
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn api(identifier: &str, scopes: &[&str], extra: Value) -> ResourceServer {
        ResourceServer {
            id: "rs".into(),
            name: "api".into(),
            identifier: identifier.into(),
            is_system: false,
            scopes: scopes
                .iter()
                .map(|s| ScopeDef {
                    value: (*s).to_owned(),
                    description: String::new(),
                })
                .collect(),
            signing_alg: "RS256".into(),
            token_lifetime: 600,
            allow_offline_access: true,
            enforce_policies: extra["enforce_policies"] == json!(true),
            token_dialect: extra["token_dialect"]
                .as_str()
                .and_then(crate::resource_server::TokenDialect::parse)
                .unwrap_or_default(),
            extra: serde_json::Map::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn grant<'a>(
        client: &'a Client,
        api: Option<&'a ResourceServer>,
        requested: Option<&'a Scope>,
        permissions: Option<&'a [String]>,
    ) -> UserGrant<'a> {
        UserGrant {
            issuer: ISS,
            management_audience: MGMT,
            client,
            user_id: "auth0|u1",
            api,
            requested,
            permissions,
            gty: "password",
            now: 1_000,
        }
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).expect("valid scope")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Client, API, requested scope, the user's permissions; granted scope, permissions claim.
    type ScopeCase<'a> = (
        &'a Client,
        Option<&'a ResourceServer>,
        Option<&'a Scope>,
        Option<&'a [String]>,
        &'a str,
        Option<Vec<String>>,
    );

    #[test]
    fn scope_decisions() {
        let first = client(true, &[]);
        let third = client(false, &[]);
        let plain = api("https://api", &["read:a", "write:a"], json!({}));
        let rbac = api(
            "https://api",
            &["read:a", "write:a"],
            json!({"enforce_policies": true}),
        );
        let rbac_authz = api(
            "https://api",
            &["read:a", "write:a"],
            json!({"enforce_policies": true, "token_dialect": "access_token_authz"}),
        );
        let dialect_only = api(
            "https://api",
            &["read:a"],
            json!({"token_dialect": "access_token_authz"}),
        );
        let mgmt = api(MGMT, &["read:users", "read:current_user"], json!({}));
        let held = strings(&["write:a", "other"]);
        let own_and_tenant = scope("openid read:current_user read:users");
        let asked = scope("openid profile read:a write:a admin");
        let cases: Vec<ScopeCase<'_>> = vec![
            // No API: OIDC scopes only.
            (&first, None, Some(&asked), None, "openid profile", None),
            // No request: every API scope.
            (&first, Some(&plain), None, None, "read:a write:a", None),
            (
                &first,
                Some(&plain),
                Some(&asked),
                None,
                "openid profile read:a write:a",
                None,
            ),
            // RBAC: API scopes the user holds only; no claim without the authz dialect.
            (
                &first,
                Some(&rbac),
                Some(&asked),
                Some(&held),
                "openid profile write:a",
                None,
            ),
            (&first, Some(&rbac), None, Some(&held), "write:a", None),
            (
                &first,
                Some(&rbac_authz),
                Some(&asked),
                Some(&held),
                "openid profile write:a",
                Some(strings(&["write:a", "other"])),
            ),
            (&first, Some(&rbac_authz), None, Some(&[]), "", Some(vec![])),
            // A dialect without enforcement releases no permissions, and ignores any passed.
            (
                &first,
                Some(&dialect_only),
                None,
                Some(&held),
                "read:a",
                None,
            ),
            // Management API: a first party gets the user's own scopes, a third party none.
            (&first, Some(&mgmt), None, None, "read:current_user", None),
            (
                &third,
                Some(&mgmt),
                Some(&own_and_tenant),
                None,
                "openid",
                None,
            ),
        ];
        for (i, (client, api, requested, permissions, want, claim)) in cases.into_iter().enumerate()
        {
            let (got, perms) = grant_scope(&grant(client, api, requested, permissions));
            assert_eq!(got.to_string(), want, "case {i}");
            assert_eq!(perms, claim, "case {i}");
        }
    }

    #[test]
    fn access_token_claims() {
        let c = client(true, &["refresh_token"]);
        let a = api("https://api", &["read:a"], json!({}));
        let asked = scope("openid read:a offline_access");
        let t = decide(&grant(&c, Some(&a), Some(&asked), None));
        assert_eq!(
            t.claims.aud,
            strings(&["https://api", "https://iss/userinfo"])
        );
        assert_eq!(
            (t.claims.iat, t.claims.exp, t.lifetime()),
            (1_000, 1_600, 600)
        );
        assert_eq!(
            (t.claims.sub.as_str(), t.claims.azp.as_str(), t.claims.gty),
            ("auth0|u1", "c1", Some("password"))
        );
        assert!(t.may_refresh);

        let only_api = scope("read:a");
        let t = decide(&grant(&c, Some(&a), Some(&only_api), None));
        assert_eq!(
            t.claims.aud,
            strings(&["https://api"]),
            "no openid: no userinfo"
        );

        let t = decide(&grant(&c, None, Some(&scope("profile")), None));
        assert_eq!(
            t.claims.aud,
            strings(&["https://iss/userinfo"]),
            "no API: userinfo"
        );
        assert_eq!(t.lifetime(), USERINFO_TOKEN_LIFETIME);
    }

    #[test]
    fn refresh_needs_offline_access_the_api_and_the_grant_type() {
        let with = client(true, &["refresh_token"]);
        let without = client(true, &["authorization_code"]);
        let mut closed = api("https://api", &[], json!({}));
        closed.allow_offline_access = false;
        let offline = scope("openid offline_access");
        let online = scope("openid");
        let cases = [
            (&with, None, &offline, true),
            (&with, None, &online, false),
            (&without, None, &offline, false),
            (&with, Some(&closed), &offline, false),
        ];
        for (i, (c, a, s, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide(&grant(c, a, Some(s), None)).may_refresh,
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn id_token_claims() {
        let mut c = client(true, &[]);
        let identity = crate::user::Identity {
            provider: "auth0".into(),
            connection: "db".into(),
            user_id: "u1".into(),
            is_social: false,
            profile_data: json!({}),
            password_hash: None,
            idp_tokens: None,
        };
        let user = User::new(
            identity,
            Some("ada@example.com".into()),
            None,
            None,
            Map::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let claims = IdTokenClaims::new(ISS, &c, &user, &scope("openid email"), 900, 1_000);
        assert_eq!(claims.exp, 1_000 + ID_TOKEN_LIFETIME);
        let mut claims = claims;
        claims.nonce = Some("n".into());
        claims.sid = None;
        claims.at_hash = Some("h".into());
        let json = claims.to_json();
        assert_eq!(json["sub"], "auth0|u1");
        assert_eq!(json["email"], "ada@example.com");
        assert_eq!(json["aud"], "c1");
        assert_eq!(json["auth_time"], 900);
        assert_eq!(json["nonce"], "n");
        assert_eq!(json["at_hash"], "h");
        assert!(json.get("sid").is_none() && json.get("c_hash").is_none());

        c.settings.jwt_configuration = Some(JwtConfiguration {
            lifetime_in_seconds: Some(60),
            ..JwtConfiguration::default()
        });
        let claims = IdTokenClaims::new(ISS, &c, &user, &scope("openid"), 900, 1_000);
        assert_eq!(claims.exp, 1_060);
        assert!(
            claims.to_json().get("email").is_none(),
            "email not asked for"
        );
    }
}
