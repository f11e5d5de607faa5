#!/usr/bin/env bash
# The Authorization Extension's policy for one login on a large configuration (100 groups, 300
# roles, 1,500 permissions; see crates/core/examples/authz_policy.rs), set against one
# RSA-2048 signature on one core measured in the same run: every login signs at least once,
# so the ratio says what the policy adds to a login's own CPU.
# Usage: bench/authz-policy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(cargo run --quiet --release -p gatehouse-core --example authz_policy)
echo "$out"
us=$(echo "$out" | sed -E 's/.* ([0-9.]+) us per login/\1/')
sign=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
python3 - "$us" "$sign" <<'PY'
import sys
us, sign = float(sys.argv[1]), float(sys.argv[2])
sig_us = 1e6 / sign
print(f"one RSA-2048 signature: {sig_us:.0f} us ({sign:.0f}/s); policy / signature = {us / sig_us:.2f}")
PY
