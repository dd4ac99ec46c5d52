#!/usr/bin/env bash
# Build the lab's base image with debootstrap (no registry is reachable) and import it into
# podman. Cached: rebuilt only when missing or when this script changed (label lab.recipe).
# Usage: image.sh [bookworm|trixie]
set -euo pipefail
suite=${1:-bookworm}
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
name=localhost/jellyfin-remote-lab:$suite
mirror=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,ca-certificates,procps,curl,nftables,iputils-ping,netbase,less
recipe=$( { cat "$0"; echo "$suite $packages"; } | sha256sum | cut -c1-16)

current() { podman image inspect --format '{{index .Labels "lab.recipe"}}' "$1" 2>/dev/null || true; }

build_tools() {
  # The infrastructure image (router, carrier, internet): Debian packages on top of the base.
  local tools=localhost/jellyfin-remote-lab-tools:$suite
  local trecipe
  trecipe=$( { echo "$recipe"; cat "$here/Containerfile.tools"; } | sha256sum | cut -c1-16)
  if [ "$(current "$tools")" = "$trecipe" ]; then
    echo "image $tools is up to date ($trecipe)"
    return 0
  fi
  echo "building $tools"
  podman build -q --pull=never --build-arg "BASE=$name" --label "lab.recipe=$trecipe" \
    -f "$here/Containerfile.tools" -t "$tools" "$here" >/dev/null
  echo "built $tools ($trecipe)"
}

if [ "$(current "$name")" = "$recipe" ]; then
  echo "image $name is up to date ($recipe)"
  build_tools
  exit 0
fi

rootfs=$(mktemp -d /var/tmp/jfr-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "building $name with debootstrap (about a minute)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -n 30 "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
case $suite in
  bookworm|trixie)
    cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SRC
    ;;
esac
# Small containers: no docs, no apt caches, no units that fail without hardware.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\n' >"$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc"
# Debian's mirror is reached over a shared network: retry downloads instead of failing a run.
printf 'Acquire::Retries "5";\n' >"$rootfs/etc/apt/apt.conf.d/80-lab-retries"
# The lists are gone: make them look old, so `apt: update_cache cache_valid_time` refreshes.
touch -d '2000-01-01' "$rootfs/var/lib/apt/lists"
for unit in systemd-resolved.service systemd-timesyncd.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
: >"$rootfs/etc/machine-id"
tar -C "$rootfs" -c . | podman import -q \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL lab.recipe=$recipe" - "$name" >/dev/null
echo "built $name ($recipe)"
build_tools
