#!/usr/bin/env bash
# A million users: loads N users straight into the schema gatehouse made (bulk SQL, the same
# columns and JSON shapes the store writes, and the password hash of a user made through the
# Management API, so every database user can log in), then measures, one request at a time
# on loopback, p50/p99 of login by email, users-by-email, the common GET /users?q= searches,
# paging, and a users export (POST, poll, download), per database.
# Usage: bench/million-users.sh [users, default 1000000] [sqlite|postgres|both, default both]
# PostgreSQL: GATEHOUSE_BENCH_PG (default postgres://postgres@127.0.0.1:5432), where a
# database gatehouse_bench_mu is made and dropped. Requests per query kind: BENCH_REQUESTS
# (default 500; logins a fifth of it, they cost an Argon2id hash each). BENCH_EXPLAIN=1 prints
# the plans of the hot queries after each database's run; BENCH_KEEP=1 keeps the databases.
# Bounded by request counts: about 13 minutes for a million users on both (2 cores), most of
# it the loads and the exports.
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
which="${2:-both}"
requests="${BENCH_REQUESTS:-500}"
pg_admin="${GATEHOUSE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
pg_db=gatehouse_bench_mu
case "$which" in sqlite) dbs=(sqlite) ;; postgres) dbs=(postgres) ;; both) dbs=(sqlite postgres) ;;
  *) echo "usage: $0 [users] [sqlite|postgres|both]" >&2; exit 2 ;; esac
for tool in sqlite3 psql curl python3; do
  command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
