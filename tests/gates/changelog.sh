#!/usr/bin/env bash
# Changelog gate: antsibull-changelog lint on changelogs/ (config, changelog.yaml and every
# fragment: known sections only, each a list of strings, valid RST).
#
#   tests/gates/changelog.sh [COLLECTION_DIR]    (default: this checkout)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
collection=$(cd "${1:-$repo}" && pwd)
fragments=$(find "$collection/changelogs/fragments" -maxdepth 1 -type f -name '*.y*ml' | wc -l)
echo "== antsibull-changelog lint: $fragments fragments in $collection/changelogs"
cd "$collection"
out=$("$(dirname "$python")/antsibull-changelog" lint) || { echo "$out"; exit 1; }
# antsibull-changelog lint reports problems on stdout and, in some versions, exits 0.
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "changelog: passed"
