"""pysaml2 as a SAML service provider of gatehouse, the identity provider of an application
with the `samlp` add-on.

Each SP is a `saml2.client.Saml2Client` (Debian's xmlsec1) that reads gatehouse's IdP metadata
from `/samlp/metadata/<client_id>`. The browser is played with a `requests.Session`: the SP's
AuthnRequest (HTTP-Redirect or HTTP-POST) -> the Universal Login form -> gatehouse's auto-post
form, whose SAMLResponse pysaml2 parses and verifies as its ACS would. Proven here: both
bindings, a signed assertion (default) and a signed Response (`signResponse`), SSO without a
second login, a tampered Response refused by pysaml2, and single logout (an SP LogoutRequest
with the assertion's SessionIndex ends the session; pysaml2 accepts the LogoutResponse).
"""

import base64
import os
import secrets
import warnings
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

# pysaml2 (through cryptography) warns about deprecated ciphers it does not use here.
os.environ["PYTHONWARNINGS"] = "ignore"
warnings.simplefilter("ignore")

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402
from saml2.s_utils import decode_base64_and_inflate  # noqa: E402
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED  # noqa: E402
from saml2.sigver import SignatureError, get_xmlsec_binary  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")

EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
PASSWORD = "Correct-Horse-42!"
# Nothing listens at these addresses: the test hands gatehouse's form fields to pysaml2.
SPS = {
    "assertion": {"entity": "https://sp.example/metadata", "acs": "https://sp.example/acs",
                  "slo": "https://sp.example/slo", "addon": {}},
    "response": {"entity": "https://sp2.example/metadata", "acs": "https://sp2.example/acs",
                 "slo": "https://sp2.example/slo", "addon": {"signResponse": True}},
}


class _Form(HTMLParser):
    """The first form of a page: its action and its named inputs."""

    def __init__(self, html):
        super().__init__()
        self.action, self.fields = None, {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name") and attrs["name"] not in self.fields:
            self.fields[attrs["name"]] = attrs.get("value") or ""


def _service_provider(name, sp, idp_metadata, tmp):
    path = tmp / f"idp-{name}.xml"
    path.write_text(idp_metadata)
    config = SPConfig()
    config.load(
        {
            "entityid": sp["entity"],
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(sp["acs"], BINDING_HTTP_POST)],
                        "single_logout_service": [(sp["slo"], BINDING_HTTP_POST)],
                    },
                    "want_assertions_signed": name == "assertion",
                    "want_response_signed": name == "response",
                    "allow_unsolicited": False,
                },
            },
            # gatehouse names attributes by claim URIs that no pysaml2 attribute map knows.
            "allow_unknown_attributes": True,
            "preferred_binding": {"single_logout_service": [BINDING_HTTP_REDIRECT]},
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
            "metadata": {"local": [str(path)]},
        }
    )
    return Saml2Client(config=config)


class World:
    pass


