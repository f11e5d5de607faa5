#!/usr/bin/env bash
# Load benchmark of a full upstream login: a second gatehouse (idp) is the OpenID provider
# behind an `oidc` connection (back channel) of the gatehouse measured (rp). One login is a
# fresh browser: rp /authorize -> idp login page -> idp /u/login (password) -> rp
# /login/callback (code exchange at idp, ID token checked, userinfo read, user updated) ->
# the app's callback -> rp /oauth/token (authorization code: ID and access token signed).
# Usage: bench/upstream-login.sh [seconds per run, default 10]
#
# Reports, at 8 and 16 concurrent browsers (bench/upstream_login_driver.mjs, Node's fetch):
# logins/s, p50 and p99 of a whole login, failures, and the CPU seconds per login of rp, idp
# and the driver (from /proc and the driver's own count). idp's part is mostly its Argon2id
# password check, by design; the figure for gatehouse as a relying party is logins per
# second of rp CPU, given next to the RSA-2048 signatures/s of one core (`openssl speed`,
# same run): rp signs two RS256 tokens and verifies one per login. The two servers and the
# driver share the machine; the report says how many cores there are.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v node >/dev/null || { echo "install Node.js 20 or later (the driver uses its fetch)" >&2; exit 1; }
cargo build --release --quiet --bin gatehouse
bin="$PWD/target/release/gatehouse"
driver="$PWD/bench/upstream_login_driver.mjs"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
id="bench-client"
secret="bench-secret-0123456789-0123456789-0123456789"
idp_dir=$(mktemp -d)
rp_dir=$(mktemp -d)
idp_port=$(free_port)
rp_port=$(free_port)
while [ "$rp_port" = "$idp_port" ]; do rp_port=$(free_port); done
idp="http://127.0.0.1:$idp_port"
rp="http://127.0.0.1:$rp_port"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$idp_dir" "$rp_dir"' EXIT
# One driver on one IP (and rp calling idp from the same address): every per-IP limit and
# brute-force protection are switched off on both servers.
serve() { # dir port
  (cd "$1" && GATEHOUSE_BOOTSTRAP_CLIENT_ID=$id GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$secret \
    GATEHOUSE_RATE_LIMIT_AUTH=off GATEHOUSE_RATE_LIMIT_MGMT=off GATEHOUSE_RATE_LIMIT_PUBLIC=off \
    GATEHOUSE_BRUTE_FORCE_THRESHOLD=off \
    exec "$bin" serve --listen "127.0.0.1:$2" --issuer "http://127.0.0.1:$2/" --log-level error >/dev/null 2>&1) &
}
serve "$idp_dir" "$idp_port"; idp_pid=$!; pids+=("$idp_pid")
serve "$rp_dir" "$rp_port"; rp_pid=$!; pids+=("$rp_pid")
until curl -sf "$idp/healthz" >/dev/null && curl -sf "$rp/healthz" >/dev/null; do sleep 0.05; done

# POST base path json: the created object, or the error and exit.
create() {
  local base=$1 path=$2 body=$3 token out
  token=$(curl -sf -d grant_type=client_credentials -d client_id=$id -d client_secret=$secret \
    -d "audience=$base/api/v2/" "$base/oauth/token" | json access_token)
  out=$(curl -s -w '\n%{http_code}' -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "$body" "$base/api/v2$path")
  case "${out##*$'\n'}" in
    2*) echo "${out%$'\n'*}" ;;
    *) echo "POST $base/api/v2$path: $out" >&2; exit 1 ;;
  esac
}
user="bench@example.com"
password="Sup3r-secret!"
callback="http://127.0.0.1:9/cb"
upstream=$(create "$idp" /clients "{\"name\":\"rp\",\"app_type\":\"regular_web\",\"callbacks\":[\"$rp/login/callback\"],\"grant_types\":[\"authorization_code\"]}")
up_id=$(echo "$upstream" | json client_id)
up_secret=$(echo "$upstream" | json client_secret)
create "$idp" /users "{\"connection\":\"Username-Password-Authentication\",\"email\":\"$user\",\"password\":\"$password\",\"email_verified\":true}" >/dev/null
app=$(create "$rp" /clients "{\"name\":\"app\",\"app_type\":\"regular_web\",\"callbacks\":[\"$callback\"],\"grant_types\":[\"authorization_code\"]}")
app_id=$(echo "$app" | json client_id)
app_secret=$(echo "$app" | json client_secret)
create "$rp" /connections "{\"name\":\"upstream\",\"strategy\":\"oidc\",\"enabled_clients\":[\"$app_id\"],\"options\":{\"type\":\"back_channel\",\"discovery_url\":\"$idp/.well-known/openid-configuration\",\"client_id\":\"$up_id\",\"client_secret\":\"$up_secret\",\"scopes\":\"openid profile email\"}}" >/dev/null

