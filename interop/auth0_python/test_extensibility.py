"""auth0-python against gatehouse's extensibility: Auth0 Actions made, deployed and bound with the
management client and run by the authentication client's logins (claims, deny, executions in the
log events), and the Authorization Extension's API called with a token the SDK got for it."""

import base64
import json
import time

import pytest
import requests
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

REALM = "http://auth0.com/oauth/grant-type/password-realm"
DB = "Username-Password-Authentication"
PASSWORD = "Sup3r-secret!"
AUTHZ = "urn:auth0-authz-api"
NS = "https://my-app.example.com"

# Auth0's examples, as written in its docs.
POST_LOGIN = """exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.user.email && event.user.email.endsWith('@evil.example')) {
    api.access.deny('Access from evil.example is not allowed.');
  }
  const roles = (event.user.app_metadata && event.user.app_metadata.roles) || [];
  api.idToken.setCustomClaim(`${namespace}/roles`, roles);
  api.accessToken.setCustomClaim(`${namespace}/roles`, roles);
};"""
M2M = """exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim('https://example.com/m2m', event.client.name);
};"""


def _claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def web(mgmt):
    app = mgmt.clients.create(name="web", app_type="regular_web", grant_types=[REALM, "password"])
    mgmt.users.create(connection=DB, email="ada@example.com", password=PASSWORD, app_metadata={"roles": ["admin", "editor"]})
    mgmt.users.create(connection=DB, email="eve@evil.example", password=PASSWORD)
    return app


def _login(gatehouse, app, email, **kw):
    kw.setdefault("scope", "openid")
    return GetToken(gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http").login(
        email, PASSWORD, realm=DB, **kw
    )


def _verify(gatehouse, app, id_token):
    return TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"{gatehouse.base}/.well-known/jwks.json"),
        issuer=f"{gatehouse.base}/",
        audience=app.client_id,
    ).verify(id_token)


def _bind(mgmt, trigger, name, code):
    action = mgmt.actions.create(name=name, supported_triggers=[{"id": trigger, "version": "v3"}], code=code)
    mgmt.actions.deploy(action.id)
    mgmt.actions.triggers.bindings.update_many(
        trigger, bindings=[{"ref": {"type": "action_name", "value": name}, "display_name": name}]
    )
    return action


def test_post_login_action_adds_claims_denies_and_records_its_execution(gatehouse, mgmt, web):
    name = "roles-and-deny"
    action = _bind(mgmt, "post-login", name, POST_LOGIN)
    try:
        bound = list(mgmt.actions.triggers.bindings.list("post-login"))
        assert [(b.display_name, b.action.id) for b in bound] == [(name, action.id)]
        versions = list(mgmt.actions.versions.list(action.id))
        assert [(v.number, v.deployed) for v in versions] == [(1, True)]
        assert [a.name for a in mgmt.actions.list(trigger_id="post-login", deployed=True)] == [name]

        claims = _verify(gatehouse, web, _login(gatehouse, web, "ada@example.com")["id_token"])
        assert claims["sub"].startswith("auth0|")
        assert claims[f"{NS}/roles"] == ["admin", "editor"]

        with pytest.raises(Auth0Error) as err:
            _login(gatehouse, web, "eve@evil.example")
        assert err.value.status_code == 403
        assert err.value.error_code == "access_denied"
        assert err.value.message == "Access from evil.example is not allowed."

        # The success event names the execution; the execution tells what ran.
        event = None
        for _ in range(100):  # the log writer writes in batches
            events = [e for e in mgmt.logs.list(search="type:sepft") if e.user_id == claims["sub"]]
            if events:
                event = events[0]
                break
            time.sleep(0.05)
        assert event is not None, "a sepft event for ada"
        execution = mgmt.actions.executions.get(event.details["actions"]["executions"][0])
        assert execution.trigger_id == "post-login"
        assert execution.status == "final"
        assert execution.results[0].action_name == name
    finally:
        mgmt.actions.triggers.bindings.update_many("post-login", bindings=[])
    assert list(mgmt.actions.triggers.bindings.list("post-login")) == []