@pytest.fixture(scope="module")
def world(gatehouse, get_token, tmp_path_factory):
    w = World()
    w.gh = gatehouse
    w.mgmt = requests.Session()
    w.mgmt.headers["Authorization"] = "Bearer " + get_token.client_credentials(gatehouse.audience)["access_token"]
    api = f"{gatehouse.base}/api/v2"
    w.email = f"alice.{secrets.token_hex(4)}@sp.example"
    r = w.mgmt.post(
        f"{api}/users",
        json={"connection": "Username-Password-Authentication", "email": w.email, "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    w.user_id = r.json()["user_id"]
    tmp = tmp_path_factory.mktemp("saml-sp")
    w.apps, w.clients, w.idp_entity = {}, {}, {}
    for name, sp in SPS.items():
        addon = {**sp["addon"], "logout": {"callback": sp["slo"]}}
        r = w.mgmt.post(
            f"{api}/clients",
            json={"name": f"SAML SP {name}", "app_type": "regular_web", "callbacks": [sp["acs"]],
                  "addons": {"samlp": addon}},
        )
        assert r.status_code == 201, r.text
        w.apps[name] = r.json()
        r = requests.get(f"{gatehouse.base}/samlp/metadata/{w.apps[name]['client_id']}")
        assert r.status_code == 200, r.text
        w.clients[name] = _service_provider(name, sp, r.text, tmp)
        [w.idp_entity[name]] = list(w.clients[name].metadata.keys())
    return w


def _gatehouse_hops(w, browser, r):
    """Follows the redirects that stay on gatehouse."""
    while r.status_code in (302, 303) and r.headers["location"].startswith(("/", w.gh.base)):
        r = browser.get(urljoin(w.gh.base, r.headers["location"]), allow_redirects=False)
    return r


def _send_authn_request(w, name, browser, binding):
    """Sends the SP's AuthnRequest to gatehouse; returns (request id, relay state, answer)."""
    client = w.clients[name]
    relay = secrets.token_urlsafe(12)
    req_id, info = client.prepare_for_authenticate(
        entityid=w.idp_entity[name], relay_state=relay, binding=binding
    )
    if binding == BINDING_HTTP_REDIRECT:
        location = dict(info["headers"])["Location"]
        r = browser.get(location, allow_redirects=False)
    else:
        form = _Form(info["data"])
        r = browser.post(form.action, data=form.fields, allow_redirects=False)
    return req_id, relay, _gatehouse_hops(w, browser, r)


def _is_login_page(r):
    return r.status_code == 200 and 'action="/u/login"' in r.text and 'name="tx"' in r.text


def _log_in(w, browser, page):
    assert _is_login_page(page), (page.status_code, page.headers, page.text)
    form = _Form(page.text)
    data = {"tx": form.fields["tx"], "username": w.email, "password": PASSWORD}
    r = browser.post(urljoin(page.url, form.action), data=data, allow_redirects=False)
    return _gatehouse_hops(w, browser, r)


def _saml_form(r, action):
    """The fields of gatehouse's auto-post form to `action`."""
    assert r.status_code == 200, (r.status_code, r.headers, r.text)
    form = _Form(r.text)
    assert form.action == action, r.text
    assert set(form.fields) == {"SAMLResponse", "RelayState"}, form.fields
    return form.fields


def _login(w, name, browser, binding=BINDING_HTTP_REDIRECT, expect_login_page=True):
    """A whole SP-initiated login; returns (request id, relay state, the form's fields)."""
    req_id, relay, r = _send_authn_request(w, name, browser, binding)
    if expect_login_page:
        r = _log_in(w, browser, r)
    fields = _saml_form(r, SPS[name]["acs"])
    assert fields["RelayState"] == relay
    return req_id, relay, fields


def _parse(w, name, saml_response, req_id, relay):
    return w.clients[name].parse_authn_request_response(
        saml_response, BINDING_HTTP_POST, outstanding={req_id: relay}
    )


def _check_identity(w, name, response, req_id):
    assert response.in_response_to == req_id
    assert response.issuer() == w.idp_entity[name] == "urn:gatehouse.auth0.com"
    info = response.session_info()
    assert info["name_id"].text == w.user_id and w.user_id.startswith("auth0|"), info
    assert info["name_id"].format == NAMEID_FORMAT_UNSPECIFIED, info
    assert info["session_index"], info
    assert info["ava"].get(EMAIL_CLAIM) == [w.email], info["ava"]


def test_idp_metadata_is_read_by_pysaml2(world):
    for name in SPS:
        client_id = world.apps[name]["client_id"]
        md = world.clients[name].metadata
        idp = world.idp_entity[name]
        sso = [s["location"] for s in md.single_sign_on_service(idp, BINDING_HTTP_REDIRECT)]
        assert sso == [f"{world.gh.base}/samlp/{client_id}"]
        slo = [s["location"] for s in md.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")]
        assert slo == [f"{world.gh.base}/samlp/{client_id}/logout"]
        assert md.certs(idp, "idpsso", "signing"), "no signing certificate"


def test_redirect_binding_login_with_signed_assertion_then_sso(world):
    browser = requests.Session()
    req_id, relay, fields = _login(world, "assertion", browser)
    response = _parse(world, "assertion", fields["SAMLResponse"], req_id, relay)
    _check_identity(world, "assertion", response, req_id)
    # pysaml2 checked the assertion's signature (it wants one); the Response carries none.
    assert response.response.signature is None
    assert response.assertion.signature is not None

    # The same browser again: its session answers without the login page.
    req_id, relay, fields = _login(world, "assertion", browser, expect_login_page=False)
    again = _parse(world, "assertion", fields["SAMLResponse"], req_id, relay)
    _check_identity(world, "assertion", again, req_id)
    assert again.session_info()["session_index"] == response.session_info()["session_index"]


def test_post_binding_login_with_signed_response(world):
    browser = requests.Session()
    req_id, relay, fields = _login(world, "response", browser, binding=BINDING_HTTP_POST)
    response = _parse(world, "response", fields["SAMLResponse"], req_id, relay)
    _check_identity(world, "response", response, req_id)
    assert response.response.signature is not None
    assert response.assertion.signature is None


@pytest.mark.parametrize("name", list(SPS))
def test_tampered_response_is_refused(world, name):
    browser = requests.Session()
    req_id, relay, fields = _login(world, name, browser)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert world.email in xml, xml
    forged = base64.b64encode(xml.replace(world.email, "mallory@evil.example").encode()).decode()
    with pytest.raises(SignatureError):
        _parse(world, name, forged, req_id, relay)
    # The untouched message is accepted.
    _check_identity(world, name, _parse(world, name, fields["SAMLResponse"], req_id, relay), req_id)


def test_single_logout_from_the_service_provider(world):
    name, browser = "assertion", requests.Session()
    client = world.clients[name]
    req_id, relay, fields = _login(world, name, browser)
    response = _parse(world, name, fields["SAMLResponse"], req_id, relay)
    name_id = response.session_info()["name_id"]
    assert client.is_logged_in(name_id)

    [(binding, http)] = client.global_logout(name_id).values()
    assert binding == BINDING_HTTP_REDIRECT
    location = dict(http["headers"])["Location"]
    assert location.startswith(f"{world.gh.base}/samlp/{world.apps[name]['client_id']}/logout?"), location
    query = parse_qs(urlsplit(location).query)
    # The LogoutRequest vouches for the session with the assertion's SessionIndex.
    session_index = response.session_info()["session_index"]
    assert f">{session_index}</" in decode_base64_and_inflate(query["SAMLRequest"][0]).decode()
    r = browser.get(location, allow_redirects=False)
    answer = _saml_form(r, SPS[name]["slo"])
    assert answer["RelayState"] == query["RelayState"][0]

    # Its signature is checked: a forged status is refused.
    xml = base64.b64decode(answer["SAMLResponse"]).decode()
    forged = base64.b64encode(xml.replace("status:Success", "status:Requester").encode()).decode()
    with pytest.raises(SignatureError):
        client.parse_logout_request_response(forged, BINDING_HTTP_POST)
    logout = client.parse_logout_request_response(answer["SAMLResponse"], BINDING_HTTP_POST)
    assert logout.status_ok()
    assert logout.issuer() == world.idp_entity[name]
    assert client.handle_logout_response(logout)[:2] == (0, "200 Ok")
    assert not client.is_logged_in(name_id)

    # The session is gone: the next AuthnRequest shows the login page again.
    _, _, page = _send_authn_request(world, name, browser, BINDING_HTTP_REDIRECT)
    assert _is_login_page(page), (page.status_code, page.text)
