"""auth0-python's authentication client against gatehouse's token endpoint."""

import base64
import json

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error


def _claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_client_credentials_for_the_management_api(gatehouse, get_token):
    token = get_token.client_credentials(gatehouse.audience)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 86400
    claims = _claims(token["access_token"])
    assert claims["iss"] == f"{gatehouse.base}/"
    assert claims["aud"] == gatehouse.audience
    assert claims["sub"] == f"{gatehouse.client_id}@clients"
    assert claims["gty"] == "client-credentials"
    assert "read:users" in token["scope"].split()


def test_wrong_secret_is_invalid_client(gatehouse):
    bad = GetToken(gatehouse.domain, gatehouse.client_id, client_secret="nope", protocol="http")
    with pytest.raises(Auth0Error) as err:
        bad.client_credentials(gatehouse.audience)
    assert err.value.status_code == 401
    assert err.value.error_code == "invalid_client"


def test_audience_without_grant_is_access_denied(get_token):
    with pytest.raises(Auth0Error) as err:
        get_token.client_credentials("https://no-such-api.example")
    assert err.value.status_code == 403
    assert err.value.error_code == "access_denied"
    assert err.value.message.startswith("Service not found")
