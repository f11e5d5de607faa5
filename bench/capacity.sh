#!/usr/bin/env bash
# Capacity on PostgreSQL (docs/capacity.md has the model these numbers feed):
#  1. per request type, database statements per request (a run with sqlx's statement log on)
#     and CPU per request of gatehouse and of PostgreSQL (a run with it off), over N
#     sequential requests on one release replica;
#  2. client credentials and password logins through HAProxy with 1, 2 and 3 replicas, each
#     pinned to a core (replica i on core i mod cores), as ratios to one replica, measured in
#     the same run.
# Loopback only; rate limits and brute-force protection off (one load generator, one address).
# Usage: bench/capacity.sh [seconds per load run, default 10] [requests per type, default 300]
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
cd "$(dirname "$0")/.."
secs="${1:-10}"
n="${2:-300}"
for tool in wrk haproxy; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || apt-get install -y -qq "$tool" >/dev/null
done
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
cargo build --release --quiet --bin gatehouse
bin="$PWD/target/release/gatehouse"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
db="gatehouse_capacity"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
url="postgres://postgres@127.0.0.1:5432/$db"
key=$(python3 -c 'import os; print(os.urandom(32).hex())')
id="capacity-bootstrap"
secret="capacity-bootstrap-secret-0123456789-0123456789"

# start_replica PORT ISSUER LOGLEVEL LOGFILE [CORE]
start_replica() {
  local pin=()
  [ -n "${5:-}" ] && pin=(taskset -c "$5")
  GATEHOUSE_DATABASE_URL="$url" GATEHOUSE_MASTER_KEY="$key" GATEHOUSE_ISSUER="$2" \
    GATEHOUSE_BOOTSTRAP_CLIENT_ID=$id GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$secret \
    GATEHOUSE_RATE_LIMIT_AUTH=off GATEHOUSE_RATE_LIMIT_MGMT=off GATEHOUSE_BRUTE_FORCE_THRESHOLD=off \
    GATEHOUSE_LOG_FORMAT=json GATEHOUSE_LOG_LEVEL="$3" GATEHOUSE_TRUSTED_PROXIES=127.0.0.1 \
    "${pin[@]}" "$bin" serve --listen "127.0.0.1:$1" >/dev/null 2>"$4" &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; do sleep 0.05; done
}
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }

echo "machine: $(nproc) cores (shared by gatehouse, PostgreSQL, HAProxy and the load generator)"
echo
echo "## Costs per request (one replica, $n sequential requests per type)"
costs() { # LOGLEVEL -> JSON lines
  local port; port=$(free_port)
  psql -q -h 127.0.0.1 -U postgres -d "$db" -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
  start_replica "$port" "http://127.0.0.1:$port/" "$1" "$work/costs.log"
  python3 bench/capacity_driver.py "http://127.0.0.1:$port" "${pids[-1]}" "$work/costs.log" "$n" "$id" "$secret"
  stop_all
}
costs "warn,sqlx::query=debug" > "$work/statements.jsonl"
costs "warn" > "$work/cpu.jsonl"
python3 - "$work/statements.jsonl" "$work/cpu.jsonl" <<'PY'
import json, sys
st = [json.loads(l) for l in open(sys.argv[1])]
cpu = {r["request"]: r for r in map(json.loads, open(sys.argv[2]))}
print("| request | statements / request | gatehouse CPU ms / request | PostgreSQL CPU ms / request |")
print("|---|---|---|---|")
for r in st:
    c = cpu[r["request"]]
    print(f'| {r["request"]} | {r["statements"]:.1f} | {c["gatehouse_ms"]:.2f} | {c["postgres_ms"]:.2f} |')
PY