cargo build --release --quiet --bin gatehouse
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/gatehouse"
work=$(mktemp -d)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
# BENCH_KEEP=1 keeps the databases (the SQLite file in the work directory) for a look after.
cleanup() {
  stop
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept: $work/bench.db and $pg_admin/$pg_db"; return; fi
  rm -rf "$work"
  psql "$pg_admin/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export PGOPTIONS='--client-min-messages=warning'
id="bench-client"
secret="bench-secret-0123456789-0123456789-0123456789"
password='Sup3r-secret!'
# PostgreSQL needs a master key (replicas share it); a fresh one per run.
master_key=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

start() { # $1: database URL
  # One load generator on one IP: rate limits and brute-force protection are switched off.
  (cd "$work" && GATEHOUSE_BOOTSTRAP_CLIENT_ID=$id GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=$secret \
    GATEHOUSE_RATE_LIMIT_AUTH=off GATEHOUSE_RATE_LIMIT_MGMT=off GATEHOUSE_BRUTE_FORCE_THRESHOLD=off \
    GATEHOUSE_MASTER_KEY=$master_key GATEHOUSE_DATABASE_URL="$1" exec "$bin" serve --listen "127.0.0.1:$port" --log-level error >>"$work/server.log" 2>&1) &
  pid=$!
  for _ in $(seq 600); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
mgmt_token() {
  curl -sf -d grant_type=client_credentials -d client_id=$id -d client_secret=$secret \
    -d "audience=$base/api/v2/" "$base/oauth/token" | json '["access_token"]'
}
api() { # method path [json body]
  curl -sf -X "$1" -H "authorization: Bearer $mgmt" -H 'content-type: application/json' ${3:+-d "$3"} "$base/api/v2$2"
}

# The rows, one per i in 1..N, in the store's shapes (crates/store/src/users.rs): users with
# their primary identity; i % 10 == 0 a Google user (no password, the upstream profile on
# the identity), i % 20 == 5 in a second database connection, the rest in
# Username-Password-Authentication. Emails user<i>@example<i % 7>.com; app_metadata.plan one
# of four; logins_count 0..499; created_at spread over two years; ids are a bijective
# scramble of i, so they do not sort by creation. Timestamps carry nine fraction digits
# ending in 1, as the store's RFC 3339 text would show them on SQLite.
sqlite_load() { # file hash epoch
  sqlite3 "$1" <<SQL
PRAGMA synchronous = OFF;
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE g AS
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $users)
SELECT i,
  CASE WHEN i % 10 = 0 THEN 'google-oauth2' WHEN i % 20 = 5 THEN 'Customers'
       ELSE 'Username-Password-Authentication' END AS connection,
  CASE WHEN i % 10 = 0 THEN '1' || printf('%020d', i)
       ELSE printf('%012x%012x', (i * 2654435761) % 281474976710656, (i * 40503 + 977) % 281474976710656) END AS pid,
  'user' || i || '@example' || (i % 7) || '.com' AS email,
  (i * 7919) % 500 AS logins,
  $3 - (i * 104729) % (730 * 86400) AS created,
  printf('%08d1', (i * 1237) % 100000000) AS frac
FROM n;
INSERT INTO users (user_id, email, email_verified, username, phone_number, phone_verified, profile,
  user_metadata, app_metadata, blocked, logins_count, last_login, last_ip, created_at, updated_at)
SELECT CASE WHEN i % 10 = 0 THEN 'google-oauth2|' ELSE 'auth0|' END || pid, email,
  CASE WHEN i % 10 = 0 OR i % 3 <> 0 THEN 1 ELSE 0 END, NULL, NULL, 0,
  CASE WHEN i % 10 = 0 THEN json_object('name', 'User ' || i, 'picture', 'https://lh3.googleusercontent.com/a/u' || i)
       ELSE json_object('name', email, 'nickname', 'user' || i) END,
  '{}', json_object('plan', json_array('free', 'pro', 'gold', 'enterprise') ->> (i % 4)), 0, logins,
  CASE WHEN logins = 0 THEN NULL
       ELSE strftime('%Y-%m-%dT%H:%M:%S', created + ($3 - created) * (i % 97) / 97, 'unixepoch') || '.' || frac || 'Z' END,
  NULL, strftime('%Y-%m-%dT%H:%M:%S', created, 'unixepoch') || '.' || frac || 'Z',
  strftime('%Y-%m-%dT%H:%M:%S', created, 'unixepoch') || '.' || frac || 'Z'
FROM g;
INSERT INTO identities (connection, provider_user_id, owner_id, position, provider, is_social,
  profile_data, password_hash, created_at, login_email, login_username, login_phone, idp_tokens)
SELECT connection, pid, CASE WHEN i % 10 = 0 THEN 'google-oauth2|' ELSE 'auth0|' END || pid, 0,
  CASE WHEN i % 10 = 0 THEN 'google-oauth2' ELSE 'auth0' END, CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END,
  CASE WHEN i % 10 = 0 THEN json_object('sub', pid, 'email', email, 'email_verified', json('true'), 'name', 'User ' || i)
       ELSE '{}' END,
  CASE WHEN i % 10 = 0 THEN NULL ELSE '$2' END,
  strftime('%Y-%m-%dT%H:%M:%S', created, 'unixepoch') || '.' || frac || 'Z', lower(email), NULL, NULL, NULL
FROM g;
COMMIT;
SQL
  # No ANALYZE: gatehouse never runs it on SQLite, so the planner works as it would in
  # production, from the schema alone. PostgreSQL's autovacuum analyzes on its own; the load
  # does it at once so that the first queries do not run before it.
}

pg_load() { # url hash epoch
  psql "$1" -v ON_ERROR_STOP=1 -q <<SQL
BEGIN;
CREATE TEMP TABLE g AS
SELECT i,
  CASE WHEN i % 10 = 0 THEN 'google-oauth2' WHEN i % 20 = 5 THEN 'Customers'
       ELSE 'Username-Password-Authentication' END AS connection,
  CASE WHEN i % 10 = 0 THEN '1' || lpad(i::text, 20, '0')
       ELSE lpad(to_hex((i * 2654435761) % 281474976710656), 12, '0') || lpad(to_hex((i * 40503 + 977) % 281474976710656), 12, '0') END AS pid,
  'user' || i || '@example' || (i % 7) || '.com' AS email,
  (i * 7919) % 500 AS logins,
  to_timestamp($3 - (i * 104729) % (730 * 86400) + ((i * 1237) % 1000000) / 1e6) AS created
FROM generate_series(1::bigint, $users) AS i;
INSERT INTO users (user_id, email, email_verified, username, phone_number, phone_verified, profile,
  user_metadata, app_metadata, blocked, logins_count, last_login, last_ip, created_at, updated_at)
SELECT CASE WHEN i % 10 = 0 THEN 'google-oauth2|' ELSE 'auth0|' END || pid, email,
  i % 10 = 0 OR i % 3 <> 0, NULL, NULL, FALSE,
  CASE WHEN i % 10 = 0 THEN jsonb_build_object('name', 'User ' || i, 'picture', 'https://lh3.googleusercontent.com/a/u' || i)
       ELSE jsonb_build_object('name', email, 'nickname', 'user' || i) END,
  '{}', jsonb_build_object('plan', (ARRAY['free', 'pro', 'gold', 'enterprise'])[i % 4 + 1]), FALSE, logins,
  CASE WHEN logins = 0 THEN NULL ELSE created + (to_timestamp($3) - created) * ((i % 97) / 97.0) END,
  NULL, created, created
FROM g;
INSERT INTO identities (connection, provider_user_id, owner_id, position, provider, is_social,
  profile_data, password_hash, created_at, login_email, login_username, login_phone, idp_tokens)
SELECT connection, pid, CASE WHEN i % 10 = 0 THEN 'google-oauth2|' ELSE 'auth0|' END || pid, 0,
  CASE WHEN i % 10 = 0 THEN 'google-oauth2' ELSE 'auth0' END, i % 10 = 0,
  CASE WHEN i % 10 = 0 THEN jsonb_build_object('sub', pid, 'email', email, 'email_verified', true, 'name', 'User ' || i)
       ELSE '{}' END,
  CASE WHEN i % 10 = 0 THEN NULL ELSE '$2' END, created, lower(email), NULL, NULL, NULL
FROM g;
COMMIT;
VACUUM ANALYZE users;
VACUUM ANALYZE identities;
SQL
}

# The plans of the hot searches, as the store writes them (crates/store/src/user_query.rs,
# users.rs) with the benchmark's values in place of the parameters.
q_email="'user4242@example0.com'"
explain_sqlite() {
  sqlite3 "$1" <<SQL
.print '-- users-by-email'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE u.user_id IN (SELECT user_id FROM users WHERE LOWER(email) = $q_email UNION SELECT owner_id FROM identities WHERE login_email = $q_email) ORDER BY u.created_at, u.user_id LIMIT 100;
.print '-- q=email:"x@y"'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE LOWER(u.email) = $q_email ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
.print '-- q=email:user4242*'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE LOWER(u.email) >= 'user4242' AND LOWER(u.email) < 'user4243' AND LOWER(u.email) LIKE 'user4242%' ESCAPE '\' ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
.print '-- q=identities.connection:"Username-Password-Authentication"'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE EXISTS (SELECT 1 FROM identities i WHERE i.owner_id = u.user_id AND i.connection = 'Username-Password-Authentication') ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
.print '-- q=app_metadata.plan:"gold"'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE LOWER((CASE json_type(u.app_metadata, '$."plan"') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(u.app_metadata, '$."plan"') AS TEXT) END)) = 'gold' ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
.print '-- q=logins_count:[10 TO 20]'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE u.logins_count >= 10 AND u.logins_count <= 20 ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
.print '-- q=created_at:[a TO b]'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE u.created_at >= '2025-06-01T00:00:00Z' AND u.created_at < '2025-07-01T00:00:00Z' ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
.print '-- export page (users_after)'
EXPLAIN QUERY PLAN SELECT u.* FROM users u WHERE u.user_id > 'auth0|8' AND TRUE ORDER BY u.user_id LIMIT 500;
.print '-- login (user_by_login)'
EXPLAIN QUERY PLAN SELECT owner_id FROM identities WHERE connection = 'Username-Password-Authentication' AND (login_email = $q_email OR login_username = $q_email) ORDER BY CASE WHEN login_email = $q_email THEN 0 ELSE 1 END LIMIT 1;
SQL
}
explain_pg() {
  psql "$1" -q <<SQL
\echo '-- users-by-email'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE u.user_id IN (SELECT user_id FROM users WHERE LOWER(email) = $q_email UNION SELECT owner_id FROM identities WHERE login_email = $q_email) ORDER BY u.created_at, u.user_id LIMIT 100;
\echo '-- q=email:"x@y"'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE LOWER(u.email) = $q_email ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
\echo '-- q=email:user4242*'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE LOWER(u.email) LIKE 'user4242%' ESCAPE '\' ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
\echo '-- q=identities.connection:"Username-Password-Authentication"'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE EXISTS (SELECT 1 FROM identities i WHERE i.owner_id = u.user_id AND i.connection = 'Username-Password-Authentication') ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
\echo '-- q=app_metadata.plan:"gold"'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE LOWER(jsonb_extract_path_text(u.app_metadata, 'plan'::text)) = 'gold' ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
\echo '-- q=logins_count:[10 TO 20]'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE u.logins_count >= 10 AND u.logins_count <= 20 ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
\echo '-- q=created_at:[a TO b]'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE u.created_at >= '2025-06-01T00:00:00Z' AND u.created_at < '2025-07-01T00:00:00Z' ORDER BY u.created_at ASC, u.user_id ASC LIMIT 50 OFFSET 0;
\echo '-- export page (users_after)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT u.* FROM users u WHERE u.user_id > 'auth0|8' AND TRUE ORDER BY u.user_id LIMIT 500;
\echo '-- login (user_by_login)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT owner_id FROM identities WHERE connection = 'Username-Password-Authentication' AND (login_email = $q_email OR login_username = $q_email) ORDER BY CASE WHEN login_email = $q_email THEN 0 ELSE 1 END LIMIT 1;
SQL
}

