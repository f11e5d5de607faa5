#!/usr/bin/env python3
"""Sequential load generator of bench/million-users.sh: one keep-alive connection, one
request at a time, so each figure is the latency of one query on an otherwise idle server.

Usage: million_users_driver.py BASE_URL MGMT_TOKEN USERS APP_ID APP_SECRET PASSWORD [N [KINDS]]
N requests per search (logins N/5, at least 50); KINDS, comma-separated first words of the
kinds to run (`login,q=email:abc*`), runs only those searches. Paging and the export always run.
Prints one line per query kind: name, requests, p50 ms, p99 ms, rows of the last answer.
"""
import http.client
import json
import random
import sys
import time
import urllib.parse
import zlib

base, token, users, app_id, app_secret, password = sys.argv[1:7]
users = int(users)
n = int(sys.argv[7]) if len(sys.argv) > 7 else 500
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
auth = {"authorization": f"Bearer {token}"}
rng = random.Random(17)


def call(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers={**auth, **(headers or {})})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return data


def email(i):
    # As bench/million-users.sh generates them.
    return f"user{i}@example{i % 7}.com"


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def measure(name, make, count):
    call(*make())  # not measured: the first request of a kind prepares its statements
    times = []
    rows = 0
    for _ in range(count):
        method, path, body, headers = make()
        t = time.perf_counter()
        data = call(method, path, body, headers)
        times.append((time.perf_counter() - t) * 1000)
        parsed = json.loads(data)
        rows = len(parsed) if isinstance(parsed, list) else len(parsed.get("users", [parsed]))
    print(f"{name}\t{count}\t{pct(times, 50):.2f}\t{pct(times, 99):.2f}\t{rows}", flush=True)


def users_q(q, extra=""):
    return ("GET", "/api/v2/users?" + urllib.parse.urlencode({"q": q, "search_engine": "v3"}) + extra, None, None)


def rand_user():
    # A user of Username-Password-Authentication (bench/million-users.sh: i % 10 == 0 are
    # Google users, i % 20 == 5 in another database connection).
    while True:
        i = rng.randrange(1, users + 1)
        if i % 10 and i % 20 != 5:
            return i


def login():
    body = urllib.parse.urlencode({
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "client_id": app_id, "client_secret": app_secret,
        "username": email(rand_user()), "password": password,
        "realm": "Username-Password-Authentication", "scope": "openid",
    })
    return ("POST", "/oauth/token", body, {"content-type": "application/x-www-form-urlencoded"})


def day():
    start = rng.randrange(0, 700)
    a = time.strftime("%Y-%m-%d", time.gmtime(time.time() - (start + 30) * 86400))
    b = time.strftime("%Y-%m-%d", time.gmtime(time.time() - start * 86400))
    return a, b


only = set(sys.argv[8].split(",")) if len(sys.argv) > 8 else None
plan = [
    ("login by email (password-realm)", login, max(50, n // 5)),
    ("users-by-email", lambda: ("GET", "/api/v2/users-by-email?" + urllib.parse.urlencode({"email": email(rng.randrange(1, users + 1))}), None, None), n),
    ('q=email:"x@y"', lambda: users_q(f'email:"{email(rng.randrange(1, users + 1))}"'), n),
    ("q=email:abc*", lambda: users_q(f"email:user{rng.randrange(1, max(2, users // 100))}*"), n),
    ('q=identities.connection:"Username-Password-Authentication"', lambda: users_q('identities.connection:"Username-Password-Authentication"'), n),
    ('q=app_metadata.plan:"gold"', lambda: users_q('app_metadata.plan:"gold"'), n),
    ("q=logins_count:[10 TO 20]", lambda: users_q("logins_count:[10 TO 20]"), n),
    ("q=created_at:[a TO b] (30 days)", lambda: users_q("created_at:[%s TO %s]" % day()), n),
]
for name, make, count in plan:
    if only is None or name.split(" ")[0] in only:
        measure(name, make, count)

# Paging: Auth0's GET /users has no checkpoint paging and pages only through the first
# 1,000 results (page/per_page); the walk is those ten pages of 100, repeated.
times = []
for rep in range(max(1, n // 100)):
    for page in range(10):
        t = time.perf_counter()
        call("GET", f"/api/v2/users?per_page=100&page={page}")
        times.append((time.perf_counter() - t) * 1000)
print(f"page/per_page=100 through the first 1,000\t{len(times)}\t{pct(times, 50):.2f}\t{pct(times, 99):.2f}\t100", flush=True)

# Export: the job, its status until completed, then the file, all users, timed as a whole.
t = time.perf_counter()
job = json.loads(call("POST", "/api/v2/jobs/users-exports", json.dumps({"format": "json"}), {"content-type": "application/json"}))
while job["status"] not in ("completed", "failed"):
    time.sleep(0.2)
    job = json.loads(call("GET", f"/api/v2/jobs/{job['id']}"))
loc = urllib.parse.urlsplit(job["location"])
dl = http.client.HTTPConnection(loc.hostname, loc.port, timeout=3600)
dl.request("GET", loc.path + ("?" + loc.query if loc.query else ""))
r = dl.getresponse()
size = 0
z = zlib.decompressobj(16 + zlib.MAX_WBITS)
lines = 0
while True:
    chunk = r.read(1 << 20)
    if not chunk:
        break
    size += len(chunk)
    lines += z.decompress(chunk).count(b"\n")
secs = time.perf_counter() - t
print(f"users export (json, all users)\t1\t{secs * 1000:.0f}\t{secs * 1000:.0f}\t{lines} users, {size / 1e6:.1f} MB gzip", flush=True)
