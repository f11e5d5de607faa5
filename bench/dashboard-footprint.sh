#!/usr/bin/env bash
# What the admin dashboard costs: the release binary's size against a build without it, and
# the idle resident memory of `serve` with the dashboard on and off (and of the other build),
# each the median of interleaved runs on a new SQLite database.
# Usage: bench/dashboard-footprint.sh BASE_BIN HEAD_BIN [runs]
#   BASE_BIN: a release build from before the dashboard; HEAD_BIN: this one (release).
set -euo pipefail
base="$(realpath "$1")"
head="$(realpath "$2")"
runs="${3:-3}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Idle RSS in KB of `bin serve` with environment `admin` (on|off|-): started on a new database,
# every public page touched once (the dashboard's sign-in page too when on), then 2 s idle.
idle_rss() {
  local bin="$1" admin="$2" work port pid rss
  work=$(mktemp -d)
  port=$(free_port)
  (cd "$work" && if [ "$admin" = "-" ]; then exec "$bin" serve --listen "127.0.0.1:$port" --log-level warn;
   else GATEHOUSE_ADMIN="$admin" exec "$bin" serve --listen "127.0.0.1:$port" --log-level warn; fi) >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.01; done
  for p in /.well-known/openid-configuration /.well-known/jwks.json /readyz; do
    curl -sf "http://127.0.0.1:$port$p" >/dev/null
  done
  if [ "$admin" = "on" ]; then
    curl -s "http://127.0.0.1:$port/admin/" >/dev/null
    curl -s "http://127.0.0.1:$port/admin/assets/admin.css" >/dev/null
  fi
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
  echo "$rss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A samples
for _ in $(seq "$runs"); do
  samples[base]+="$(idle_rss "$base" -) "
  samples[off]+="$(idle_rss "$head" off) "
  samples[on]+="$(idle_rss "$head" on) "
done
base_size=$(stat -c %s "$base")
head_size=$(stat -c %s "$head")
printf 'binary: %d bytes before, %d with the dashboard: +%d KB, %.3fx\n' \
  "$base_size" "$head_size" "$(( (head_size - base_size) / 1024 ))" "$(echo "$head_size/$base_size" | bc -l)"
for k in base off on; do
  m=$(echo "${samples[$k]}" | tr ' ' '\n' | grep . | median)
  printf 'idle RSS %-4s median of %s: %.1f MB (runs: %s)\n' "$k" "$runs" "$(echo "$m/1024" | bc -l)" "${samples[$k]}"
done
