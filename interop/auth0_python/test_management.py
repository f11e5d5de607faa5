"""auth0-python's management client against gatehouse's Management API v2."""

import time

import pytest
from auth0.authentication import GetToken
from auth0.management.core.api_error import ApiError


def test_clients_lifecycle(gatehouse, mgmt):
    created = mgmt.clients.create(
        name="reports cron",
        app_type="non_interactive",
        grant_types=["client_credentials"],
        client_metadata={"team": "data"},
    )
    assert created.client_id and created.client_secret
    assert created.app_type == "non_interactive"

    got = mgmt.clients.get(created.client_id)
    assert got.name == "reports cron"
    assert got.client_metadata == {"team": "data"}

    updated = mgmt.clients.update(created.client_id, name="reports job", callbacks=["https://x/cb"])
    assert updated.name == "reports job"
    assert updated.callbacks == ["https://x/cb"]

    rotated = mgmt.clients.rotate_secret(created.client_id)
    assert rotated.client_secret and rotated.client_secret != created.client_secret

    names = [c.name for c in mgmt.clients.list(per_page=1)]
    assert "reports job" in names and len(names) >= 2

    mgmt.clients.delete(created.client_id)
    with pytest.raises(ApiError) as err:
        mgmt.clients.get(created.client_id)
    assert err.value.status_code == 404
    assert err.value.body["errorCode"] == "inexistent_client"


def test_api_grant_and_token_for_it(gatehouse, mgmt):
    api = mgmt.resource_servers.create(
        identifier="https://reports.example/",
        name="Reports",
        scopes=[{"value": "read:reports", "description": "Read reports"}],
        signing_alg="RS256",
        token_lifetime=600,
    )
    assert api.identifier == "https://reports.example/"
    assert mgmt.resource_servers.get(api.id).name == "Reports"
    assert mgmt.resource_servers.update(api.id, token_lifetime=900).token_lifetime == 900
    identifiers = [r.identifier for r in mgmt.resource_servers.list()]
    assert "https://reports.example/" in identifiers

    app = mgmt.clients.create(name="cron", app_type="non_interactive", grant_types=["client_credentials"])
    grant = mgmt.client_grants.create(
        client_id=app.client_id, audience=api.identifier, scope=["read:reports"]
    )
    assert grant.scope == ["read:reports"]
    listed = [g.id for g in mgmt.client_grants.list(audience=api.identifier)]
    assert listed == [grant.id]

    token = GetToken(
        gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http"
    ).client_credentials(api.identifier)
    assert token["scope"] == "read:reports"
    assert token["expires_in"] == 900

    mgmt.client_grants.delete(grant.id)
    mgmt.resource_servers.delete(api.id)
    with pytest.raises(ApiError) as err:
        mgmt.resource_servers.get(api.id)
    assert err.value.status_code == 404


def test_client_grants_iterate_across_pages(mgmt):
    api = mgmt.resource_servers.create(identifier="https://paged.example", scopes=[{"value": "r"}])
    ids = []
    for i in range(3):
        c = mgmt.clients.create(name=f"paged-{i}", app_type="non_interactive")
        ids.append(mgmt.client_grants.create(client_id=c.client_id, audience=api.identifier, scope=["r"]).id)
    # The SDK follows `next` until it disappears; a wrong `next` would loop forever.
    seen = [g.id for g in mgmt.client_grants.list(audience=api.identifier, take=2)]
    assert seen == ids


def test_validation_errors_are_bad_requests(mgmt):
    with pytest.raises(ApiError) as err:
        mgmt.clients.create(name="x", app_type="television")
    assert err.value.status_code == 400
    assert err.value.body["errorCode"] == "invalid_body"


def test_signing_keys(gatehouse, mgmt):
    keys = mgmt.keys.signing.list()
    assert len(keys) == 2
    current = next(k for k in keys if k.current)
    assert current.cert.startswith("-----BEGIN CERTIFICATE-----")
    rotated = mgmt.keys.signing.rotate()
    assert rotated.kid != current.kid
    states = {k.kid: k for k in mgmt.keys.signing.list()}
    assert states[rotated.kid].current
    assert states[current.kid].previous


def test_connections_and_enabled_clients(mgmt):
    app = mgmt.clients.create(name="spa", app_type="spa")
    conn = mgmt.connections.create(
        name="email-code",
        strategy="email",
        options={"totp": {"length": 6, "time_step": 300}},
        enabled_clients=[app.client_id],
    )
    assert conn.id.startswith("con_")
    assert conn.enabled_clients == [app.client_id]
    names = [c.name for c in mgmt.connections.list(strategy=["email", "auth0"], take=1)]
    assert sorted(names) == ["Username-Password-Authentication", "email-code"]
    updated = mgmt.connections.update(conn.id, display_name="Email", options={"totp": {"length": 8}})
    assert updated.options["totp"]["length"] == 8
    mgmt.connections.clients.update(conn.id, request=[{"client_id": app.client_id, "status": False}])
    assert list(mgmt.connections.clients.get(conn.id)) == []
    mgmt.connections.clients.update(conn.id, request=[{"client_id": app.client_id, "status": True}])
    assert [c.client_id for c in mgmt.connections.clients.get(conn.id)] == [app.client_id]
    mgmt.connections.delete(conn.id)
    with pytest.raises(ApiError) as err:
        mgmt.connections.get(conn.id)
    assert err.value.status_code == 404


