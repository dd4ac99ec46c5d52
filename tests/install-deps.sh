#!/usr/bin/env bash
# Install the Debian packages in tests/apt-packages.txt that are not installed yet.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# Unpacked, not installed: Debian's fail2ban (fail2ban-regex, for the reverse_proxy filter's
# unit tests) and ddclient (its config parser, for the ddns role's unit tests). Installing
# them would start their daemons on this machine; the tests run them from .cache/debs/root.
unpack_debs() {
  local debs="$here/../.cache/debs"
  [ -f "$debs/root/usr/bin/fail2ban-regex" ] && [ -f "$debs/root/usr/bin/ddclient" ] && return 0
  echo "apt: unpacking fail2ban and ddclient into .cache/debs (not installed)"
  mkdir -p "$debs/root"
  (cd "$debs" && { apt-get download -qq fail2ban ddclient 2>/dev/null \
     || { apt-get update -qq && apt-get download -qq fail2ban ddclient; }; } \
     && for deb in fail2ban_*.deb ddclient_*.deb; do dpkg-deb -x "$deb" root; done && rm -f ./*.deb)
}
unpack_debs

mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$here/apt-packages.txt")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "apt: all ${#wanted[@]} packages present"
  exit 0
fi
echo "apt: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
