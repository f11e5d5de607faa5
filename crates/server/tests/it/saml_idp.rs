//! gatehouse as a SAML identity provider: what service providers read before a login (the
//! signing certificate at `/pem` and `/cer`, following a key rotation, and the IdP metadata
//! of an application at `/samlp/metadata/<client_id>`), logins through `/samlp/<client_id>`
//! (both bindings, IdP-initiated, SSO, ForceAuthn, IsPassive) whose signed Responses the
//! test checks with libxmlsec1 through `saml::verify`, and single logout.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_server::saml::verify::{self, Expected, Verified};
use serde_json::{Value, json};

use crate::helpers::{TestApp, client, enc, saml_deflated, saml_signed_query, spawn_app};

const ACS: &str = "https://wiki.example/saml/acs";
const SP: &str = "https://wiki.example/sp";
const IDP: &str = "urn:gatehouse.auth0.com";

#[tokio::test]
async fn certificates_and_metadata_follow_the_current_key() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, sp) = mgmt
        .post(
            "/clients",
            json!({"name": "Wiki", "app_type": "regular_web",
                   "addons": {"samlp": {"audience": "https://wiki.example/sp"}}}),
        )
        .await;
    let id = sp["client_id"].as_str().expect("id").to_owned();
    let current_cert = |jwks: &serde_json::Value| {
        STANDARD
            .decode(jwks["keys"][0]["x5c"][0].as_str().expect("x5c"))
            .expect("der")
    };
    let der = |path: &'static str| {
        let url = app.url(path);
        async move {
            client()
                .get(url)
                .send()
                .await
                .expect("get")
                .bytes()
                .await
                .expect("body")
                .to_vec()
        }
    };
    let before = current_cert(&app.get_json("/.well-known/jwks.json").await);
    assert_eq!(der("/cer").await, before);
    let pem = String::from_utf8(der("/pem").await).expect("text");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert_eq!(STANDARD.decode(body).expect("base64"), before);
    let metadata = client()
        .get(app.url(&format!("/samlp/metadata/{id}")))
        .send()
        .await
        .expect("metadata")
        .text()
        .await
        .expect("xml");
    assert!(
        metadata.contains(r#"entityID="urn:gatehouse.auth0.com""#),
        "{metadata}"
    );
    assert!(metadata.contains(&format!(
        r#"Location="{}""#,
        app.url(&format!("/samlp/{id}"))
    )));
    assert!(metadata.contains(&STANDARD.encode(&before)));
    let unknown = client()
        .get(app.url("/samlp/metadata/nobody"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), 404);

    // After a rotation the new current key's certificate is served.
    let (status, _) = mgmt.post("/keys/signing/rotate", json!({})).await;
    assert_eq!(status, 201);
    let after = current_cert(&app.get_json("/.well-known/jwks.json").await);
    assert_ne!(after, before);
    assert_eq!(der("/cer").await, after);
}

struct Idp {
    app: TestApp,
    id: String,
}

/// A tenant with a SAML application (`addon`) and a user who logs in with a password.
async fn idp(addon: Value) -> Idp {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (status, sp) = mgmt
        .post(
            "/clients",
            json!({"name": "Wiki", "app_type": "regular_web", "callbacks": [ACS],
                   "addons": {"samlp": addon}}),
        )
        .await;
    assert_eq!(status, 201, "{sp}");
    let (status, user) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@example.com",
                   "password": "Sup3r-secret!", "given_name": "Ada",
                   "app_metadata": {"department": "engines"}}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    Idp {
        id: sp["client_id"].as_str().expect("id").to_owned(),
        app,
    }
}

fn authn_request(id: &str, acs: &str, extra: &str) -> String {
    format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="2026-11-29T10:00:00Z" AssertionConsumerServiceURL="{acs}" {extra}>"#,
            r#"<saml:Issuer>{sp}</saml:Issuer></samlp:AuthnRequest>"#
        ),
        id = id,
        acs = acs,
        extra = extra,
        sp = SP
    )
}

/// The auto-posting form's action and fields.
fn form_of(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let v = tag[start..].split('"').next()?;
        Some(
            v.replace("&#x2B;", "+")
                .replace("&#x3D;", "=")
                .replace("&amp;", "&")
                .replace("&#x2F;", "/")
                .replace("&#43;", "+")
                .replace("&#61;", "=")
                .replace("&#47;", "/"),
        )
    };
    let form_at = html.find("<form").expect("a form");
    let action = attr(&html[form_at..], "action").expect("action");
    let fields = html
        .split("<input")
        .skip(1)
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value")?)))
        .collect();
    (action, fields)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("tx").to_owned()
}

impl Idp {
    async fn certificate(&self) -> Vec<u8> {
        client()
            .get(self.app.url("/cer"))
            .send()
            .await
            .expect("cer")
            .bytes()
            .await
            .expect("der")
            .to_vec()
    }

