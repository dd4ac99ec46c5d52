#!/usr/bin/env bash
# Run every gate of `make test`, each to the end, then one closing line:
#   gates: N passed, N failed
# Exit status is non-zero when any gate failed.
set -uo pipefail
cd "$(dirname "$0")/.."
gates=(units units-trixie sanity lint docs packaging ee changelog fuzz molecule)
passed=0 failed=0 failures=()
for gate in "${gates[@]}"; do
  start=$(date +%s)
  echo "==== gate $gate"
  if make --no-print-directory "$gate"; then
    passed=$((passed + 1)); result=passed
  else
    failed=$((failed + 1)); failures+=("$gate"); result=FAILED
  fi
  echo "==== gate $gate $result in $(( $(date +%s) - start )) s"
done
[ ${#failures[@]} -eq 0 ] || echo "failed gates: ${failures[*]}"
echo "gates: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
