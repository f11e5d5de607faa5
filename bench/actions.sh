#!/usr/bin/env bash
# What Actions cost: client credentials with one credentials-exchange action, and password
# logins with one post-login action, each as a ratio against the same flow without the
# action, measured in the same run on the same server (wrk on loopback).
# Usage: [GATEHOUSE_BIN=path] bench/actions.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { echo "install wrk (Debian package wrk)" >&2; exit 1; }; }
# GATEHOUSE_BIN compares another build (e.g. the one before a change) on the same machine.
bin="${GATEHOUSE_BIN:-}"
if [ -z "$bin" ]; then cargo build --release --quiet --bin gatehouse; bin="$PWD/target/release/gatehouse"; fi
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

enc() { python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
mgmt=$(curl -sf -d grant_type=client_credentials -d client_id=$id -d client_secret=$secret \
  -d "audience=$base/api/v2/" "$base/oauth/token" | field access_token)
api() { curl -sf -X "$1" -H "authorization: Bearer $mgmt" -H 'content-type: application/json' -d "$3" "$base/api/v2$2"; }

app=$(api POST /clients '{"name":"bench","app_type":"regular_web","grant_types":["password"]}')
app_id=$(echo "$app" | field client_id)
app_secret=$(echo "$app" | field client_secret)
api POST /users '{"connection":"Username-Password-Authentication","email":"bench@example.com","password":"Sup3r-secret!"}' >/dev/null

cc_body="grant_type=client_credentials&client_id=$id&client_secret=$secret&audience=$(enc "$base/api/v2/")"
pw_body="grant_type=password&client_id=$app_id&client_secret=$app_secret&username=bench%40example.com&password=Sup3r-secret%21&scope=openid"
lua() {
  cat > "$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
}
lua cc "$cc_body"
lua pw "$pw_body"

# Requests/s and non-2xx of one wrk run of `$1` at `$2` connections.
load() {
  local out
  out=$(wrk -t2 -c"$2" -d"${secs}s" -s "$work/$1.lua" "$base/oauth/token")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '/Non-2xx/ {print $5}')"
}

bind() {
  api POST /actions/actions "{\"name\":\"$2\",\"supported_triggers\":[{\"id\":\"$1\"}],\"code\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$3"),\"deploy\":true}" >/dev/null
  api PATCH "/actions/triggers/$1/bindings" "{\"bindings\":[{\"ref\":{\"type\":\"action_name\",\"value\":\"$2\"}}]}" >/dev/null
}

echo "machine: $(nproc) cores; ${secs} s per run; server and wrk share the cores"
read -r cc_plain cc_plain_err < <(load cc 16)
bind credentials-exchange m2m-claim "exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim('https://api.example.com/client', event.client.name);
};"
read -r cc_action cc_action_err < <(load cc 16)
curl -sf -d "$cc_body" "$base/oauth/token" | field access_token | cut -d. -f2 | python3 -c 'import base64,sys,json; s=sys.stdin.read().strip(); print("claim present:", "https://api.example.com/client" in json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))))'
echo "client credentials (c=16): ${cc_plain} tokens/s without an action, ${cc_action} with one; ratio $(python3 -c "print(f'{$cc_action/$cc_plain:.2f}')") (non-2xx: ${cc_plain_err:-0}, ${cc_action_err:-0})"

# Argon2id (19 MiB per hash) dominates RSS once password logins start, so the figure that
# shows what Actions hold is taken here.
echo "server peak RSS after client credentials: $(( $(awk '/VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MB"
read -r pw_plain pw_plain_err < <(load pw 16)
bind post-login add-roles "exports.onExecutePostLogin = async (event, api) => {
  const ns = 'https://my-app.example.com';
  api.idToken.setCustomClaim(ns + '/roles', ['admin']);
  api.accessToken.setCustomClaim(ns + '/roles', ['admin']);
};"
read -r pw_action pw_action_err < <(load pw 16)
echo "password logins (c=16): ${pw_plain} logins/s without an action, ${pw_action} with one; ratio $(python3 -c "print(f'{$pw_action/$pw_plain:.2f}')") (non-2xx: ${pw_plain_err:-0}, ${pw_action_err:-0})"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "server peak RSS at the end (password logins included): $((hwm / 1024)) MB"
