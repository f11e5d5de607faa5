#!/usr/bin/env bash
# Load benchmark of the password-realm grant: logins/s against the Argon2id verifications/s
# of one core measured in the same run (the hash is the work that bounds a password login).
# Usage: bench/password-grant.sh [seconds, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { echo "install wrk" >&2; exit 1; }; }
cargo build --release --quiet --bin gatehouse --example argon2_speed
bin="$PWD/target/release/gatehouse"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
id="bench-client"
secret="bench-secret-0123456789-0123456789-0123456789"
base="http://127.0.0.1:$port"
# One load generator on one IP: rate limits and brute-force protection are switched off.
(cd "$work" && GATEHOUSE_BOOTSTRAP_CLIENT_ID=$id GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$secret \
  GATEHOUSE_RATE_LIMIT_AUTH=off GATEHOUSE_RATE_LIMIT_MGMT=off GATEHOUSE_BRUTE_FORCE_THRESHOLD=off \
  exec "$bin" serve --listen "127.0.0.1:$port" --log-level error >/dev/null 2>&1) &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "$base/healthz" >/dev/null; do sleep 0.05; done

mgmt=$(curl -sf -d grant_type=client_credentials -d client_id=$id -d client_secret=$secret -d "audience=$base/api/v2/" "$base/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
app=$(curl -sf -H "authorization: Bearer $mgmt" -H 'content-type: application/json' \
  -d '{"name":"bench","app_type":"regular_web","grant_types":["http://auth0.com/oauth/grant-type/password-realm"]}' \
  "$base/api/v2/clients")
app_id=$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
app_secret=$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
curl -sf -o /dev/null -H "authorization: Bearer $mgmt" -H 'content-type: application/json' \
  -d '{"connection":"Username-Password-Authentication","email":"bench@example.com","password":"Sup3r-secret!"}' \
  "$base/api/v2/users"
body=$(python3 -c "import urllib.parse; print(urllib.parse.urlencode({'grant_type':'http://auth0.com/oauth/grant-type/password-realm','client_id':'$app_id','client_secret':'$app_secret','username':'bench@example.com','password':'Sup3r-secret!','realm':'Username-Password-Authentication','scope':'openid'}))")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

cores=$(nproc)
argon=$(target/release/examples/argon2_speed)
out=$(wrk -t2 -c16 -d"${secs}s" --latency -s "$work/post.lua" "$base/oauth/token")
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p50=$(echo "$out" | awk '$1=="50%" {print $2}')
p99=$(echo "$out" | awk '$1=="99%" {print $2}')
errors=$(echo "$out" | awk '/Non-2xx/ {print $5}')
echo "machine: $cores cores; Argon2id (m=19456, t=2, p=1) verifications/s on one core: $argon"
echo "password-realm logins at c=16: $rps/s (p50 $p50, p99 $p99, non-2xx ${errors:-0}) = $(python3 -c "print(f'{$rps/$argon:.2f}')") x one core's verification rate (the ceiling is $cores x)"
