//! The client-credentials grant (RFC 6749 s4.4), with Auth0's rules: the client must have
//! the grant type, and a client grant for the requested audience decides the scopes.

use crate::client::Client;
use crate::client_grant::ClientGrant;
use crate::resource_server::ResourceServer;
use crate::scope::Scope;
use crate::token::AccessTokenClaims;

/// The grant type name at the token endpoint and in `grant_types`.
pub const GRANT_TYPE: &str = "client_credentials";

/// Why the grant was refused, in Auth0's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientCredentialsError {
    /// The client may not use this grant type.
    #[error("Grant type 'client_credentials' not allowed for the client.")]
    GrantTypeNotAllowed,
    /// Neither the request nor the tenant names an audience.
    #[error("No audience parameter was provided, and no default audience has been configured")]
    MissingAudience,
    /// No API has that identifier.
    #[error("Service not found: {0}")]
    UnknownAudience(String),
    /// No client grant links the client and the API.
    #[error(
        "Client is not authorized to access \"{0}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
    )]
    NoClientGrant(String),
}

/// Decides the token for `client` at `api` under `grant` (None if there is no such grant).
/// `requested` is the `scope` parameter: absent means every granted scope; present means the
/// granted ones among them (Auth0 drops, rather than rejects, scopes it cannot grant).
pub fn decide(
    issuer: &str,
    client: &Client,
    audience: Option<&str>,
    api: Option<&ResourceServer>,
    grant: Option<&ClientGrant>,
    requested: Option<&Scope>,
    now: i64,
) -> Result<AccessTokenClaims, ClientCredentialsError> {
    if !client.settings.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(ClientCredentialsError::GrantTypeNotAllowed);
    }
    let audience = audience.ok_or(ClientCredentialsError::MissingAudience)?;
    let api = api.ok_or_else(|| ClientCredentialsError::UnknownAudience(audience.to_owned()))?;
    let grant = grant.ok_or_else(|| ClientCredentialsError::NoClientGrant(audience.to_owned()))?;
    let scope = match requested {
        Some(r) => r.intersect(&grant.scope),
        None => Scope::from_tokens(grant.scope.iter().cloned()),
    };
    Ok(AccessTokenClaims {
        iss: issuer.to_owned(),
        sub: format!("{}@clients", client.client_id),
        aud: vec![api.identifier.to_string()],
        azp: client.client_id.to_string(),
        iat: now,
        exp: now + api.token_lifetime,
        scope,
        gty: Some("client-credentials"),
        permissions: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{AppType, ClientSettings};
    use time::OffsetDateTime;

    fn fixtures() -> (Client, ResourceServer, ClientGrant) {
        let now = OffsetDateTime::UNIX_EPOCH;
        let client = Client {
            client_id: "c1".into(),
            name: "m2m".into(),
            app_type: AppType::NonInteractive,
            is_system: false,
            secret: None,
            settings: ClientSettings {
                grant_types: vec![GRANT_TYPE.into()],
                ..ClientSettings::default()
            },
            created_at: now,
            updated_at: now,
        };
        let api = ResourceServer {
            id: "rs".into(),
            name: "api".into(),
            identifier: "https://api".into(),
            is_system: false,
            scopes: vec![],
            signing_alg: "RS256".into(),
            token_lifetime: 600,
            allow_offline_access: false,
            enforce_policies: false,
            token_dialect: Default::default(),
            extra: Default::default(),
            created_at: now,
        };
        let grant = ClientGrant {
            id: "cgr".into(),
            client_id: "c1".into(),
            audience: "https://api".into(),
            scope: vec!["read:a".into(), "write:a".into()],
            created_at: now,
            extra: Default::default(),
        };
        (client, api, grant)
    }

    #[test]
    fn issues_auth0_claims() {
        let (c, api, g) = fixtures();
        let t = decide(
            "https://iss/",
            &c,
            Some("https://api"),
            Some(&api),
            Some(&g),
            None,
            100,
        )
        .expect("granted");
        assert_eq!(t.sub, "c1@clients");
        assert_eq!(t.aud, vec!["https://api".to_owned()]);
        assert_eq!(t.azp, "c1");
        assert_eq!((t.iat, t.exp), (100, 700));
        assert_eq!(t.scope.to_string(), "read:a write:a");
        assert_eq!(t.gty, Some("client-credentials"));
    }

    #[test]
    fn requested_scopes_are_narrowed_to_the_grant() {
        let (c, api, g) = fixtures();
        let req = Scope::parse("write:a admin").expect("valid");
        let t = decide(
            "i/",
            &c,
            Some("https://api"),
            Some(&api),
            Some(&g),
            Some(&req),
            0,
        )
        .expect("granted");
        assert_eq!(t.scope.to_string(), "write:a");
    }

    #[test]
    fn refusals() {
        let (mut c, api, g) = fixtures();
        assert_eq!(
            decide("i/", &c, Some("https://api"), Some(&api), None, None, 0),
            Err(ClientCredentialsError::NoClientGrant("https://api".into()))
        );
        assert!(matches!(
            decide("i/", &c, Some("https://x"), None, Some(&g), None, 0),
            Err(ClientCredentialsError::UnknownAudience(_))
        ));
        assert_eq!(
            decide("i/", &c, None, None, None, None, 0),
            Err(ClientCredentialsError::MissingAudience)
        );
        c.settings.grant_types = vec!["authorization_code".into()];
        assert_eq!(
            decide("i/", &c, None, None, None, None, 0),
            Err(ClientCredentialsError::GrantTypeNotAllowed)
        );
    }
}
