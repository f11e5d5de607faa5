"""The Server Client + API scenario end to end: gatehouse, the reports API (Rust) and the
cron job (Python, auth0-python), as the README walks through it."""

import base64
import json
import os
import socket
import subprocess
import time

import pytest
import requests

import job


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def setup(gatehouse, mgmt):
    audience = "https://reports.example/"
    mgmt.resource_servers.create(
        identifier=audience,
        name="Reports API",
        scopes=[{"value": "read:reports", "description": "Read reports"}],
    )
    cron = mgmt.clients.create(name="reports cron", app_type="non_interactive", grant_types=["client_credentials"])
    mgmt.client_grants.create(client_id=cron.client_id, audience=audience, scope=["read:reports"])
    nosy = mgmt.clients.create(name="no scopes", app_type="non_interactive", grant_types=["client_credentials"])
    mgmt.client_grants.create(client_id=nosy.client_id, audience=audience, scope=[])

    port = _free_port()
    api = subprocess.Popen(
        [os.environ["REPORTS_API_BIN"]],
        env={**os.environ, "ISSUER": f"{gatehouse.base}/", "AUDIENCE": audience, "LISTEN": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
    )
    api_url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 10
    while True:
        try:
            requests.get(api_url + "/reports", timeout=1)
            break
        except requests.ConnectionError:
            if time.time() > deadline or api.poll() is not None:
                raise RuntimeError("reports-api did not start")
            time.sleep(0.05)
    yield {"audience": audience, "cron": cron, "nosy": nosy, "api_url": api_url}
    api.terminate()
    api.wait(timeout=10)


def _env(monkeypatch, gatehouse, setup, client):
    monkeypatch.setenv("GATEHOUSE_DOMAIN", gatehouse.domain)
    monkeypatch.setenv("GATEHOUSE_PROTOCOL", "http")
    monkeypatch.setenv("CLIENT_ID", client.client_id)
    monkeypatch.setenv("CLIENT_SECRET", client.client_secret)
    monkeypatch.setenv("AUDIENCE", setup["audience"])
    monkeypatch.setenv("API_URL", setup["api_url"])


def test_cron_job_reuses_its_token(monkeypatch, gatehouse, setup, capsys):
    _env(monkeypatch, gatehouse, setup, setup["cron"])
    cache = job.run(3, 0)
    assert cache.fetches == 1, "one token serves every run until it nears expiry"
    out = capsys.readouterr().out
    assert out.count("2 reports") == 3


def test_keys_rotate_under_the_api(monkeypatch, gatehouse, setup, mgmt):
    _env(monkeypatch, gatehouse, setup, setup["cron"])
    job.run(1, 0)
    rotated = mgmt.keys.signing.rotate()
    # A fresh token is signed with the new key; the API already holds it (gatehouse published
    # it as `next`) or fetches the JWKS again for the unknown kid.
    cache = job.run(1, 0)  # raises unless the API accepted the token
    segment = cache.token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert header["kid"] == rotated.kid, "signed with the key that rotation made current"


def test_the_api_refuses_what_it_should(gatehouse, setup):
    url = setup["api_url"] + "/reports"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer not.a.jwt"}, timeout=5).status_code == 401
    nosy = setup["nosy"]
    token = requests.post(
        f"{gatehouse.base}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": nosy.client_id,
            "client_secret": nosy.client_secret,
            "audience": setup["audience"],
        },
        timeout=5,
    ).json()["access_token"]
    r = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    # A token for another audience (the Management API) is refused too.
    mgmt_token = requests.post(
        f"{gatehouse.base}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": gatehouse.client_id,
            "client_secret": gatehouse.client_secret,
            "audience": gatehouse.audience,
        },
        timeout=5,
    ).json()["access_token"]
    assert requests.get(url, headers={"Authorization": f"Bearer {mgmt_token}"}, timeout=5).status_code == 401
