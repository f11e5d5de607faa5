"""pysaml2 as the SAML identity provider behind a gatehouse `samlp` connection.

The IdP is an in-process `saml2.server.Server` with its own key and certificate (openssl), signing
with Debian's xmlsec1, and gatehouse's SP metadata read from `/samlp/metadata`. The browser is
played with `requests`: /authorize -> the IdP's Redirect-binding URL (the AuthnRequest is parsed
by pysaml2) -> pysaml2's auto-post form to the ACS -> the application's redirect URI with a code,
which the application redeems at /oauth/token.
"""

import os
import secrets
import subprocess
import warnings
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

# pysaml2 (through cryptography) warns about deprecated ciphers it does not use here.
os.environ["PYTHONWARNINGS"] = "ignore"
warnings.simplefilter("ignore")

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.md import entity_descriptor_from_string  # noqa: E402
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.sigver import get_xmlsec_binary  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")

CONNECTION = "corp"
SP_ENTITY_ID = "urn:auth0:gatehouse:corp"
# Another service provider of the same IdP (a copy of gatehouse's metadata under another entity id).
OTHER_SP_ENTITY_ID = "urn:auth0:other:corp"
IDP_ENTITY_ID = "http://127.0.0.1:9/idp/metadata"
# Nothing listens at either address: the test reads the redirects that point there.
SSO = "http://127.0.0.1:9/idp/sso"
CALLBACK = "http://127.0.0.1:9/app/callback"

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}

MODES = {
    "assertion": {"sign_response": False, "sign_assertion": True},
    "response": {"sign_response": True, "sign_assertion": False},
    "both": {"sign_response": True, "sign_assertion": True},
}


def _keypair(directory, name):
    key, cert = directory / f"{name}.key.pem", directory / f"{name}.crt.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return key, cert


def _identity_provider(key, cert, sp_metadata_files):
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ENTITY_ID,
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(SSO, BINDING_HTTP_REDIRECT)]},
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": False,
                    "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
                },
            },
            "key_file": str(key),
            "cert_file": str(cert),
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
            "metadata": {"local": [str(f) for f in sp_metadata_files]},
        }
    )
    return Server(config=config)


class _Form(HTMLParser):
    """The action and the fields of the auto-post form pysaml2 gives the browser."""

    def __init__(self, html):
        super().__init__()
        self.action, self.fields = None, {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


class World:
    pass


@pytest.fixture(scope="module")
def world(gatehouse, get_token, tmp_path_factory):
    w = World()
    w.gh = gatehouse
    w.mgmt = requests.Session()
    w.mgmt.headers["Authorization"] = "Bearer " + get_token.client_credentials(gatehouse.audience)["access_token"]
    w.api = f"{gatehouse.base}/api/v2"
    r = w.mgmt.post(
        f"{w.api}/clients",
        json={
            "name": "SAML interop app",
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    assert r.status_code == 201, r.text
    w.app = r.json()

    tmp = tmp_path_factory.mktemp("saml")
    key, cert = _keypair(tmp, "pysaml2-idp")
    other_key, other_cert = _keypair(tmp, "pysaml2-impostor")
    r = w.mgmt.post(
        f"{w.api}/connections",
        json={
            "name": CONNECTION,
            "strategy": "samlp",
            "enabled_clients": [w.app["client_id"]],
            "options": {"signInEndpoint": SSO, "signingCert": cert.read_text()},
        },
    )
    assert r.status_code == 201, r.text

    r = requests.get(f"{gatehouse.base}/samlp/metadata", params={"connection": CONNECTION})
    assert r.status_code == 200, r.text
    w.sp_metadata = r.text
    sp_metadata = tmp / "gatehouse-sp.xml"
    sp_metadata.write_text(r.text)
    assert f'entityID="{SP_ENTITY_ID}"' in r.text, r.text
    other_sp_metadata = tmp / "other-sp.xml"
    other_sp_metadata.write_text(r.text.replace(f'entityID="{SP_ENTITY_ID}"', f'entityID="{OTHER_SP_ENTITY_ID}"'))
    w.idp = _identity_provider(key, cert, [sp_metadata, other_sp_metadata])
    # Another IdP with the same entity id and metadata, and a key gatehouse does not know.
    w.impostor = _identity_provider(other_key, other_cert, [sp_metadata])
    return w


class Attempt:
    pass


def _attempt(w, idp, name_id, *, sign_response, sign_assertion, audience=None):
    """The browser from the application's /authorize to the POST of the IdP's form at the ACS."""
    a = Attempt()
    a.browser = requests.Session()
    a.state = secrets.token_urlsafe(12)
    r = a.browser.get(
        f"{w.gh.base}/authorize",
        params={
            "response_type": "code",
            "client_id": w.app["client_id"],
            "redirect_uri": CALLBACK,
            "state": a.state,
            "scope": "openid email",
            "connection": CONNECTION,
        },
        allow_redirects=False,
    )
    assert r.status_code == 303, (r.status_code, r.headers, r.text)
    location = r.headers["location"]
    assert location.startswith(SSO + "?"), location
    assert "gh_upstream" in a.browser.cookies, r.headers
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {"SAMLRequest", "RelayState"}, query
    a.relay_state = query["RelayState"][0]

    request = idp.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
    a.request = request
    response = idp.create_authn_response(
        identity={"mail": [name_id], "givenName": ["Alice"], "sn": ["Liddell"]},
        in_response_to=request.id,
        destination=request.assertion_consumer_service_url,
        sp_entity_id=audience or request.issuer.text,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
        userid=name_id,
        sign_response=sign_response,
        sign_assertion=sign_assertion,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
    )
    a.response_xml = str(response)
    http = idp.apply_binding(
        BINDING_HTTP_POST, a.response_xml, request.assertion_consumer_service_url, a.relay_state, response=True
    )
    form = _Form(http["data"])
    a.action, a.fields = form.action, form.fields
    a.post = a.browser.post(a.action, data=a.fields, allow_redirects=False)
    return a


def _redirect_params(r):
    assert r.status_code in (302, 303), (r.status_code, r.headers, r.text)
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _user(w, user_id):
    return w.mgmt.get(f"{w.api}/users/{quote(user_id, safe='')}")


def test_sp_metadata_is_read_by_pysaml2(world):
    acs = f"{world.gh.base}/login/callback?connection={CONNECTION}"
    md = world.idp.metadata
    assert SP_ENTITY_ID in md.keys(), list(md.keys())
    assert [s["location"] for s in md.assertion_consumer_service(SP_ENTITY_ID, BINDING_HTTP_POST)] == [acs]
    descriptor = entity_descriptor_from_string(world.sp_metadata)
    assert descriptor.entity_id == SP_ENTITY_ID
    [sp] = descriptor.spsso_descriptor
    assert sp.want_assertions_signed == "true"
    assert [(s.binding, s.location) for s in sp.assertion_consumer_service] == [(BINDING_HTTP_POST, acs)]


@pytest.mark.parametrize("mode", list(MODES))
def test_login_through_pysaml2(world, mode):
    name_id = f"alice.{mode}@corp.example"
    a = _attempt(world, world.idp, name_id, **MODES[mode])
    # What gatehouse asked for, as pysaml2 read it.
    assert a.request.issuer.text == SP_ENTITY_ID
    assert a.request.assertion_consumer_service_url == f"{world.gh.base}/login/callback?connection={CONNECTION}"
    assert a.request.destination == SSO
    assert a.action == a.request.assertion_consumer_service_url
    # Signed where the mode says, with RSA-SHA256 and SHA-256 digests.
    doc = ET.fromstring(a.response_xml)
    response_signatures = doc.findall("ds:Signature", NS)
    assertion_signatures = doc.findall("saml:Assertion/ds:Signature", NS)
    assert (len(response_signatures), len(assertion_signatures)) == (
        int(MODES[mode]["sign_response"]),
        int(MODES[mode]["sign_assertion"]),
    ), a.response_xml
    for sig in response_signatures + assertion_signatures:
        assert sig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == SIG_RSA_SHA256
        assert sig.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", NS).get("Algorithm") == DIGEST_SHA256

    assert a.post.status_code == 303, (a.post.status_code, a.post.headers, a.post.text)
    params = _redirect_params(a.post)
    assert params.get("state") == a.state and params.get("code"), params

    r = requests.post(
        f"{world.gh.base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": world.app["client_id"],
            "client_secret": world.app["client_secret"],
            "code": params["code"],
            "redirect_uri": CALLBACK,
        },
    )
    assert r.status_code == 200, r.text
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"{world.gh.base}/.well-known/jwks.json"),
        issuer=f"{world.gh.base}/",
        audience=world.app["client_id"],
    )
    claims = verifier.verify(r.json()["id_token"])
    user_id = f"samlp|{CONNECTION}|{name_id}"
    assert claims["sub"] == user_id
    assert claims["email"] == name_id

    r = _user(world, user_id)
    assert r.status_code == 200, r.text
    user = r.json()
    assert user["email"] == name_id
    assert user.get("given_name") == "Alice", user
    assert user["identities"] == [
        {"provider": "samlp", "connection": CONNECTION, "user_id": f"{CONNECTION}|{name_id}", "isSocial": False}
    ], user["identities"]


