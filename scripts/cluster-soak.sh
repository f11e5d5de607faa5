#!/usr/bin/env bash
# The long form of the cluster tests (crates/server/tests/it/cluster/): three replicas on
# PostgreSQL behind HAProxy under a mixed load, one killed with -9 and restarted, then a
# rolling restart; and SQLite's single process killed under load. The short form (20 s each)
# runs in every `cargo test`; this runs each for longer, one at a time.
# Usage: scripts/cluster-soak.sh [seconds per test, default 300]
# Needs: haproxy (Debian's package), PostgreSQL on 127.0.0.1:5432 (trust, user postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || {
  apt-get install -y -qq haproxy >/dev/null || { echo "install haproxy" >&2; exit 1; }
}
db="gatehouse_soak"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
CI=1 GATEHOUSE_CLUSTER_SECONDS="$secs" \
  GATEHOUSE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" \
  cargo test -p gatehouse-server --test it cluster:: -- --test-threads=1 --nocapture