def test_credentials_exchange_action_shapes_machine_tokens(gatehouse, mgmt):
    api = mgmt.resource_servers.create(identifier="https://m2m.example/", scopes=[{"value": "read:jobs"}])
    job = mgmt.clients.create(name="nightly job", app_type="non_interactive", grant_types=["client_credentials"])
    mgmt.client_grants.create(client_id=job.client_id, audience=api.identifier, scope=["read:jobs"])
    get_token = GetToken(gatehouse.domain, job.client_id, client_secret=job.client_secret, protocol="http")
    _bind(mgmt, "credentials-exchange", "m2m-claim", M2M)
    try:
        claims = _claims(get_token.client_credentials(api.identifier)["access_token"])
        assert claims["https://example.com/m2m"] == "nightly job"
        assert claims["sub"] == f"{job.client_id}@clients"
    finally:
        mgmt.actions.triggers.bindings.update_many("credentials-exchange", bindings=[])
    assert "https://example.com/m2m" not in _claims(get_token.client_credentials(api.identifier)["access_token"])


def test_authorization_extension_api_policy_reaches_the_tokens(gatehouse, mgmt, get_token, web):
    rs = mgmt.resource_servers.get(AUTHZ)
    assert rs.identifier == AUTHZ
    scopes = [s.value for s in rs.scopes]
    assert {"read:groups", "create:groups", "create:roles", "create:permissions", "update:configuration"} <= set(scopes)
    mgmt.client_grants.create(client_id=gatehouse.client_id, audience=AUTHZ, scope=scopes)
    token = get_token.client_credentials(AUTHZ)
    assert set(token["scope"].split()) == set(scopes)

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"

    def call(method, path, body=None, expect=200):
        r = session.request(method, f"{gatehouse.base}/authz/api{path}", json=body)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    user = mgmt.users.create(connection=DB, email="lin@example.com", password=PASSWORD)
    perm = call("POST", "/permissions", {"name": "read:docs", "description": "Read docs",
                                         "applicationType": "client", "applicationId": web.client_id})
    assert perm["_id"] and perm["name"] == "read:docs"
    role = call("POST", "/roles", {"name": "Editor", "description": "Edits docs", "applicationType": "client",
                                   "applicationId": web.client_id, "permissions": [perm["_id"]]})
    assert role["permissions"] == [perm["_id"]]
    group = call("POST", "/groups", {"name": "Engineers", "description": "Builders"})
    call("PATCH", f"/groups/{group['_id']}/roles", [role["_id"]], expect=204)
    call("PATCH", f"/groups/{group['_id']}/members", [user.user_id], expect=204)

    config = call("GET", "/configuration")
    assert config["groupsInToken"] is False
    switches = {k: False for k in config if k != "_id"}
    switches.update(groupsInToken=True, rolesInToken=True, permissionsInToken=True)
    updated = call("PATCH", "/configuration", switches)
    assert {k: updated[k] for k in switches} == switches

    policy = call("POST", f"/users/{user.user_id}/policy/{web.client_id}", {"connectionName": DB, "groups": []})
    assert policy == {"groups": ["Engineers"], "roles": ["Editor"], "permissions": ["read:docs"]}

    claims = _verify(gatehouse, web, _login(gatehouse, web, "lin@example.com")["id_token"])
    issuer = f"{gatehouse.base}/"
    assert claims[f"{issuer}groups"] == ["Engineers"]
    assert claims[f"{issuer}roles"] == ["Editor"]
    assert claims[f"{issuer}permissions"] == ["read:docs"]

    # The extension's API is for applications: a person gets no token for it.
    with pytest.raises(Auth0Error) as err:
        _login(gatehouse, web, "lin@example.com", audience=AUTHZ)
    assert err.value.status_code == 403
    assert err.value.error_code == "access_denied"