echo
echo "## Through HAProxy with 1, 2 and 3 replicas (wrk -c16, ${secs}s each)"
psql -q -h 127.0.0.1 -U postgres -d "$db" -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
front=$(free_port)
issuer="http://127.0.0.1:$front/"
ports=($(free_port) $(free_port) $(free_port))
cores=$(nproc)
# Set-up through the first replica alone: the clients and the user the load uses.
start_replica "${ports[0]}" "$issuer" warn "$work/r0.log"
setup=$(python3 - "http://127.0.0.1:${ports[0]}" "$issuer" "$id" "$secret" <<'PY'
import json, sys, urllib.parse, urllib.request
base, issuer, cid, secret = sys.argv[1:]
def call(path, body=None, form=None, token=None):
    data, h = None, {}
    if form is not None: data, h["content-type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    if body is not None: data, h["content-type"] = json.dumps(body).encode(), "application/json"
    if token: h["authorization"] = f"Bearer {token}"
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, headers=h)) as r:
        raw = r.read(); return json.loads(raw) if raw else None
mgmt = call("/oauth/token", form={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret, "audience": issuer + "api/v2/"})["access_token"]
api = "https://api.capacity.test"
call("/api/v2/resource-servers", {"name": "capacity", "identifier": api}, token=mgmt)
m2m = call("/api/v2/clients", {"name": "m2m", "app_type": "non_interactive"}, token=mgmt)
call("/api/v2/client-grants", {"client_id": m2m["client_id"], "audience": api, "scope": []}, token=mgmt)
realm = "http://auth0.com/oauth/grant-type/password-realm"
web = call("/api/v2/clients", {"name": "web", "app_type": "regular_web", "grant_types": [realm]}, token=mgmt)
db = "Username-Password-Authentication"
call("/api/v2/users", {"connection": db, "email": "ada@capacity.test", "password": "Sup3r-secret!"}, token=mgmt)
cc = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": m2m["client_id"], "client_secret": m2m["client_secret"], "audience": api})
login = urllib.parse.urlencode({"grant_type": realm, "client_id": web["client_id"], "client_secret": web["client_secret"], "username": "ada@capacity.test", "password": "Sup3r-secret!", "realm": db, "scope": "openid"})
print(cc); print(login)
PY
)
stop_all
cc_body=$(echo "$setup" | sed -n 1p)
login_body=$(echo "$setup" | sed -n 2p)
for kind in cc login; do
  body_var="${kind}_body"
  cat > "$work/$kind.lua" <<LUA
wrk.method = "POST"
wrk.body = "${!body_var}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
done
declare -A rps
for replicas in 1 2 3; do
  cfg="$work/haproxy.cfg"
  {
    printf 'global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'frontend public\n  bind 127.0.0.1:%s\n  default_backend gatehouse\nbackend gatehouse\n  balance roundrobin\n  option forwardfor\n' "$front"
    for i in $(seq 0 $((replicas - 1))); do printf '  server r%s 127.0.0.1:%s\n' "$i" "${ports[$i]}"; done
  } > "$cfg"
  for i in $(seq 0 $((replicas - 1))); do
    start_replica "${ports[$i]}" "$issuer" warn "$work/r$i.log" $((i % cores))
  done
  "$haproxy" -db -f "$cfg" >/dev/null 2>&1 &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$front/readyz" >/dev/null; do sleep 0.05; done
  for kind in cc login; do
    out=$(wrk -t2 -c16 -d"${secs}s" -s "$work/$kind.lua" "http://127.0.0.1:$front/oauth/token")
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    [ -z "$non2xx" ] || { echo "$replicas replicas, $kind: $non2xx non-2xx answers" >&2; exit 1; }
    rps[$kind,$replicas]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  done
  stop_all
done
python3 - "${rps[cc,1]}" "${rps[cc,2]}" "${rps[cc,3]}" "${rps[login,1]}" "${rps[login,2]}" "${rps[login,3]}" <<'PY'
import sys
cc, login = [float(x) for x in sys.argv[1:4]], [float(x) for x in sys.argv[4:7]]
print("| replicas | client credentials (x one replica) | password logins (x one replica) |")
print("|---|---|---|")
for i in range(3):
    print(f"| {i + 1} | {cc[i] / cc[0]:.2f} ({cc[i]:.0f}/s) | {login[i] / login[0]:.2f} ({login[i]:.0f}/s) |")
PY
