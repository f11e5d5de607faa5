#!/usr/bin/env bash
# Start-up time and idle resident memory of `gatehouse serve` on a new SQLite database.
# Usage: bench/idle-memory.sh   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/gatehouse"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
metrics_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start=$(date +%s.%N)
(cd "$work" && GATEHOUSE_METRICS_LISTEN="127.0.0.1:$metrics_port" \
  exec "$bin" serve --listen "127.0.0.1:$port" --log-level warn >/dev/null 2>&1) &
pid=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.005; done
ready=$(date +%s.%N)
# Touch every endpoint once (/metrics is on its own listener), then let it sit.
for p in /.well-known/openid-configuration /.well-known/jwks.json /readyz; do
  curl -sf "http://127.0.0.1:$port$p" >/dev/null
done
curl -sf "http://127.0.0.1:$metrics_port/metrics" >/dev/null
sleep 2
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
printf 'first start to healthy: %.0f ms (new database: keys generated, seeded)\n' \
  "$(echo "($ready - $start) * 1000" | bc)"
printf 'idle RSS: %.1f MB (peak so far %.1f MB)\n' "$(echo "$rss_kb/1024" | bc -l)" "$(echo "$hwm_kb/1024" | bc -l)"
kill -TERM "$pid"; wait "$pid" || true

start=$(date +%s.%N)
(cd "$work" && exec "$bin" serve --listen "127.0.0.1:$port" --log-level warn >/dev/null 2>&1) &
pid=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.005; done
ready=$(date +%s.%N)
printf 'restart to healthy: %.0f ms\n' "$(echo "($ready - $start) * 1000" | bc)"
