#!/usr/bin/env bash
# Run every gate of `make test`, each to the end, then the time of every gate and every
# Molecule scenario, longest first, with the total, and one closing line:
#   gates: N passed, N failed
# Exit status is non-zero when any gate failed.
#
# The molecule gate (two scenarios at a time, most of the run) starts first, in the
# background; the other gates run meanwhile, one after another. Most of them are one process
# (pytest, ansible-lint), so run alone they leave one of the two cores idle for their ~7
# minutes; beside the scenarios that core does scenario work. Each scenario's lines are
# printed as a block when it ends (tests/gates/molecule_all.sh), so the two streams interleave
# by whole gates and scenarios, never by line.
#
# Environment (for the tests of this script): JFR_GATES, the gates to run (default: all,
# molecule among them); JFR_MAKE, the command that runs one gate (default: make).
set -uo pipefail
cd "$(dirname "$0")/.."
read -r -a gates <<< "${JFR_GATES:-units units-trixie sanity lint docs packaging ee changelog fuzz molecule}"
make_cmd=${JFR_MAKE:-make}
# tests/gates/molecule_scenario.sh adds a line per scenario to the same file (only in the
# molecule gate: the unit tests run that script on fake scenarios).
times=${JFR_TIMES:-$PWD/.cache/logs/times.tsv}
unset JFR_TIMES
mkdir -p "$(dirname "$times")"
: > "$times"
# `make test` has already made the venv, the collection link and the images; the gates must
# not make them again at the same time (two apt-get runs would fight over dpkg's lock).
made=(-o deps -o venv -o collection -o image)
run_gate() {
  local gate=$1 start result
  start=$(date +%s)
  echo "==== gate $gate"
  if [ "$gate" = molecule ]; then
    JFR_TIMES=$times $make_cmd --no-print-directory "${made[@]}" "$gate"
  else
    $make_cmd --no-print-directory "${made[@]}" "$gate"
  fi && result=passed || result=FAILED
  echo "==== gate $gate $result in $(( $(date +%s) - start )) s"
  printf 'gate\t%s\t%s\t%d\n' "$gate" "$result" "$(( $(date +%s) - start ))" >> "$times"
}
begin=$(date +%s)
background=
for gate in "${gates[@]}"; do
  if [ "$gate" = molecule ]; then
    run_gate molecule &
    background=$!
  fi
done
for gate in "${gates[@]}"; do
  [ "$gate" = molecule ] || run_gate "$gate"
done
[ -z "$background" ] || wait "$background"
echo "==== times, longest first (s)"
sort -t $'\t' -k4,4nr "$times" | awk -F'\t' '{printf "  %-8s %-24s %-7s %6d\n", $1, $2, $3, $4}'
echo "  total    $(( $(date +%s) - begin )) s"
passed=$(awk -F'\t' '$1 == "gate" && $3 == "passed"' "$times" | wc -l)
failures=$(awk -F'\t' '$1 == "gate" && $3 != "passed" {printf "%s ", $2}' "$times")
failed=$(( ${#gates[@]} - passed ))
[ "$failed" -eq 0 ] || echo "failed gates: ${failures% }"
echo "gates: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
