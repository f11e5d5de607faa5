//! Logins through a SAML identity provider (`samlp` connection). The provider is played by
//! the test: it reads the AuthnRequest from the redirect and posts back a Response signed
//! with its own key (`gatehouse_server::saml::issue`, libxmlsec1), as an IdP's auto-post
//! form would.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_server::saml::issue::{self, Issue};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, client, enc, jwt_claims, location, param, saml_deflated, saml_inflated,
    saml_signed_query, spawn_app,
};

const CB: &str = "https://app.example/cb";
const IDP: &str = "https://idp.example/metadata";
const SSO: &str = "https://idp.example/sso";

struct Keys {
    pkcs8: Vec<u8>,
    certificate: Vec<u8>,
}

fn keys() -> Keys {
    let pkcs8 = gatehouse_server::signing::generate_private_key().expect("key");
    let certificate =
        gatehouse_server::signing::self_signed_certificate(&pkcs8).expect("certificate");
    Keys { pkcs8, certificate }
}

struct Saml {
    app: TestApp,
    idp: Keys,
    app_id: String,
    app_secret: String,
}

async fn saml() -> Saml {
    let app = spawn_app().await;
    let idp = keys();
    let mgmt = app.mgmt().await;
    let (_, client_app) = mgmt
        .post(
            "/clients",
            json!({"name": "Shop", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let app_id = client_app["client_id"].as_str().expect("id").to_owned();
    // The certificate as a PEM file in base64, one of the shapes Auth0 stores.
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(&idp.certificate)
    );
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": "corp", "strategy": "samlp", "enabled_clients": [app_id],
                   "options": {"signInEndpoint": SSO, "signingCert": STANDARD.encode(pem),
                               "domain_aliases": ["corp.example"]}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    Saml {
        app,
        idp,
        app_id,
        app_secret: client_app["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned(),
    }
}

/// The AuthnRequest's ID, ACS and issuer from the redirect to the provider.
fn authn_request(at_idp: &url::Url) -> (String, String, String) {
    let xml = saml_inflated(at_idp, "SAMLRequest");
    let attr = |name: &str| {
        let start = xml.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        xml[start..].split('"').next().expect("value").to_owned()
    };
    let issuer_start = xml.find("<saml:Issuer>").expect("issuer") + 13;
    let issuer = xml[issuer_start..]
        .split('<')
        .next()
        .expect("issuer")
        .to_owned();
    (attr("ID"), attr("AssertionConsumerServiceURL"), issuer)
}

impl Saml {
    /// Starts a login in a new browser: the browser, the redirect to the provider.
    async fn start(&self) -> (reqwest::Client, url::Url) {
        let browser = client();
        let to_idp = browser
            .get(self.app.url(&format!(
                "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email&state=app-state&connection=corp",
                self.app_id,
                enc(CB)
            )))
            .send()
            .await
            .expect("authorize");
        assert_eq!(to_idp.status(), 303, "{:?}", to_idp.text().await);
        let at_idp = location(&to_idp);
        assert!(at_idp.as_str().starts_with(SSO), "{at_idp}");
        (browser, at_idp)
    }

    /// The provider's signed Response to the request in `at_idp`, about `name_id`.
    fn answer(&self, at_idp: &url::Url, signer: &Keys, name_id: &str, ids: (&str, &str)) -> String {
        let (request_id, acs, audience) = authn_request(at_idp);
        let attributes = [
            (
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".to_owned(),
                vec![name_id.to_owned()],
            ),
            (
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname".to_owned(),
                vec!["Ada".to_owned()],
            ),
        ];
        let xml = issue::response(
            &Issue {
                issuer: IDP,
                ids,
                name_id,
                name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                audience: &audience,
                recipient: &acs,
                in_response_to: Some(&request_id),
                attributes: &attributes,
                session_index: "_s1",
                now: time::OffsetDateTime::now_utc().unix_timestamp(),
                lifetime: 300,
                ..Issue::default()
            },
            &signer.pkcs8,
            &signer.certificate,
        )
        .expect("issue");
        STANDARD.encode(xml)
    }

    /// Redeems the application's `code`.
    async fn exchange(&self, code: &str) -> Value {
        self.app
            .client
            .post(self.app.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", self.app_id.as_str()),
                ("client_secret", self.app_secret.as_str()),
                ("code", code),
                ("redirect_uri", CB),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json")
    }

    /// Posts `response` to the ACS as the provider's form would.
    async fn post(
        &self,
        browser: &reqwest::Client,
        at_idp: &url::Url,
        response: &str,
    ) -> reqwest::Response {
        browser
            .post(self.app.url("/login/callback?connection=corp"))
            .form(&[
                ("SAMLResponse", response.to_owned()),
                (
                    "RelayState",
                    param(at_idp, "RelayState").expect("RelayState"),
                ),
            ])
            .send()
            .await
            .expect("acs")
    }
}

#[tokio::test]
async fn log_in_through_a_saml_identity_provider() {
    let s = saml().await;
    let (browser, at_idp) = s.start().await;
    let (_, acs, audience) = authn_request(&at_idp);
    assert_eq!(acs, s.app.url("/login/callback?connection=corp"));
    assert_eq!(audience, "urn:auth0:gatehouse:corp");
    let response = s.answer(&at_idp, &s.idp, "ada@corp.example", ("_r1", "_a1"));
    let done = s.post(&browser, &at_idp, &response).await;
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let at_app = location(&done);
    assert_eq!(param(&at_app, "state").as_deref(), Some("app-state"));
    let tokens = s.exchange(&param(&at_app, "code").expect("code")).await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(claims["sub"], "samlp|corp|ada@corp.example");
    assert_eq!(claims["email"], "ada@corp.example");
    let (_, user) = s
        .app
        .mgmt()
        .await
        .get("/users/samlp%7Ccorp%7Cada%40corp.example")
        .await;
    assert_eq!(
        user["identities"][0],
        json!({"provider": "samlp", "connection": "corp", "user_id": "corp|ada@corp.example",
               "isSocial": false})
    );
    assert_eq!(user["given_name"], "Ada");

    // The same post again (the state and the assertion are used): a 400 page, no redirect.
    let replay = s.post(&browser, &at_idp, &response).await;
    assert_eq!(replay.status(), 400);
    assert!(replay.headers().get("location").is_none());
}

#[tokio::test]
async fn a_response_signed_by_another_key_makes_no_user() {
    let s = saml().await;
    let (browser, at_idp) = s.start().await;
    let forged = s.answer(&at_idp, &keys(), "admin@corp.example", ("_r1", "_a1"));
    let done = s.post(&browser, &at_idp, &forged).await;
    let at_app = location(&done);
    assert_eq!(param(&at_app, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&at_app, "state").as_deref(), Some("app-state"));
    let (_, users) = s.app.mgmt().await.get("/users").await;
    assert_eq!(users, json!([]));
    // Garbage is refused the same way, never a 500.
    let (browser, at_idp) = s.start().await;
    let done = s.post(&browser, &at_idp, "bm90IFhNTA==").await;
    assert_eq!(
        param(&location(&done), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn an_assertion_is_accepted_once() {
    let s = saml().await;
    let (browser, at_idp) = s.start().await;
    let first = s.answer(&at_idp, &s.idp, "ada@corp.example", ("_r1", "_a1"));
    assert_eq!(s.post(&browser, &at_idp, &first).await.status(), 303);
    // A second login whose response reuses the first assertion's id.
    let (browser, at_idp) = s.start().await;
    let again = s.answer(&at_idp, &s.idp, "ada@corp.example", ("_r2", "_a1"));
    let done = s.post(&browser, &at_idp, &again).await;
    let at_app = location(&done);
    assert_eq!(param(&at_app, "error").as_deref(), Some("access_denied"));
    assert!(
        param(&at_app, "error_description").is_some_and(|d| d.contains("already used")),
        "{at_app}"
    );
}

#[tokio::test]
async fn metadata_options_and_home_realm() {
    let s = saml().await;
    let metadata = client()
        .get(s.app.url("/samlp/metadata?connection=corp"))
        .send()
        .await
        .expect("metadata");
    assert_eq!(metadata.status(), 200);
    let xml = metadata.text().await.expect("xml");
    assert!(
        xml.contains(r#"entityID="urn:auth0:gatehouse:corp""#),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            r#"Location="{}""#,
            s.app.url("/login/callback?connection=corp")
        )),
        "{xml}"
    );
    let missing = client()
        .get(s.app.url("/samlp/metadata?connection=nope"))
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);
    // A certificate that is none is refused when the connection is made.
    let (status, body) = s
        .app
        .mgmt()
        .await
        .post(
            "/connections",
            json!({"name": "bad", "strategy": "samlp",
                   "options": {"signInEndpoint": SSO, "signingCert": "bm90IGEgY2VydA=="}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // An email of the connection's domain goes straight to the provider from the login form.
    let browser = client();
    let page = browser
        .get(s.app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&state=s",
            s.app_id,
            enc(CB)
        )))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Continue with corp"), "{page}");
    let start = page.find("name=\"tx\" value=\"").expect("tx") + 17;
    let tx = page[start..].split('"').next().expect("tx");
    let to_idp = browser
        .post(s.app.url("/u/login"))
        .form(&[("tx", tx), ("username", "ada@corp.example")])
        .send()
        .await
        .expect("login");
    assert_eq!(to_idp.status(), 303);
    assert!(location(&to_idp).as_str().starts_with(SSO));
}

#[tokio::test]
async fn signed_authn_requests_verify_with_the_published_key() {
    let s = saml().await;
    let mgmt = s.app.mgmt().await;
    let (_, found) = mgmt.get("/connections?name=corp").await;
    let id = found[0]["id"].as_str().expect("id").to_owned();
    let mut options = found[0]["options"].clone();
    options["signSAMLRequest"] = json!(true);
    let (status, body) = mgmt
        .patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, at_idp) = s.start().await;
    // The signature covers the query exactly as sent, up to `&Signature=`.
    let query = at_idp.query().expect("query");
    let (signed, signature) = query.split_once("&Signature=").expect("signed");
    assert!(
        signed.contains("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256")
    );
    let signature = STANDARD
        .decode(
            url::form_urlencoded::parse(format!("s={signature}").as_bytes())
                .next()
                .expect("value")
                .1
                .as_bytes(),
        )
        .expect("base64");
    let jwks = s.app.get_json("/.well-known/jwks.json").await;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.as_str().expect("b64"))
            .expect("decode")
    };
    let verified = jwks["keys"].as_array().expect("keys").iter().any(|k| {
        aws_lc_rs::signature::RsaPublicKeyComponents {
            n: b64(&k["n"]),
            e: b64(&k["e"]),
        }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &signature,
        )
        .is_ok()
    });
    assert!(
        verified,
        "the AuthnRequest's signature verifies with a published key"
    );
    let metadata = client()
        .get(s.app.url("/samlp/metadata?connection=corp"))
        .send()
        .await
        .expect("metadata")
        .text()
        .await
        .expect("xml");
    assert!(metadata.contains(r#"AuthnRequestsSigned="true""#));
}

#[tokio::test]
async fn a_connection_can_be_made_from_the_providers_metadata() {
    let s = saml().await;
    let xml = format!(
        concat!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{idp}">"#,
            r#"<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
            r#"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
            r#"</md:KeyDescriptor><md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" "#,
            r#"Location="https://idp.example/slo"/><md:SingleSignOnService "#,
            r#"Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso2"/>"#,
            r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
        ),
        idp = IDP,
        cert = STANDARD.encode(&s.idp.certificate)
    );
    let mgmt = s.app.mgmt().await;
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": "okta", "strategy": "samlp", "enabled_clients": [s.app_id],
                   "options": {"metadataXml": xml}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["options"]["signInEndpoint"],
        "https://idp.example/sso2"
    );
    assert_eq!(
        body["options"]["signOutEndpoint"],
        "https://idp.example/slo"
    );
    assert!(body["options"]["signingCert"].is_string());
    let to_idp = client()
        .get(s.app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&state=s&connection=okta",
            s.app_id,
            enc(CB)
        )))
        .send()
        .await
        .expect("authorize");
    assert!(
        location(&to_idp)
            .as_str()
            .starts_with("https://idp.example/sso2?SAMLRequest=")
    );
    // The same document at a URL (read once, when the connection is made).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/metadata", listener.local_addr().expect("addr"));
    let served = xml.clone();
    let router = axum::Router::new().route(
        "/metadata",
        axum::routing::get(move || async move { served }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": "okta-url", "strategy": "samlp", "options": {"metadataUrl": url}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["options"]["signInEndpoint"],
        "https://idp.example/sso2"
    );
    // Metadata without a signing certificate makes no connection.
    let start = xml.find("<md:KeyDescriptor").expect("key");
    let end = xml.find("</md:KeyDescriptor>").expect("end") + "</md:KeyDescriptor>".len();
    let keyless = format!("{}{}", &xml[..start], &xml[end..]);
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": "keyless", "strategy": "samlp", "options": {"metadataXml": keyless}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn idp_initiated_logins_only_where_the_connection_allows_them() {
    let s = saml().await;
    let acs = s.app.url("/login/callback?connection=corp");
    let unsolicited = |assertion_id: &str| {
        let xml = issue::response(
            &Issue {
                issuer: IDP,
                ids: ("_r9", assertion_id),
                name_id: "ada@corp.example",
                name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                audience: "urn:auth0:gatehouse:corp",
                recipient: &acs,
                in_response_to: None,
                attributes: &[],
                session_index: "_s9",
                now: time::OffsetDateTime::now_utc().unix_timestamp(),
                lifetime: 300,
                ..Issue::default()
            },
            &s.idp.pkcs8,
            &s.idp.certificate,
        )
        .expect("issue");
        STANDARD.encode(xml)
    };
    let post = |response: String| {
        let url = acs.clone();
        async move {
            client()
                .post(url)
                .form(&[("SAMLResponse", response)])
                .send()
                .await
                .expect("acs")
        }
    };
    // Not allowed (the default): a 400 page, no login.
    let refused = post(unsolicited("_u1")).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.headers().get("location").is_none());

    let mgmt = s.app.mgmt().await;
    let (_, found) = mgmt.get("/connections?name=corp").await;
    let id = found[0]["id"].as_str().expect("id").to_owned();
    let mut options = found[0]["options"].clone();
    options["idpinitiated"] = json!({
        "enabled": true, "client_id": s.app_id, "client_protocol": "oauth2",
        "client_authorizequery": format!("response_type=code&redirect_uri={}&scope=openid%20email", enc(CB))
    });
    let (status, body) = mgmt
        .patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done = post(unsolicited("_u2")).await;
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let at_app = location(&done);
    assert!(at_app.as_str().starts_with(CB), "{at_app}");
    assert!(param(&at_app, "code").is_some());
    // The same assertion again is refused.
    let again = post(unsolicited("_u2")).await;
    assert_eq!(
        param(&location(&again), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn federated_logout_sends_a_logout_request() {
    let s = saml().await;
    let mgmt = s.app.mgmt().await;
    let (_, found) = mgmt.get("/connections?name=corp").await;
    let id = found[0]["id"].as_str().expect("id").to_owned();
    let mut options = found[0]["options"].clone();
    options["signOutEndpoint"] = json!("https://idp.example/slo");
    let (status, body) = mgmt
        .patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    assert_eq!(status, 200, "{body}");
    let bye = "https://app.example/bye";
    let (status, body) = mgmt
        .patch(
            &format!("/clients/{}", s.app_id),
            json!({"allowed_logout_urls": [bye]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (browser, at_idp) = s.start().await;
    let response = s.answer(&at_idp, &s.idp, "ada@corp.example", ("_r1", "_a1"));
    let done = s.post(&browser, &at_idp, &response).await;
    let code = param(&location(&done), "code").expect("code");
    let tokens = s.exchange(&code).await;
    let out = browser
        .get(s.app.url(&format!(
            "/v2/logout?federated&client_id={}&returnTo={}&id_token_hint={}",
            s.app_id,
            enc(bye),
            tokens["id_token"].as_str().expect("id token")
        )))
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 302, "{:?}", out.text().await);
    let to = location(&out);
    assert!(
        to.as_str()
            .starts_with("https://idp.example/slo?SAMLRequest="),
        "{to}"
    );
    let xml = saml_inflated(&to, "SAMLRequest");
    assert!(xml.contains("<samlp:LogoutRequest"), "{xml}");
    assert!(
        xml.contains("<saml:NameID>ada@corp.example</saml:NameID>"),
        "{xml}"
    );
    assert!(xml.contains("urn:auth0:gatehouse:corp"), "{xml}");
    assert_eq!(param(&to, "RelayState").as_deref(), Some(bye));

    // The provider answers at our single logout service (listed in our metadata): the
    // browser goes on to returnTo, but only for a response to the request we sent for it.
    let metadata = client()
        .get(s.app.url("/samlp/metadata?connection=corp"))
        .send()
        .await
        .expect("metadata")
        .text()
        .await
        .expect("xml");
    assert!(metadata.contains(&format!(r#"SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{}""#, s.app.url("/logout"))), "{metadata}");
    let request_id = xml
        .split("ID=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("request id")
        .to_owned();
    let logout_response = |in_response_to: &str| {
        STANDARD.encode(format!(
            concat!(
                r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" "#,
                r#"IssueInstant="2026-11-29T10:00:00Z" InResponseTo="{}"><saml:Issuer>{}</saml:Issuer>"#,
                r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#,
                r#"</samlp:Status></samlp:LogoutResponse>"#
            ),
            in_response_to, IDP
        ))
    };
    let answer = |message: String, relay: &'static str| {
        let url = s.app.url("/logout");
        async move {
            client()
                .post(url)
                .form(&[("SAMLResponse", message.as_str()), ("RelayState", relay)])
                .send()
                .await
                .expect("slo")
        }
    };
    let back = answer(logout_response(&request_id), bye).await;
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back).as_str(), bye);
    // Another RelayState, or a response to a request we never sent: no redirect.
    for (message, relay) in [
        (logout_response(&request_id), "https://evil.example/"),
        (logout_response("_forged"), bye),
        ("garbage".to_owned(), bye),
    ] {
        let r = answer(message, relay).await;
        assert_eq!(r.status(), 200, "{relay}");
        assert!(r.headers().get("location").is_none());
    }
}

#[tokio::test]
async fn a_linked_saml_identity_logs_in_as_the_primary() {
    let s = saml().await;
    let log_in = |assertion: &'static str| {
        let s = &s;
        async move {
            let (browser, at_idp) = s.start().await;
            let response = s.answer(&at_idp, &s.idp, "ada@corp.example", ("_r", assertion));
            let done = s.post(&browser, &at_idp, &response).await;
            let code = param(&location(&done), "code").expect("code");
            let tokens = s.exchange(&code).await;
            jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"]
                .as_str()
                .expect("sub")
                .to_owned()
        }
    };
    assert_eq!(log_in("_a1").await, "samlp|corp|ada@corp.example");
    let mgmt = s.app.mgmt().await;
    let (_, primary) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@shop.example",
                   "password": "Sup3r-secret!"}),
        )
        .await;
    let primary_id = primary["user_id"].as_str().expect("id").to_owned();
    let (status, identities) = mgmt
        .post(
            &format!("/users/{}/identities", enc(&primary_id)),
            json!({"provider": "samlp", "user_id": "corp|ada@corp.example"}),
        )
        .await;
    assert_eq!(status, 201, "{identities}");
    assert_eq!(log_in("_a2").await, primary_id);
}

#[tokio::test]
async fn the_post_binding_sends_a_signed_request_in_a_form() {
    use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
    let s = saml().await;
    let mgmt = s.app.mgmt().await;
    let (_, found) = mgmt.get("/connections?name=corp").await;
    let id = found[0]["id"].as_str().expect("id").to_owned();
    let mut options = found[0]["options"].clone();
    options["protocolBinding"] = json!("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    options["signSAMLRequest"] = json!(true);
    mgmt.patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    let page = client()
        .get(s.app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&state=s&connection=corp",
            s.app_id,
            enc(CB)
        )))
        .send()
        .await
        .expect("authorize");
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("set-cookie").is_some());
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("action=\"{SSO}\"")), "{html}");
    let start = html.find("name=\"SAMLRequest\" value=\"").expect("field") + 26;
    let message = html[start..].split('"').next().expect("value");
    let xml = String::from_utf8(STANDARD.decode(message).expect("base64")).expect("utf8");
    assert!(xml.contains("<samlp:AuthnRequest"), "{xml}");
    // Signed by the tenant's current key, whose certificate the JWKS publishes.
    let jwks = s.app.get_json("/.well-known/jwks.json").await;
    let certificate = STANDARD
        .decode(jwks["keys"][0]["x5c"][0].as_str().expect("x5c"))
        .expect("der");
    Crypto::verify_signed_xml(
        xml.as_bytes(),
        &CertificateDer::from(certificate),
        Some("ID"),
    )
    .expect("the request's signature verifies");
}

