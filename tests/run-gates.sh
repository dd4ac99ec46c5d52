#!/usr/bin/env bash
# Run every gate of `make test`, each to the end, then the time of every gate and every
# Molecule scenario, longest first, with the total, and one closing line:
#   gates: N passed, N failed
# Exit status is non-zero when any gate failed.
set -uo pipefail
cd "$(dirname "$0")/.."
gates=(units units-trixie sanity lint docs packaging ee changelog fuzz molecule)
passed=0 failed=0 failures=()
# tests/gates/molecule_scenario.sh adds a line per scenario to the same file (only in the
# molecule gate: the unit tests run that script on fake scenarios).
times=${JFR_TIMES:-$PWD/.cache/logs/times.tsv}
unset JFR_TIMES
mkdir -p "$(dirname "$times")"
: > "$times"
run_gate() {
  if [ "$1" = molecule ]; then JFR_TIMES=$times make --no-print-directory "$1"; else make --no-print-directory "$1"; fi
}
begin=$(date +%s)
for gate in "${gates[@]}"; do
  start=$(date +%s)
  echo "==== gate $gate"
  if run_gate "$gate"; then
    passed=$((passed + 1)); result=passed
  else
    failed=$((failed + 1)); failures+=("$gate"); result=FAILED
  fi
  echo "==== gate $gate $result in $(( $(date +%s) - start )) s"
  printf 'gate\t%s\t%s\t%d\n' "$gate" "$result" "$(( $(date +%s) - start ))" >> "$times"
done
echo "==== times, longest first (s)"
sort -t $'\t' -k4,4nr "$times" | awk -F'\t' '{printf "  %-8s %-24s %-7s %6d\n", $1, $2, $3, $4}'
echo "  total    $(( $(date +%s) - begin )) s"
[ ${#failures[@]} -eq 0 ] || echo "failed gates: ${failures[*]}"
echo "gates: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
