#!/usr/bin/env bash
# The unit tests on the second platform: Debian 13 (trixie) and its python3 (3.13), in a
# throwaway container (podman run --rm) from the lab's trixie image (tests/lab/image.sh
# trixie; `make image` builds it). The checkout is mounted read-only; inside, as root:
# apt installs python3-venv (and knot, for the RFC 2136 tests; iperf3 for the upload tests; perl and curl for Debian 13's ddclient,
# which is unpacked with fail2ban into /tmp/debs/root, JFR_DEBS_ROOT), a venv gets the pins of
# tests/requirements.txt that the unit tests import, the collection is linked into a
# writable root (/tmp/collections, as `make collection` does in .cache/collections), and
#   python3 -m pytest -q tests/unit --ignore=tests/unit/fuzz -p no:cacheprovider -m "not gate"
# runs. The exit status is pytest's: a failing test fails the gate.
#
# Left out here, run by `make units` and `make fuzz` on the host: the tests marked `gate`
# (they run ansible-lint, ansible-test, antsibull-* and git, the CI host's tool chain, not
# code that runs on the platform) and tests/unit/fuzz.
#
# The container reaches the Debian mirror (plain HTTP, as in the lab) and PyPI through
# podman's default network. pip there trusts the host's CA bundle (mounted read-only), so it
# reaches PyPI exactly as the host's `make venv` does. Nothing is cached between runs: apt
# and pip take about 15 s of the gate's minute (a cache of lists, .debs and wheels saved 2-4 s).
#
# Environment:
#   UNITS_TRIXIE_IMAGE  the image (default: localhost/jellyfin-remote-lab:trixie)
#   UNITS_TRIXIE_TESTS  the test directory or file to run (default: tests/unit); a path
#                       outside the checkout is mounted read-only at /extra-tests
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/tests/lab/containers.conf}
image=${UNITS_TRIXIE_IMAGE:-localhost/jellyfin-remote-lab:trixie}
tests=$(realpath -m "${UNITS_TRIXIE_TESTS:-$repo/tests/unit}")
# What the unit tests import, by its pin in tests/requirements.txt (keep this list in step
# with the unit tests' imports; ansible-core brings cryptography, Jinja2, PyYAML, packaging).
wanted=(ansible-core pytest dnspython segno prometheus-client)

podman image exists "$image" || { echo "units-trixie: image $image is missing: run make image" >&2; exit 1; }
pins=()
for name in "${wanted[@]}"; do
  pin=$(grep -E "^${name}==" "$repo/tests/requirements.txt" || true)
  [ -n "$pin" ] || { echo "units-trixie: no pin for $name in tests/requirements.txt" >&2; exit 1; }
  pins+=("$pin")
done
mounts=(-v "$repo:/repo:ro")
case $tests in
  "$repo") target=/repo ;;
  "$repo"/*) target=/repo/${tests#"$repo"/} ;;
  *) mounts+=(-v "$(dirname "$tests"):/extra-tests:ro"); target=/extra-tests/$(basename "$tests") ;;
esac
bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$bundle" ] && mounts+=(-v "$bundle:/etc/ssl/host-ca-certificates.crt:ro")

start=$(date +%s)
rc=0
podman run --rm "${mounts[@]}" \
  -e PINS="${pins[*]}" -e TARGET="$target" -e IMAGE="$image" \
  "$image" bash -euo pipefail -c '
    . /etc/os-release
    echo "== unit tests on $PRETTY_NAME ($IMAGE): $TARGET"
    apt-get -qq update
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends python3-venv knot perl curl iperf3 >/dev/null
    # Debian 13'"'"'s ddclient (3.11.2) and fail2ban, unpacked, not installed (as tests/install-deps.sh
    # does on the host): the ddns and reverse_proxy unit tests run them (perl and curl: ddclient'"'"'s).
    mkdir -p /tmp/debs/root && (cd /tmp/debs && apt-get download -qq ddclient fail2ban 2>/dev/null \
      && for deb in ./*.deb; do dpkg-deb -x "$deb" root; done)
    export JFR_DEBS_ROOT=/tmp/debs/root
    python3 -m venv /tmp/venv
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
    [ -f /etc/ssl/host-ca-certificates.crt ] && export PIP_CERT=/etc/ssl/host-ca-certificates.crt
    /tmp/venv/bin/pip install -q $PINS
    mkdir -p /tmp/collections/ansible_collections/homelab
    ln -s /repo /tmp/collections/ansible_collections/homelab/jellyfin_remote
    export JFR_COLLECTIONS_ROOT=/tmp/collections PYTHONDONTWRITEBYTECODE=1
    /tmp/venv/bin/python3 -c "import sys, ansible.release, pytest
print(\"python: %s, ansible-core %s, pytest %s\" % (sys.version.split()[0], ansible.release.__version__, pytest.__version__))"
    cd /repo
    /tmp/venv/bin/python3 -m pytest -q "$TARGET" --ignore=tests/unit/fuzz -p no:cacheprovider -m "not gate"
  ' || rc=$?
echo "== units-trixie: pytest exit $rc in $(( $(date +%s) - start )) s"
exit $rc
