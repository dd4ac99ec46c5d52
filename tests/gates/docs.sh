#!/usr/bin/env bash
# Docs gate: documentation that is generated or checked, so it cannot drift.
#
#   tests/gates/docs.sh [COLLECTION_DIR]
#
# 1. Role READMEs: the variable tables are those tools/role_docs.py writes from each
#    role's meta/argument_specs.yml (role_docs.py --check; only for this checkout).
# 2. Plugin and role docs: antsibull-docs lint-collection-docs --plugin-docs checks the
#    DOCUMENTATION/EXAMPLES/RETURN of every plugin and the argument specs of every role
#    against the docs schema, their markup (O(), V(), M(), ... references to options and
#    plugins of this collection and of its dependencies) and the RST they render to.
#    That the documented options match each module's argument spec is checked by
#    validate-modules in tests/gates/sanity.sh.
#
# COLLECTION_DIR must sit at .../ansible_collections/<namespace>/<name>/ (default: the link
# .cache/collections/ansible_collections/homelab/jellyfin_remote to this checkout).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
export PATH=$(dirname "$python"):$PATH
start=$(date +%s)
if [ $# -gt 0 ]; then
  collection=$(cd "$1" && pwd)
else
  collection=$repo/.cache/collections/ansible_collections/homelab/jellyfin_remote
  mkdir -p "$(dirname "$collection")"
  [ -L "$collection" ] || ln -sfn "$repo" "$collection"
  echo "== role READMEs (tools/role_docs.py --check)"
  "$python" "$repo/tools/role_docs.py" --check
fi
root=$(dirname "$(dirname "$(dirname "$collection")")")
if [ "$(basename "$(dirname "$(dirname "$collection")")")" != ansible_collections ]; then
  echo "FAIL: $collection is not at .../ansible_collections/<namespace>/<name>"; exit 2
fi
export ANSIBLE_COLLECTIONS_PATH=$root
echo "== antsibull-docs lint-collection-docs --plugin-docs $collection"
antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent \
  --disallow-unknown-collection-refs "$collection"
echo "docs: passed in $(( $(date +%s) - start )) s"
