"""auth0-python's authentication client logging a user in: password-realm login, ID token
verification with the SDK's own verifier, userinfo, refresh and revocation."""

import pytest
from auth0.authentication import GetToken, Users
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.revoke_token import RevokeToken
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

REALM = "http://auth0.com/oauth/grant-type/password-realm"
DB = "Username-Password-Authentication"


@pytest.fixture(scope="module")
def app(gatehouse, mgmt):
    mgmt.resource_servers.create(
        identifier="https://login.example/", scopes=[{"value": "read:things"}], allow_offline_access=True
    )
    client = mgmt.clients.create(
        name="first-party backend",
        app_type="regular_web",
        grant_types=[REALM, "password", "refresh_token"],
        refresh_token={"rotation_type": "rotating", "expiration_type": "expiring"},
    )
    mgmt.users.create(connection=DB, email="grace@example.com", password="Sup3r-secret!", name="Grace Hopper")
    return client


def _get_token(gatehouse, app):
    return GetToken(gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http")


def test_login_verify_userinfo_refresh_revoke(gatehouse, app):
    get_token = _get_token(gatehouse, app)
    tokens = get_token.login(
        "grace@example.com",
        "Sup3r-secret!",
        scope="openid profile email offline_access read:things",
        realm=DB,
        audience="https://login.example/",
    )
    assert tokens["token_type"] == "Bearer"

    # The SDK's own strict verifier: RS256 via the JWKS, iss with its slash, aud, exp, iat.
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"{gatehouse.base}/.well-known/jwks.json"),
        issuer=f"{gatehouse.base}/",
        audience=app.client_id,
    )
    claims = verifier.verify(tokens["id_token"])
    assert claims["email"] == "grace@example.com"
    assert claims["name"] == "Grace Hopper"

    profile = Users(gatehouse.domain, protocol="http").userinfo(tokens["access_token"])
    assert profile["sub"] == claims["sub"]
    assert profile["email"] == "grace@example.com"

    renewed = get_token.refresh_token(tokens["refresh_token"])
    assert renewed["refresh_token"] != tokens["refresh_token"], "rotating"
    verifier.verify(renewed["id_token"])

    RevokeToken(gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http").revoke_refresh_token(
        renewed["refresh_token"]
    )
    with pytest.raises(Auth0Error) as err:
        get_token.refresh_token(renewed["refresh_token"])
    assert err.value.status_code == 403
    assert err.value.message == "Unknown or invalid refresh token."


def test_wrong_password(gatehouse, app):
    with pytest.raises(Auth0Error) as err:
        _get_token(gatehouse, app).login("grace@example.com", "nope", realm=DB)
    assert err.value.status_code == 403
    assert err.value.error_code == "invalid_grant"
    assert err.value.message == "Wrong email or password."


def test_signup_then_login(gatehouse, app):
    from auth0.authentication import Database

    created = Database(gatehouse.domain, app.client_id, protocol="http").signup(
        email="Signed.Up@example.com", password="Sup3r-secret!", connection=DB, given_name="Signed"
    )
    assert created["email"] == "signed.up@example.com"
    assert created["_id"]
    tokens = _get_token(gatehouse, app).login("signed.up@example.com", "Sup3r-secret!", realm=DB, scope="openid")
    assert tokens["id_token"]
    with pytest.raises(Auth0Error) as err:
        Database(gatehouse.domain, app.client_id, protocol="http").signup(
            email="weak@example.com", password="weak", connection=DB
        )
    assert err.value.status_code == 400
    assert err.value.error_code == "invalid_password"


def test_change_password_answers_like_auth0(gatehouse, app):
    from auth0.authentication import Database

    db = Database(gatehouse.domain, app.client_id, protocol="http")
    # The same sentence whether or not the address exists (no email provider here, so no mail).
    for email in ["grace@example.com", "nobody@example.com"]:
        assert db.change_password(email=email, connection=DB) == "We've just sent you an email to reset your password."
