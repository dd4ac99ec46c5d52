# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A read-only look at a host in one call, for the roles' "probe, then only what differs"
pattern (CONTRIBUTING.md, "Read-only probes"): the packages missing, mode and owner of paths,
SHA-1 of files, each unit's enabled/active state, which nftables tables are loaded, which
users exist, and the content of the roles' own JSON records.

Nothing here changes the host, and nothing returns a file's content except the JSON records
the caller names (the roles name only records that hold no secret; a hash reveals nothing of
a key or password file). The system tools are reached through a `run(argv) -> (stdout, rc)`
callable, ("", 127) when the program is not there, so the logic is tested without them.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd

ABSENT = "absent"


def missing_packages(run, wanted):
    """The names in wanted that dpkg does not report installed (all of them without dpkg)."""
    if not wanted:
        return []
    out = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"] + list(wanted))[0]
    installed = set()
    for line in out.splitlines():
        name, status = (line.split(" ", 1) + [""])[:2]
        if status == "installed":
            installed.add(name.split(":")[0])
    return [p for p in wanted if p not in installed]


def describe(path):
    """"<octal mode> <owner> <group>" of path itself (a link is not followed), or "absent"."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ABSENT
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return "%o %s %s" % (st.st_mode & 0o7777, user, group)


def sha1(path):
    """The SHA-1 of the file's content, or None when it cannot be read (absent, a directory)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        return None


def unit_state(run, unit):
    enabled = run(["systemctl", "is-enabled", unit])[0]
    active = run(["systemctl", "is-active", unit])[0]
    return {"enabled": enabled.strip() == "enabled", "active": active.strip() == "active"}


def nft_table_loaded(run, table):
    """table is "<family> <name>" (for example "inet jellyfin_remote_port_forward")."""
    family, name = table.split(" ", 1)
    return run(["nft", "list", "table", family, name])[1] == 0


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def json_record(path):
    """The JSON object in path, or None when it is absent, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def check(option, value):
    """None when value suits option (one item of a list option), else what is wrong with it."""
    if "\x00" in value:
        return "%s: an item holds a NUL character; give names and paths without one" % option
    if option == "nft_tables":
        parts = value.split(" ")
        if len(parts) != 2 or parts[0] not in ("ip", "ip6", "inet", "arp", "bridge", "netdev") or not parts[1]:
            return "nft_tables: %r is not '<family> <name>' (for example 'inet jellyfin_remote_port_forward')" % value
    return None


def os_release(path="/etc/os-release"):
    """The distribution's id and codename from os-release ("debian", "bookworm"), as Ansible's
    distribution facts name them in lower case; empty strings when the file does not say."""
    out = {"id": "", "version_codename": ""}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name, sep, value = line.strip().partition("=")
                if sep and name in ("ID", "VERSION_CODENAME"):
                    out[name.lower()] = value.strip().strip("\"'").lower()
    except (OSError, UnicodeDecodeError):
        pass
    return out


def probe(run, packages=(), paths=(), files=(), units=(), nft_tables=(), users=(), json_files=(),
          os_release_path="/etc/os-release"):
    return {
        "os_release": os_release(os_release_path),
        "missing_packages": missing_packages(run, list(packages)),
        "paths": {p: describe(p) for p in paths},
        "sha1": {p: sha1(p) for p in files},
        "units": {u: unit_state(run, u) for u in units},
        "nft_tables": {t: nft_table_loaded(run, t) for t in nft_tables},
        "users": {u: user_exists(u) for u in users},
        "json": {p: json_record(p) for p in json_files},
    }
