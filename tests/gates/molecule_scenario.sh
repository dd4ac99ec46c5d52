#!/usr/bin/env bash
# One Molecule scenario for the molecule gate, with its secret-leak scan:
#   tests/gates/molecule_scenario.sh SCENARIO
# Every play of the scenario runs at -vvv (.config/molecule/config.yml); the whole output
# goes to .cache/logs/SCENARIO.log, and only the scenario's milestones to the terminal (the
# last 200 lines as well when it fails). Before the lab is destroyed, destroy.yml saves every
# secret the roles created on the server (tests/gates/leak_scan.py SECRET_SOURCES: WireGuard
# keys and PSKs, DDNS passwords and TSIG keys, Tailscale auth keys, Cloudflare tokens,
# Jellyfin's certificate password, the TLS private keys of certbot and Caddy) to
# .cache/logs/SCENARIO.secrets.json (0600); with the lab's own made-up credentials
# (tests/lab/vars, leak_scan.py --lab-vars) that
# log is scanned for each of them in every form a leak takes. A hit fails the scenario.
set -uo pipefail
cd "$(dirname "$0")/../.."
s=${1:?usage: molecule_scenario.sh SCENARIO}
logs=${JFR_GATE_LOGS:-.cache/logs}  # destroy.yml saves the secrets to .cache/logs; tests point both elsewhere
mkdir -p "$logs"
chmod 0700 "$logs"
log=$logs/$s.log
# destroy.yml saves $s.secrets.json at the end; molecule/conftest.py saves
# $s.verify.secrets.json before the verify tests (some remove what they test).
rm -f "$log" "$logs/$s.secrets.json" "$logs/$s.verify.secrets.json"
start=$(date +%s)
molecule test -s "$s" > "$log" 2>&1
rc=$?
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '➜ [a-z_]+: Executing$|^ *(│ )?(=+ .*(passed|failed).* in [0-9.]+s|[a-z_-]+ +: ok=.*)' \
  | grep -Ev '^ *(│ )?(localhost|router|internet) +: ' || true
if [ $rc -ne 0 ]; then
  [ -z "${JFR_TIMES:-}" ] || printf 'scenario\t%s\tFAILED\t%d\n' "$s" "$(( $(date +%s) - start ))" >> "$JFR_TIMES"
  echo "== scenario $s FAILED (exit $rc); its errors and failed tests (full -vvv output in $log):"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E -A3 'fatal: |^ *(│ )?(E  |FAILED |ERROR|\[ERROR\])' | tail -n 120
  exit $rc
fi
lines=$(wc -l < "$log")
files=()
for f in "$logs/$s.secrets.json" "$logs/$s.verify.secrets.json"; do
  [ -s "$f" ] && files+=(--secrets-file "$f")
done
count=0
[ ${#files[@]} -gt 0 ] && count=$(python3 -c 'import json,sys; print(len(set().union(*(json.load(open(f)).values() for f in sys.argv[1:]))))' \
  $(printf '%s\n' "${files[@]}" | grep -v '^--secrets-file$'))
# The made-up credentials the lab hands the roles are looked for too, also where no role
# left a copy on the server (an auth key file removed after use, a variable only).
labvars=(--lab-vars tests/lab/vars/services.yml --lab-vars tests/lab/vars/site.yml --lab-vars tests/lab/vars/tailscale.yml
         --lab-vars molecule/port_forward/files/cloudflare_vars.yml)
[ "$count" -gt 0 ] || echo "leak_scan: the roles created no secret on the server in $s ($lines lines at -vvv)"
if ! python3 tests/gates/leak_scan.py "$log" "${files[@]}" "${labvars[@]}"; then
  echo "== scenario $s FAILED: a secret is in its -vvv output ($log, $lines lines)"
  exit 1
fi
echo "== scenario $s passed in $(( $(date +%s) - start )) s ($lines lines of -vvv output scanned)"
[ -z "${JFR_TIMES:-}" ] || printf 'scenario\t%s\tpassed\t%d\n' "$s" "$(( $(date +%s) - start ))" >> "$JFR_TIMES"