def test_response_signed_by_another_key_is_refused(world):
    name_id = "mallory.key@corp.example"
    a = _attempt(world, world.impostor, name_id, sign_response=True, sign_assertion=True)
    assert a.post.status_code == 302, (a.post.status_code, a.post.headers, a.post.text)
    params = _redirect_params(a.post)
    assert params.get("error") == "access_denied" and params.get("state") == a.state, params
    assert "code" not in params
    assert _user(world, f"samlp|{CONNECTION}|{name_id}").status_code == 404


def test_response_for_another_audience_is_refused(world):
    name_id = "mallory.audience@corp.example"
    a = _attempt(
        world, world.idp, name_id, sign_response=True, sign_assertion=True, audience=OTHER_SP_ENTITY_ID
    )
    audiences = ET.fromstring(a.response_xml).findall(".//saml:Audience", NS)
    assert [e.text for e in audiences] == [OTHER_SP_ENTITY_ID], a.response_xml
    assert a.post.status_code == 302, (a.post.status_code, a.post.headers, a.post.text)
    params = _redirect_params(a.post)
    assert params.get("error") == "access_denied" and params.get("state") == a.state, params
    assert "code" not in params
    assert _user(world, f"samlp|{CONNECTION}|{name_id}").status_code == 404


def test_replayed_response_is_refused(world):
    a = _attempt(world, world.idp, "alice.replay@corp.example", sign_response=False, sign_assertion=True)
    assert a.post.status_code == 303, (a.post.status_code, a.post.headers, a.post.text)
    assert _redirect_params(a.post).get("code")
    # The browser posting the form again (its binding cookie was cleared by the first answer).
    again = a.browser.post(a.action, data=a.fields, allow_redirects=False)
    assert again.status_code == 400, (again.status_code, again.headers, again.text)
    assert "location" not in again.headers
    # The very same request, with the binding cookie it carried the first time.
    assert "gh_upstream=" in a.post.request.headers.get("cookie", ""), a.post.request.headers
    replayed = requests.Session().send(a.post.request, allow_redirects=False)
    assert replayed.status_code == 400, (replayed.status_code, replayed.headers, replayed.text)
    assert "location" not in replayed.headers