#[tokio::test]
async fn the_provider_may_end_its_users_session_with_a_signed_logout_request() {
    let s = saml().await;
    let mgmt = s.app.mgmt().await;
    let (_, found) = mgmt.get("/connections?name=corp").await;
    let id = found[0]["id"].as_str().expect("id").to_owned();
    let mut options = found[0]["options"].clone();
    options["signOutEndpoint"] = json!("https://idp.example/slo");
    let (status, body) = mgmt
        .patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (browser, at_idp) = s.start().await;
    let response = s.answer(&at_idp, &s.idp, "ada@corp.example", ("_r1", "_a1"));
    let done = s.post(&browser, &at_idp, &response).await;
    assert!(param(&location(&done), "code").is_some());
    let has_session = |browser: &reqwest::Client| {
        let url = s.app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&prompt=none",
            s.app_id,
            enc(CB)
        ));
        let browser = browser.clone();
        async move {
            let r = browser.get(url).send().await.expect("authorize");
            param(&location(&r), "code").is_some()
        }
    };
    assert!(has_session(&browser).await);
    // The provider's LogoutRequest over HTTP-Redirect, signed over the query as SAML says.
    let request = |name_id: &str, id: &str| {
        let xml = format!(
            concat!(
                r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}" Version="2.0" "#,
                r#"IssueInstant="2026-11-29T10:00:00Z"><saml:Issuer>{}</saml:Issuer>"#,
                r#"<saml:NameID>{}</saml:NameID></samlp:LogoutRequest>"#
            ),
            id, IDP, name_id
        );
        saml_deflated(&xml)
    };
    let signed_query = |message: &str, key: &[u8]| {
        let q = format!(
            "SAMLRequest={}&RelayState=idp-state&SigAlg={}",
            enc(message),
            enc("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
        );
        saml_signed_query(q, key)
    };
    let stranger = keys();
    // Unsigned, signed by another key, or about another user: refused, the session stays.
    for (query, why) in [
        (
            format!("SAMLRequest={}", enc(&request("ada@corp.example", "_l0"))),
            "unsigned",
        ),
        (
            signed_query(&request("ada@corp.example", "_l1"), &stranger.pkcs8),
            "another key",
        ),
        (
            signed_query(&request("bob@corp.example", "_l2"), &s.idp.pkcs8),
            "another user",
        ),
    ] {
        let r = browser
            .get(s.app.url(&format!("/logout?{query}")))
            .send()
            .await
            .expect("slo");
        assert_eq!(r.status(), 400, "{why}");
        assert!(has_session(&browser).await, "{why}");
    }
    let r = browser
        .get(s.app.url(&format!(
            "/logout?{}",
            signed_query(&request("ada@corp.example", "_l3"), &s.idp.pkcs8)
        )))
        .send()
        .await
        .expect("slo");
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(
        to.as_str()
            .starts_with("https://idp.example/slo?SAMLResponse="),
        "{to}"
    );
    assert_eq!(param(&to, "RelayState").as_deref(), Some("idp-state"));
    let xml = saml_inflated(&to, "SAMLResponse");
    assert!(
        xml.contains("InResponseTo=\"_l3\"") && xml.contains("status:Success"),
        "{xml}"
    );
    assert!(!has_session(&browser).await);
}

#[tokio::test]
async fn prompt_login_forces_authentication_and_loopback_gets_a_cross_site_binding_cookie() {
    let s = saml().await;
    let start = |prompt: &'static str| {
        let url = s.app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&connection=corp{prompt}",
            s.app_id,
            enc(CB)
        ));
        async move { client().get(url).send().await.expect("authorize") }
    };
    let request_xml = |r: &reqwest::Response| saml_inflated(&location(r), "SAMLRequest");
    let plain = start("").await;
    assert!(!request_xml(&plain).contains("ForceAuthn"));
    // The test server is http on 127.0.0.1: besides the Lax binding cookie, a companion that
    // browsers treating loopback as secure send on the provider's cross-site POST.
    let cookies: Vec<&str> = plain
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("gh_upstream=") && c.contains("SameSite=Lax"))
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("gh_upstream_x=") && c.contains("SameSite=None; Secure")),
        "{cookies:?}"
    );
    let forced = start("&prompt=login").await;
    assert!(request_xml(&forced).contains(r#"ForceAuthn="true""#));
}
