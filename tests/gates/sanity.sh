#!/usr/bin/env bash
# ansible-test sanity on the collection, 0 errors wanted.
#
#   tests/gates/sanity.sh [ansible-test sanity options...]
#   e.g. tests/gates/sanity.sh --test validate-modules
#
# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>/ inside a
# git work tree, so this copies the files git would publish (tracked, plus untracked that
# are not ignored) to .cache/sanity/ansible_collections/homelab/jellyfin_remote, makes that
# a fresh git repository and runs the sanity tests there with the Python of the venv.
#
# ansible-test runs each sanity tool (pylint, pycodestyle, yamllint, validate-modules with
# voluptuous and antsibull-docs-parser, ...) in a virtual environment of its own, with the
# versions pinned in ansible-test's data/requirements/sanity.*.txt, installed from PyPI
# and cached under $HOME/.ansible/test/venv. HOME is pointed at .cache/sanity/home so that
# cache stays with the checkout (make clean removes it). The one download that is not from
# PyPI, the get-pip bootstrap script, is replaced by tests/gates/get_pip_standin.py.
#
# Environment:
#   SANITY_TARGETS  what is checked (default: "plugins/ meta/ changelogs/", the code and
#                metadata the collection publishes as Ansible content); "all" checks every
#                file, also tests/, molecule/, roles/*/files and tools/
#   SANITY_SRC   the collection to check (default: this checkout); a git work tree, or a
#                plain directory whose every file is copied
#   SANITY_WORK  where the copy and the cache go (default: <checkout>/.cache/sanity)
#   SANITY_HOME  HOME for ansible-test, holding its venv cache (default: $SANITY_WORK/home)
#   PYTHON       the interpreter that has ansible-core (default: <checkout>/.venv/bin/python)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
src=$(cd "${SANITY_SRC:-$repo}" && pwd)
work=${SANITY_WORK:-$repo/.cache/sanity}
python=${PYTHON:-$repo/.venv/bin/python}
namespace=$(sed -n 's/^namespace: *//p' "$src/galaxy.yml")
name=$(sed -n 's/^name: *//p' "$src/galaxy.yml")
dest=$work/ansible_collections/$namespace/$name
export HOME=${SANITY_HOME:-$work/home}
start=$(date +%s)

rm -rf "$dest"
mkdir -p "$dest" "$HOME/.ansible/test/cache"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # -co lists deleted tracked files too; only copy what exists.
  git -C "$src" ls-files -z -co --exclude-standard \
    | (cd "$src" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) \
    | tar -C "$src" --null -T - -cf - | tar -C "$dest" -xf -
else
  tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=./.cache -cf - . | tar -C "$dest" -xf -
fi
git -C "$dest" init -q
git -C "$dest" add -A

# ansible-test asks for get-pip by the pip version it puts into its venvs.
pip_version=$("$python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])
PY
)
cp "$repo/tests/gates/get_pip_standin.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

echo "sanity: $(git -C "$dest" ls-files | wc -l) files in $dest"
cd "$dest"
targets=${SANITY_TARGETS:-plugins/ meta/ changelogs/}
[ "$targets" = all ] && targets=
status=0
# shellcheck disable=SC2086  # targets is a word list
PATH=$(dirname "$python"):$PATH "$(dirname "$python")/ansible-test" sanity --python 3.11 --color no "$@" $targets || status=$?
echo "sanity: exit $status after $(( $(date +%s) - start )) s"
exit $status
