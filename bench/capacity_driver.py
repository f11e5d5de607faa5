"""Capacity costs: per request type, the database statements and the CPU (gatehouse's and
PostgreSQL's) one request takes, measured over N sequential requests on one replica.

Statements are counted from the server's own log (sqlx logs every statement at DEBUG under
the `sqlx::query` target; the server runs with that target on and its log in a file); CPU is
read from /proc for the gatehouse process and every postgres process. Stdlib only.
"""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total / TICK


def postgres_pids():
    out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def statements(log_path):
    with open(log_path, errors="replace") as f:
        return sum(1 for line in f if '"target":"sqlx::query"' in line)


class Client:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def call(self, method, path, body=None, form=None, token=None):
        headers = {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form)
            headers["content-type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def main():
    base, pid, log_path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    client_id, secret = sys.argv[5], sys.argv[6]
    c = Client(base)
    mgmt = c.call("POST", "/oauth/token", form={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        "audience": f"{base}/api/v2/"})["access_token"]
    api = "https://api.capacity.test"
    c.call("POST", "/api/v2/resource-servers", token=mgmt,
           body={"name": "capacity", "identifier": api, "allow_offline_access": True})
    m2m = c.call("POST", "/api/v2/clients", token=mgmt,
                 body={"name": "m2m", "app_type": "non_interactive"})
    c.call("POST", "/api/v2/client-grants", token=mgmt,
           body={"client_id": m2m["client_id"], "audience": api, "scope": []})
    realm = "http://auth0.com/oauth/grant-type/password-realm"
    web = c.call("POST", "/api/v2/clients", token=mgmt, body={
        "name": "web", "app_type": "regular_web", "grant_types": [realm, "refresh_token"],
        "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring"}})
    db = "Username-Password-Authentication"
    c.call("POST", "/api/v2/users", token=mgmt,
           body={"connection": db, "email": "ada@capacity.test", "password": "Sup3r-secret!"})

    def login():
        return c.call("POST", "/oauth/token", form={
            "grant_type": realm, "client_id": web["client_id"],
            "client_secret": web["client_secret"], "username": "ada@capacity.test",
            "password": "Sup3r-secret!", "realm": db, "audience": api,
            "scope": "openid offline_access"})

    refresh = {"token": login()["refresh_token"]}

    def rotate():
        r = c.call("POST", "/oauth/token", form={
            "grant_type": "refresh_token", "client_id": web["client_id"],
            "client_secret": web["client_secret"], "refresh_token": refresh["token"]})
        refresh["token"] = r["refresh_token"]

    signups = iter(range(10**9))

    kinds = [
        ("client credentials", lambda: c.call("POST", "/oauth/token", form={
            "grant_type": "client_credentials", "client_id": m2m["client_id"],
            "client_secret": m2m["client_secret"], "audience": api})),
        ("password login (refresh token)", login),
        ("refresh rotation", rotate),
        ("sign-up", lambda: c.call("POST", "/dbconnections/signup", body={
            "client_id": web["client_id"], "connection": db,
            "email": f"new-{next(signups)}@capacity.test", "password": "Sup3r-secret!"})),
        ("Management users-by-email", lambda: c.call(
            "GET", "/api/v2/users-by-email?email=ada%40capacity.test", token=mgmt)),
        ("JWKS", lambda: c.call("GET", "/.well-known/jwks.json")),
    ]
    for name, call in kinds:
        call()  # warm the caches as a steady state has them
        time.sleep(0.2)  # the log writer's batch of the warm-up goes first
        s0, g0, p0 = statements(log_path), cpu_seconds([pid]), cpu_seconds(postgres_pids())
        for _ in range(n):
            call()
        time.sleep(0.3)  # the log writer writes its last batch (its statements count)
        s1, g1, p1 = statements(log_path), cpu_seconds([pid]), cpu_seconds(postgres_pids())
        print(json.dumps({"request": name, "statements": (s1 - s0) / n,
                          "gatehouse_ms": 1000 * (g1 - g0) / n,
                          "postgres_ms": 1000 * (p1 - p0) / n}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
