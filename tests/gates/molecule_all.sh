#!/usr/bin/env bash
# The molecule gate: every scenario named on the command line through molecule_scenario.sh,
# MOLECULE_JOBS at a time (default 2). Each scenario has its own lab (containers and networks
# named jfr-<scenario>-*), so two run side by side; each one's terminal lines are printed
# together when it ends. Exits 1 when any scenario failed, naming them.
set -uo pipefail
cd "$(dirname "$0")/../.."
jobs=${MOLECULE_JOBS:-2}
logs=${JFR_GATE_LOGS:-.cache/logs}
mkdir -p "$logs"
chmod 0700 "$logs"
failed=$(mktemp)
trap 'rm -f "$failed"' EXIT
export failed logs
one() {
  local out="$logs/$1.gate.out"
  echo "== molecule test -s $1 (every play at -vvv, logged to $logs/$1.log and leak-scanned)" > "$out"
  bash tests/gates/molecule_scenario.sh "$1" >> "$out" 2>&1 || echo "$1" >> "$failed"
  cat "$out"
}
export -f one
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'one "$1"' _ {}
if [ -s "$failed" ]; then
  echo "== failed scenarios: $(tr '\n' ' ' < "$failed")"
  exit 1
fi
