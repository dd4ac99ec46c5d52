#!/usr/bin/env bash
# Packaging gate: build the collection tarball, install it into a clean collections path
# and use it from there.
#
#   tests/gates/packaging.sh
#
# 1. ansible-galaxy collection build (galaxy.yml build_ignore decides what goes in); the
#    tarball must hold no .venv/, .cache/, .git/ or test output; its size is printed.
# 2. ansible-core alone: ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false, so the collections bundled
#    in the ansible package (on Python's path) are invisible. ansible-galaxy collection
#    install --offline --no-deps puts the tarball into an empty collections path, and each
#    dependency declared in galaxy.yml is copied there from DEPS_SOURCE (Galaxy is not
#    reachable here), its version checked against the declared range. Nothing else is
#    there: `ansible-galaxy collection list` must show exactly these.
# 3. tests/gates/fqcn_deps.py: every ns.collection.name used in the installed roles/,
#    playbooks/ and plugins/ belongs to ansible.builtin, this collection or a declared
#    dependency, and exists there.
# 4. With ANSIBLE_COLLECTIONS_PATH set to that directory only: `ansible-galaxy collection
#    list` shows the version from galaxy.yml, `ansible-doc` renders every module and
#    filter, and tests/gates/files/packaging_play.yml runs a module (check mode, temp
#    path), the action group and a filter by their FQCNs.
#
# Environment: PACKAGE_SRC the collection to build (default: this checkout); PYTHON the
# interpreter with ansible-core (default: <checkout>/.venv/bin/python); DEPS_SOURCE a
# collections root holding the dependencies (default: the one bundled with the ansible
# package next to that interpreter).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
src=$(cd "${PACKAGE_SRC:-$repo}" && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
bin=$(dirname "$python")
export PATH=$bin:$PATH
start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/packaging-gate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Nothing from the caller's environment may point at the checkout.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_CONFIG
export ANSIBLE_HOME=$tmp/ansible-home ANSIBLE_LOCAL_TEMP=$tmp/ansible-tmp
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

namespace=$(sed -n 's/^namespace: *//p' "$src/galaxy.yml")
name=$(sed -n 's/^name: *//p' "$src/galaxy.yml")
version=$(sed -n 's/^version: *//p' "$src/galaxy.yml")
fqcn=$namespace.$name

echo "== build $fqcn $version"
ansible-galaxy collection build "$src" --output-path "$tmp/dist"
tarball=$(find "$tmp/dist" -name '*.tar.gz')
size=$(stat -c %s "$tarball")
echo "tarball: $(basename "$tarball"), $size bytes ($(( (size + 1023) / 1024 )) KiB), $(tar -tzf "$tarball" | wc -l) entries"
unwanted=$(tar -tzf "$tarball" | grep -E '^(\./)?(\.venv|\.cache|\.git|\.pytest_cache|\.ansible|tests/output|benchmarks/results)(/|$)|__pycache__|\.pyc$|\.tar\.gz$' || true)
if [ -n "$unwanted" ]; then
  echo "FAIL: the tarball holds files build_ignore should keep out:"; echo "$unwanted" | head -20
  exit 1
fi

echo "== install with ansible-core alone plus the declared dependencies"
collections=$tmp/collections
export ANSIBLE_COLLECTIONS_PATH=$collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
deps_source=${DEPS_SOURCE:-$("$python" -c '
import os, sys
print(next((p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "ansible", "posix"))), ""))')}
ansible-galaxy collection install --offline --no-deps -p "$collections" "$tarball"
"$python" - "$src/galaxy.yml" "$deps_source" "$collections" <<'PY'
import json, os, shutil, sys
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
galaxy, source, dest = sys.argv[1:4]
deps = yaml.safe_load(open(galaxy)).get("dependencies") or {}
failed = False
for dep, wanted in sorted(deps.items()):
    ns, name = dep.split(".", 1)
    found = os.path.join(source, "ansible_collections", ns, name)
    manifest = os.path.join(found, "MANIFEST.json")
    if not source or not os.path.exists(manifest):
        print("FAIL: dependency %s (%s) not found under DEPS_SOURCE=%r" % (dep, wanted, source))
        failed = True
        continue
    version = json.load(open(manifest))["collection_info"]["version"]
    if not meets_requirements(version, str(wanted)):
        print("FAIL: dependency %s %s does not meet galaxy.yml's %s" % (dep, version, wanted))
        failed = True
        continue
    shutil.copytree(found, os.path.join(dest, "ansible_collections", ns, name), symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    print("dependency %s %s (galaxy.yml: %s) from %s" % (dep, version, wanted, source))
sys.exit(1 if failed else 0)
PY
everything=$(ansible-galaxy collection list --format json)
printf '%s' "$everything" | "$python" -c '
import json, sys
data, root = json.load(sys.stdin), sys.argv[1]
# The internal collection ansible._protomatter ships inside ansible-core itself.
outside = ["%s in %s" % (name, path) for path, found in data.items()
           if not path.startswith(root) and "/ansible/_internal/" not in path for name in found]
if outside:
    sys.exit("FAIL: ansible-core sees collections outside the clean path: %s" % ", ".join(sorted(outside))[:2000])
print("collections visible to ansible-core: %s" % ", ".join(sorted(n for path, found in data.items() if path.startswith(root) for n in found)))
' "$collections"

echo "== every collection used is declared"
"$python" "$repo/tests/gates/fqcn_deps.py" "$collections/ansible_collections/$namespace/$name" "$collections" ${deps_source:+"$deps_source"}

got=$(printf '%s' "$everything" | "$python" -c '
import json, sys
data = json.load(sys.stdin)
for path, found in data.items():
    if path.startswith(sys.argv[2]) and sys.argv[1] in found:
        print(found[sys.argv[1]]["version"])
' "$fqcn" "$collections")
echo "ansible-galaxy collection list: $fqcn ${got:-missing} in $collections"
if [ "$got" != "$version" ]; then
  echo "FAIL: expected $fqcn $version in $collections"; exit 1
fi

installed=$collections/ansible_collections/$namespace/$name
for kind in module filter; do
  dir=$installed/plugins/$kind
  [ "$kind" = module ] && dir=$installed/plugins/modules
  names=()
  # A module per file; a filter file may hold several filters, each documented in <name>.yml.
  pattern='*.py'
  [ "$kind" = filter ] && pattern='*.yml'
  for f in "$dir"/$pattern; do
    base=$(basename "$f"); base=${base%.*}
    [ "$base" = __init__ ] || names+=("$fqcn.$base")
  done
  [ ${#names[@]} -gt 0 ] || continue
  echo "== ansible-doc -t $kind: ${#names[@]} plugins"
  out=$(ansible-doc -t "$kind" --json "${names[@]}")
  printf '%s' "$out" | "$python" -c '
import json, sys
docs = json.load(sys.stdin)
root, names = sys.argv[1], sys.argv[2:]
missing = [n for n in names if not (docs.get(n) or {}).get("doc")]
if missing:
    sys.exit("FAIL: ansible-doc has no documentation for: %s" % ", ".join(missing))
elsewhere = [n for n in names if not docs[n]["doc"].get("filename", "").startswith(root)]
if elsewhere:
    sys.exit("FAIL: not loaded from the installed copy: %s" % ", ".join(elsewhere))
' "$collections" "${names[@]}"
  ansible-doc -t "$kind" "${names[@]}" >/dev/null
done

echo "== play with the installed FQCNs"
ansible-playbook -i localhost, -e "packaging_tmp=$tmp" -e "ansible_python_interpreter=$python" \
  "$repo/tests/gates/files/packaging_play.yml"
echo "packaging: passed in $(( $(date +%s) - start )) s"
