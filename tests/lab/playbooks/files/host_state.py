#!/usr/bin/python3
"""Print a picture of this host's state as JSON, for "back to where it was" comparisons
(jellyfin_remote_state: absent must return a host to its pre-converge state).

packages: the installed packages. files: every regular file under /etc /usr /var/lib /srv that no installed package lists
(packages stay installed on removal; what they ship is theirs), as "size mode owner
sha256-prefix"; content, not times, counts. A few paths that the system rewrites on its own
are left out (EXCLUDE). users: the local accounts. nft: the ruleset without counters. units:
the active services, sockets, timers and paths. Run as root.
"""

import glob
import hashlib
import json
import os
import pwd
import re
import stat
import subprocess

ROOTS = ("/etc", "/usr", "/var/lib", "/srv")
# The package manager's and systemd's own bookkeeping, caches, and the account files (compared
# as `users` instead).
EXCLUDE = re.compile(r"^(/var/lib/(dpkg|apt|systemd|private|ucf|logrotate|fail2ban|python)/|/etc/ld\.so\.cache$"
                     r"|/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|.*/__pycache__/|/root/\.ansible/)")


def packaged():
    paths = set()
    for listing in glob.glob("/var/lib/dpkg/info/*.list"):
        with open(listing, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                path = line.rstrip("\n")
                paths.add(path)
                if path.startswith(("/lib/", "/bin/", "/sbin/")):
                    paths.add("/usr" + path)  # merged /usr: /lib is /usr/lib
    return paths


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()[:16]


def files():
    own = packaged()
    out = {}
    for root in ROOTS:
        for directory, dirs, names in os.walk(root):
            if os.path.ismount(directory) and directory not in ROOTS:
                dirs[:] = []
                continue
            for name in names:
                path = os.path.join(directory, name)
                if path in own or EXCLUDE.match(path):
                    continue
                try:
                    st = os.lstat(path)
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    out[path] = "%d %o %d %s" % (st.st_size, stat.S_IMODE(st.st_mode), st.st_uid, digest(path))
                except OSError:
                    continue
    return out


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


print(json.dumps({
    "files": files(),
    "packages": sorted(run("dpkg-query", "-W", "-f", "${Package}\n").split()),
    "users": sorted(p.pw_name for p in pwd.getpwall()),
    "nft": [re.sub(r"counter packets \d+ bytes \d+", "counter", line) for line in run("nft", "list", "ruleset").splitlines()],
    # Services, sockets, timers and paths: targets and slices that a unit pulled in stay active
    # after it stops (wg-quick@ wants nss-lookup.target), and are systemd's, not the roles'.
    "units": sorted(unit for unit in (line.split()[0] for line in run(
        "systemctl", "list-units", "--state=active", "--no-legend", "--plain").splitlines() if line.strip())
        if unit.endswith((".service", ".socket", ".timer", ".path"))),
}, sort_keys=True))
