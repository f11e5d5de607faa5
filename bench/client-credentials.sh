#!/usr/bin/env bash
# Load benchmark of POST /oauth/token (client-credentials grant) on loopback.
# Usage: bench/client-credentials.sh [seconds per run, default 10]
#
# Reports tokens/s, p50 and p99 at 16 and 64 connections, the server's peak RSS, and, measured
# in the same run, the RSA-2048 signatures/s of one core (`openssl speed`), the only real work
# per token. Goal: tokens/s per server core >= 0.7 x that rate, p99 < 10 ms at 16 connections,
# peak RSS < 100 MB. The load generator shares the machine with the server; the report says
# how many cores there are.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { echo "install wrk (Debian package wrk)" >&2; exit 1; }; }
cargo build --release --quiet
bin="$PWD/target/release/gatehouse"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
id="bench-client"
secret="bench-secret-0123456789-0123456789-0123456789"
audience="http://127.0.0.1:$port/api/v2/"
# One load generator on one IP: the per-IP limit of the Authentication API is switched off.
(cd "$work" && GATEHOUSE_BOOTSTRAP_CLIENT_ID=$id GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$secret GATEHOUSE_RATE_LIMIT_AUTH=off \
  exec "$bin" serve --listen "127.0.0.1:$port" --log-level error >/dev/null 2>&1) &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.05; done

body="grant_type=client_credentials&client_id=$id&client_secret=$secret&audience=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$audience")"
curl -sf -X POST -d "$body" "http://127.0.0.1:$port/oauth/token" | grep -q access_token || { echo "token request failed" >&2; exit 1; }
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

cores=$(nproc)
sign=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
echo "machine: $cores cores; RSA-2048 signatures/s on one core (openssl speed): $sign"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for conns in 16 64; do
  before=$(cpu_ticks)
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/oauth/token")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  after=$(cpu_ticks)
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  # Tokens per second of server CPU: the fair "per core" figure when wrk shares the cores.
  per_cpu=$(python3 -c "print(round($total / (($after - $before) / $hz)))")
  ratio=$(python3 -c "print(f'{$per_cpu/$sign:.2f}')")
  echo "c=$conns: ${rps} tokens/s, p50 $p50, p99 $p99, non-2xx ${errors:-0}; ${per_cpu} tokens per server CPU-second = $ratio x the signature rate"
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "server peak RSS: $((hwm / 1024)) MB"