    /// Logs in on the page `page` shows; returns the page that follows.
    async fn log_in(&self, browser: &reqwest::Client, page: reqwest::Response) -> String {
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("login page");
        assert!(html.contains("name=\"password\""), "{html}");
        let r = browser
            .post(self.app.url("/u/login"))
            .form(&[
                ("tx", tx_of(&html).as_str()),
                ("username", "ada@example.com"),
                ("password", "Sup3r-secret!"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200);
        r.text().await.expect("form")
    }

    /// The SAML Response an auto-post form carries, checked by libxmlsec1 against our
    /// certificate, for the request `request_id` (None: IdP-initiated).
    async fn verified(&self, html: &str, request_id: Option<&str>) -> (Verified, String) {
        let (action, fields) = form_of(html);
        assert_eq!(action, ACS, "{html}");
        let xml = String::from_utf8(
            STANDARD
                .decode(field(&fields, "SAMLResponse").expect("SAMLResponse"))
                .expect("base64"),
        )
        .expect("utf-8");
        let certificates = [self.certificate().await];
        let ids: Vec<&str> = request_id.into_iter().collect();
        let verified = verify::response(
            &xml,
            &Expected {
                sp_entity_id: SP,
                acs_url: ACS,
                idp_entity_id: Some(IDP),
                certificates: &certificates,
                request_ids: request_id.map(|_| ids.as_slice()),
                now: time::OffsetDateTime::now_utc().unix_timestamp(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}: {xml}"));
        (verified, xml)
    }
}

fn attribute<'a>(v: &'a Verified, name: &str) -> Option<&'a [String]> {
    v.attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

#[tokio::test]
async fn sp_initiated_logins_through_universal_login_then_sso() {
    let s = idp(json!({"mappings": {"app_metadata.department": "urn:dept"}})).await;
    let browser = client();
    // HTTP-Redirect binding, with a RelayState.
    let url = s.app.url(&format!(
        "/samlp/{}?SAMLRequest={}&RelayState={}",
        s.id,
        enc(&saml_deflated(&authn_request("_req1", ACS, ""))),
        enc("/wiki/page?x=1")
    ));
    let page = browser.get(url).send().await.expect("sso");
    let html = s.log_in(&browser, page).await;
    let (v, xml) = s.verified(&html, Some("_req1")).await;
    assert_eq!(
        field(&form_of(&html).1, "RelayState"),
        Some("/wiki/page?x=1")
    );
    assert!(v.name_id.starts_with("auth0|"), "{xml}");
    assert_eq!(
        attribute(
            &v,
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
        ),
        Some(&["ada@example.com".to_owned()][..])
    );
    assert_eq!(attribute(&v, "urn:dept"), Some(&["engines".to_owned()][..]));
    assert!(xml.contains("InResponseTo=\"_req1\""));
    // By default the assertion is signed, not the response.
    assert!(xml.find("<ds:Signature").expect("signed") > xml.find("<saml:Assertion").expect("a"));

    // HTTP-POST binding in the same browser: single sign-on, no login page.
    let r = browser
        .post(s.app.url(&format!("/samlp/{}", s.id)))
        .form(&[(
            "SAMLRequest",
            STANDARD.encode(authn_request("_req2", ACS, "")),
        )])
        .send()
        .await
        .expect("sso post");
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("form");
    let (again, _) = s.verified(&html, Some("_req2")).await;
    assert_eq!(again.name_id, v.name_id);
    assert_eq!(again.session_index, v.session_index);

    // ForceAuthn asks again despite the session.
    let url = s.app.url(&format!(
        "/samlp/{}?SAMLRequest={}",
        s.id,
        enc(&saml_deflated(&authn_request(
            "_req3",
            ACS,
            r#"ForceAuthn="true""#
        )))
    ));
    let page = browser.get(url).send().await.expect("forced");
    let html = s.log_in(&browser, page).await;
    s.verified(&html, Some("_req3")).await;

    // IsPassive without a session: a failed Response, at once.
    let url = s.app.url(&format!(
        "/samlp/{}?SAMLRequest={}",
        s.id,
        enc(&saml_deflated(&authn_request(
            "_req4",
            ACS,
            r#"IsPassive="true""#
        )))
    ));
    let r = client().get(url).send().await.expect("passive");
    let (action, fields) = form_of(&r.text().await.expect("form"));
    assert_eq!(action, ACS);
    let xml = String::from_utf8(
        STANDARD
            .decode(field(&fields, "SAMLResponse").expect("response"))
            .expect("base64"),
    )
    .expect("utf-8");
    assert!(
        xml.contains("status:NoPassive") && !xml.contains("Assertion"),
        "{xml}"
    );
    assert!(xml.contains("InResponseTo=\"_req4\""));
}

#[tokio::test]
async fn idp_initiated_logins_and_the_addon_settings() {
    let s = idp(json!({
        "audience": "urn:wiki", "signResponse": true, "lifetimeInSeconds": 120,
        "nameIdentifierFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "nameIdentifierProbes": ["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"],
        "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    }))
    .await;
    let browser = client();
    let page = browser
        .get(s.app.url(&format!("/samlp/{}?RelayState=home", s.id)))
        .send()
        .await
        .expect("idp-initiated");
    let html = s.log_in(&browser, page).await;
    let (_, fields) = form_of(&html);
    let xml = String::from_utf8(
        STANDARD
            .decode(field(&fields, "SAMLResponse").expect("response"))
            .expect("base64"),
    )
    .expect("utf-8");
    // signResponse: the response is signed (its signature right after its Issuer), the
    // assertion is not.
    let signature = xml.find("<ds:Signature").expect("signed");
    assert!(
        signature < xml.find("<saml:Assertion").expect("assertion"),
        "{xml}"
    );
    assert_eq!(xml.matches("<ds:Signature xmlns").count(), 1);
    assert!(!xml.contains("InResponseTo"));
    assert!(xml.contains("<saml:Audience>urn:wiki</saml:Audience>"));
    assert!(
        xml.contains(
            r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ada@example.com<"#
        ),
        "{xml}"
    );
    assert!(xml.contains("ac:classes:PasswordProtectedTransport"));
    assert_eq!(field(&fields, "RelayState"), Some("home"));
    let certificates = [s.certificate().await];
    let v = verify::response(
        &xml,
        &Expected {
            sp_entity_id: "urn:wiki",
            acs_url: ACS,
            idp_entity_id: Some(IDP),
            certificates: &certificates,
            request_ids: None,
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {xml}"));
    assert_eq!(v.name_id, "ada@example.com");
    let lifetime = v.expires_at - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((100..=121).contains(&lifetime), "{lifetime}");
}

#[tokio::test]
async fn responses_go_only_to_registered_callbacks() {
    let s = idp(json!({})).await;
    let mgmt = s.app.mgmt().await;
    let (_, plain) = mgmt
        .post(
            "/clients",
            json!({"name": "No add-on", "app_type": "regular_web", "callbacks": [ACS]}),
        )
        .await;
    let plain_id = plain["client_id"].as_str().expect("id");
    for (path, why) in [
        (
            format!(
                "/samlp/{}?SAMLRequest={}",
                s.id,
                enc(&saml_deflated(&authn_request(
                    "_r",
                    "https://evil.example/acs",
                    ""
                )))
            ),
            "an unregistered ACS",
        ),
        (
            format!("/samlp/{}?SAMLRequest=not-base64!", s.id),
            "garbage",
        ),
        (
            format!(
                "/samlp/{}?SAMLRequest={}",
                s.id,
                enc(&saml_deflated(&format!(
                    r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
                    authn_request("_r", ACS, "")
                )))
            ),
            "a DOCTYPE",
        ),
        (format!("/samlp/{plain_id}"), "no add-on"),
        ("/samlp/nobody".to_owned(), "unknown client"),
    ] {
        let r = client().get(s.app.url(&path)).send().await.expect("sso");
        assert_eq!(r.status(), 400, "{why}");
        let html = r.text().await.expect("page");
        assert!(
            !html.contains("SAMLResponse") && !html.contains("evil"),
            "{why}: {html}"
        );
    }
}

#[tokio::test]
async fn single_logout_ends_the_session_and_answers_the_provider() {
    let slo = "https://wiki.example/saml/slo";
    let s = idp(json!({"logout": {"callback": slo}})).await;
    let browser = client();
    let url = s.app.url(&format!(
        "/samlp/{}?SAMLRequest={}",
        s.id,
        enc(&saml_deflated(&authn_request("_req1", ACS, "")))
    ));
    let page = browser.get(url).send().await.expect("sso");
    let html = s.log_in(&browser, page).await;
    let (v, _) = s.verified(&html, Some("_req1")).await;
    let logout_request = |session_index: &str| {
        format!(
            concat!(
                r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lo1" Version="2.0" "#,
                r#"IssueInstant="2026-11-29T10:00:00Z"><saml:Issuer>{}</saml:Issuer>"#,
                r#"<saml:NameID>{}</saml:NameID><samlp:SessionIndex>{}</samlp:SessionIndex>"#,
                r#"</samlp:LogoutRequest>"#
            ),
            SP, v.name_id, session_index
        )
    };
    // Another site's request without this session's index asks first, and ends nothing.
    let r = browser
        .get(s.app.url(&format!(
            "/samlp/{}/logout?SAMLRequest={}",
            s.id,
            enc(&saml_deflated(&logout_request("_guessed")))
        )))
        .send()
        .await
        .expect("logout");
    let html = r.text().await.expect("page");
    assert!(html.contains("name=\"confirm\""), "{html}");
    // The provider's request with the session's index ends it and is answered.
    let r = browser
        .get(s.app.url(&format!(
            "/samlp/{}/logout?SAMLRequest={}&RelayState=bye",
            s.id,
            enc(&saml_deflated(&logout_request(
                v.session_index.as_deref().expect("session index")
            )))
        )))
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 200);
    let (action, fields) = form_of(&r.text().await.expect("form"));
    assert_eq!(action, slo);
    assert_eq!(field(&fields, "RelayState"), Some("bye"));
    let xml = String::from_utf8(
        STANDARD
            .decode(field(&fields, "SAMLResponse").expect("response"))
            .expect("base64"),
    )
    .expect("utf-8");
    assert!(xml.starts_with("<samlp:LogoutResponse"), "{xml}");
    assert!(xml.contains("InResponseTo=\"_lo1\"") && xml.contains("status:Success"));
    assert!(xml.contains("<ds:SignatureValue>"));
    // The session is gone: the next login shows the page again.
    let r = browser
        .get(s.app.url(&format!(
            "/samlp/{}?SAMLRequest={}",
            s.id,
            enc(&saml_deflated(&authn_request("_req2", ACS, "")))
        )))
        .send()
        .await
        .expect("sso");
    assert!(r.text().await.expect("page").contains("name=\"password\""));
}

#[tokio::test]
async fn with_a_signing_cert_only_the_providers_signed_requests_are_answered() {
    let sp_key = gatehouse_server::signing::generate_private_key().expect("key");
    let sp_cert = gatehouse_server::signing::self_signed_certificate(&sp_key).expect("cert");
    let other_key = gatehouse_server::signing::generate_private_key().expect("key");
    let s = idp(json!({"signingCert": STANDARD.encode(&sp_cert)})).await;
    let rsa_sha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    let redirect_query = |key: &[u8], id: &str| {
        let q = format!(
            "SAMLRequest={}&RelayState={}&SigAlg={}",
            enc(&saml_deflated(&authn_request(id, ACS, ""))),
            enc("r s"),
            enc(rsa_sha256)
        );
        saml_signed_query(q, key)
    };
    let get = |query: String| {
        let url = s.app.url(&format!("/samlp/{}?{query}", s.id));
        async move { client().get(url).send().await.expect("sso") }
    };
    // HTTP-Redirect: signed by the provider, answered (the login page).
    let r = get(redirect_query(&sp_key, "_ok")).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("page").contains("name=\"password\""));
    // Unsigned, signed by another key, or with a changed RelayState: refused.
    let unsigned = format!(
        "SAMLRequest={}",
        enc(&saml_deflated(&authn_request("_u", ACS, "")))
    );
    let tampered = redirect_query(&sp_key, "_t").replace("RelayState=r", "RelayState=x");
    for (query, why) in [
        (unsigned, "unsigned"),
        (redirect_query(&other_key, "_o"), "another key"),
        (tampered, "tampered"),
    ] {
        let r = get(query).await;
        assert_eq!(r.status(), 400, "{why}");
        let page = r.text().await.expect("page");
        assert!(!page.contains("name=\"password\""), "{why}: {page}");
    }
    // HTTP-POST: an enveloped signature after the Issuer.
    let signed_xml = |key: &[u8], cert: &[u8], id: &str| {
        let template = gatehouse_server::saml::signature_template(id, cert);
        let xml = authn_request(id, ACS, "").replacen(
            "</saml:Issuer>",
            &format!("</saml:Issuer>{template}"),
            1,
        );
        gatehouse_server::saml::sign(&xml, key).expect("signed")
    };
    let post = |xml: String| {
        let url = s.app.url(&format!("/samlp/{}", s.id));
        async move {
            client()
                .post(url)
                .form(&[("SAMLRequest", STANDARD.encode(xml))])
                .send()
                .await
                .expect("sso post")
        }
    };
    assert_eq!(
        post(signed_xml(&sp_key, &sp_cert, "_p1")).await.status(),
        200
    );
    let other_cert = gatehouse_server::signing::self_signed_certificate(&other_key).expect("c");
    let forged = signed_xml(&other_key, &other_cert, "_p2");
    let altered = signed_xml(&sp_key, &sp_cert, "_p3").replace(ACS, "https://wiki.example/x");
    for (xml, why) in [
        (authn_request("_p4", ACS, ""), "unsigned"),
        (forged, "another key"),
        (altered, "altered"),
    ] {
        assert_eq!(post(xml).await.status(), 400, "{why}");
    }
}