# Warm-up (not measured): rp reads idp's discovery document and keys (cached ten minutes),
# the user is made at rp on the first login, connections are pooled.
warm=$(node "$driver" "$rp" "$app_id" "$app_secret" "$callback" "$user" "$password" 2 2)
case "$warm" in
  *" failures=0 "*) ;;
  *) echo "warm-up failed: $warm" >&2; exit 1 ;;
esac
case "$warm" in logins=0\ *) echo "warm-up made no login: $warm" >&2; exit 1 ;; esac

cores=$(nproc)
sign=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
echo "machine: $cores cores (shared by idp, rp and the driver); RSA-2048 signatures/s on one core (openssl speed): $sign"
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; } # user and system clock ticks
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; } # the machine's, all processes
hz=$(getconf CLK_TCK)
field() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print substr($0, length(k) + 2)}'; }
for conc in 8 16; do
  read -r rp_u0 rp_s0 < <(ticks "$rp_pid"); read -r idp_u0 idp_s0 < <(ticks "$idp_pid"); all0=$(busy)
  out=$(node "$driver" "$rp" "$app_id" "$app_secret" "$callback" "$user" "$password" "$conc" "$secs")
  read -r rp_u1 rp_s1 < <(ticks "$rp_pid"); read -r idp_u1 idp_s1 < <(ticks "$idp_pid"); all1=$(busy)
  logins=$(field logins "$out"); failures=$(field failures "$out"); elapsed=$(field elapsed "$out")
  p50=$(field p50_ms "$out"); p99=$(field p99_ms "$out"); drv=$(field driver_cpu_s "$out")
  [ "$logins" -gt 0 ] || { echo "c=$conc: no login succeeded: $out" >&2; exit 1; }
  python3 - "$conc" "$logins" "$failures" "$elapsed" "$p50" "$p99" "$drv" \
    "$(( rp_u1 - rp_u0 ))" "$(( rp_s1 - rp_s0 ))" "$(( idp_u1 - idp_u0 + idp_s1 - idp_s0 ))" "$hz" "$sign" "$(( all1 - all0 ))" <<'PY'
import sys
conc, logins, failures = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
elapsed, p50, p99, drv = (float(v) for v in sys.argv[4:8])
hz = int(sys.argv[11])
rp_user, rp_sys, idp_s = (int(v) / hz for v in sys.argv[8:11])
rp_s = rp_user + rp_sys
sign = float(sys.argv[12])
machine = int(sys.argv[13]) / hz
ms = lambda s: f"{1000 * s / logins:.2f} ms"
per_rp = logins / rp_s
print(f"c={conc}: {logins / elapsed:.1f} logins/s ({logins} in {elapsed:.1f} s, failures {failures}), "
      f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")
print(f"  CPU per login: rp {ms(rp_s)} ({ms(rp_user)} user, {ms(rp_sys)} system), idp {ms(idp_s)}, driver {ms(drv)}; "
      f"rp is {100 * rp_s / (rp_s + idp_s):.1f}% of the servers' CPU")
print(f"  {per_rp:.0f} upstream logins per second of rp CPU = {per_rp / sign:.3f} x the signature rate "
      f"({sign / per_rp:.1f} signature times per login)")
# Whatever else ran meanwhile: the machine's busy time less the two servers and the driver
# (interrupt time, loopback networking included, is counted there too).
other = max(0.0, machine - rp_s - idp_s - drv)
print(f"  the machine was busy {machine / elapsed:.2f} of its cores; other processes and interrupts {other / elapsed:.2f}")
PY
  [ "$failures" = 0 ] || echo "  first failure: ${out#*first_failure=}"
done
echo "rp peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$rp_pid/status") / 1024 )) MB, idp peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$idp_pid/status") / 1024 )) MB"