cores=$(nproc)
echo "machine: $cores cores; $users users; $requests requests per query kind (logins $((requests / 5 > 50 ? requests / 5 : 50)))"
for db in "${dbs[@]}"; do
  case $db in
    sqlite) url="sqlite://$work/bench.db" ;;
    postgres)
      psql "$pg_admin/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db" >/dev/null
      url="$pg_admin/$pg_db" ;;
  esac
  # The schema, the seed, a client for the password-realm grant, two more connections and
  # the user whose hash every database user gets.
  start "$url"
  mgmt=$(mgmt_token)
  app=$(api POST /clients '{"name":"bench","app_type":"regular_web","grant_types":["http://auth0.com/oauth/grant-type/password-realm"]}')
  app_id=$(echo "$app" | json '["client_id"]')
  app_secret=$(echo "$app" | json '["client_secret"]')
  api POST /connections '{"name":"Customers","strategy":"auth0"}' >/dev/null
  api POST /connections '{"name":"google-oauth2","strategy":"google-oauth2","options":{"client_id":"bench","client_secret":"bench"}}' >/dev/null
  template=$(api POST /users "{\"connection\":\"Username-Password-Authentication\",\"email\":\"template@bench.test\",\"password\":\"$password\"}" | json '["user_id"]')
  stop
  epoch=$(date +%s)
  t0=$(date +%s.%N)
  case $db in
    sqlite)
      hash=$(sqlite3 "$work/bench.db" "SELECT password_hash FROM identities WHERE owner_id = '$template'")
      sqlite_load "$work/bench.db" "$hash" "$epoch" ;;
    postgres)
      hash=$(psql "$url" -Atc "SELECT password_hash FROM identities WHERE owner_id = '$template'")
      pg_load "$url" "$hash" "$epoch" ;;
  esac
  load=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.0f}')")
  case $db in
    sqlite) size=$(du -sm "$work"/bench.db* | awk '{s+=$1} END {print s}') ;;
    postgres) size=$(psql "$url" -Atc "SELECT pg_database_size(current_database()) / 1048576") ;;
  esac
  echo "== $db: loaded $users users in ${load} s (bulk SQL, indexes included; PostgreSQL also VACUUM ANALYZE); database ${size} MB"
  start "$url"
  mgmt=$(mgmt_token)
  printf 'query\trequests\tp50 ms\tp99 ms\trows\n'
  python3 bench/million_users_driver.py "$base" "$mgmt" "$users" "$app_id" "$app_secret" "$password" "$requests"
  stop
  if [ -n "${BENCH_EXPLAIN:-}" ]; then
    echo "-- plans on $db"
    case $db in sqlite) explain_sqlite "$work/bench.db" ;; postgres) explain_pg "$url" ;; esac
  fi
done