def test_users(mgmt):
    created = mgmt.users.create(
        connection="Username-Password-Authentication",
        email="Ada@Example.com",
        password="Sup3r-secret!",
        email_verified=True,
        user_metadata={"theme": "dark", "lang": "en"},
        app_metadata={"plan": "gold"},
    )
    assert created.user_id.startswith("auth0|")
    assert created.email == "ada@example.com"
    assert created.identities[0].connection == "Username-Password-Authentication"
    assert created.created_at is not None

    # The SDK percent-encodes the `|` in the id.
    got = mgmt.users.get(created.user_id)
    assert got.user_metadata == {"theme": "dark", "lang": "en"}

    updated = mgmt.users.update(created.user_id, user_metadata={"lang": None, "tz": "UTC"}, blocked=True)
    assert updated.user_metadata == {"theme": "dark", "tz": "UTC"}
    assert updated.blocked is True

    mgmt.users.create(connection="Username-Password-Authentication", email="bob@example.org", password="Sup3r-secret!")
    found = list(mgmt.users.list(q='app_metadata.plan:gold AND email:ada*', search_engine="v3"))
    assert [u.user_id for u in found] == [created.user_id]
    everyone = [u.email for u in mgmt.users.list(per_page=1)]
    assert sorted(everyone) == ["ada@example.com", "bob@example.org"]

    by_email = mgmt.users.list_users_by_email(email="ada@example.com")
    assert [u.user_id for u in by_email] == [created.user_id]

    with pytest.raises(ApiError) as err:
        mgmt.users.create(connection="Username-Password-Authentication", email="ada@example.com", password="Sup3r-secret!")
    assert err.value.status_code == 409

    mgmt.users.delete(created.user_id)
    with pytest.raises(ApiError) as err:
        mgmt.users.get(created.user_id)
    assert err.value.status_code == 404


def test_roles_and_permissions(mgmt):
    api = mgmt.resource_servers.create(
        identifier="https://rbac.example", scopes=[{"value": "read:x", "description": "Read x"}]
    )
    role = mgmt.roles.create(name="reader", description="Reads x")
    assert role.id.startswith("rol_")
    roles = list(mgmt.roles.list())
    assert [r.name for r in roles] == ["reader"]
    assert mgmt.roles.update(role.id, description="Reads all x").description == "Reads all x"
    mgmt.roles.permissions.add(
        role.id, permissions=[{"resource_server_identifier": api.identifier, "permission_name": "read:x"}]
    )
    perms = list(mgmt.roles.permissions.list(role.id))
    assert [(p.resource_server_identifier, p.permission_name) for p in perms] == [(api.identifier, "read:x")]
    user = mgmt.users.create(
        connection="Username-Password-Authentication", email="rbac@example.com", password="Sup3r-secret!"
    )
    mgmt.roles.users.assign(role.id, users=[user.user_id])
    assert [u.user_id for u in mgmt.roles.users.list(role.id)] == [user.user_id]
    assert [r.id for r in mgmt.users.roles.list(user.user_id)] == [role.id]
    mgmt.roles.permissions.delete(
        role.id, permissions=[{"resource_server_identifier": api.identifier, "permission_name": "read:x"}]
    )
    assert list(mgmt.roles.permissions.list(role.id)) == []
    mgmt.roles.delete(role.id)


def test_logs_record_token_issuance(gatehouse, mgmt):
    events = list(mgmt.logs.list(search="type:seccft", per_page=5))
    assert events, "the token this module's client got is logged"
    assert {e.type for e in events} == {"seccft"}
    assert gatehouse.client_id in {e.client_id for e in events}
    one = mgmt.logs.get(events[0].log_id)
    assert one.log_id == events[0].log_id


def test_users_import_with_bcrypt_hashes(gatehouse, mgmt):
    import io
    import json

    import bcrypt
    from auth0.authentication import GetToken

    connection = next(
        c for c in mgmt.connections.list(name="Username-Password-Authentication")
    )
    legacy = bcrypt.hashpw(b"from-the-old-system", bcrypt.gensalt(rounds=4)).decode()
    users = [
        {"email": "imported@example.com", "email_verified": True, "password_hash": legacy},
        {"email": "broken", "password_hash": legacy},
    ]
    job = mgmt.jobs.users_imports.create(
        users=("users.json", io.BytesIO(json.dumps(users).encode()), "application/json"),
        connection_id=connection.id,
        upsert=False,
        external_id="legacy-batch",
    )
    # As on Auth0, the import runs in the background: the job starts pending.
    assert job.status == "pending" and job.type == "users_import"
    for _ in range(200):
        got = mgmt.jobs.get(job.id)
        if got.status not in ("pending", "processing"):
            break
        time.sleep(0.05)
    assert got.status == "completed"
    assert got.summary.inserted == 1 and got.summary.failed == 1 and got.summary.total == 2

    app = mgmt.clients.create(
        name="legacy backend",
        app_type="regular_web",
        grant_types=["http://auth0.com/oauth/grant-type/password-realm"],
    )
    tokens = GetToken(
        gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http"
    ).login(
        username="imported@example.com",
        password="from-the-old-system",
        realm="Username-Password-Authentication",
        scope="openid email",
    )
    assert tokens["id_token"]
