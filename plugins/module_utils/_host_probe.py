# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A read-only look at a host in one call, for the roles' "probe, then only what differs"
pattern (CONTRIBUTING.md, "Read-only probes"): the packages missing, mode and owner of paths,
SHA-1 of files, each unit's enabled/active state, which nftables tables are loaded, which
users exist, the roles' own JSON records, and sysctl values with what the role's sysctl file
sets them to.

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
import re

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


def sysctl_values(names, sysctl_file, proc="/proc/sys"):
    """For each sysctl name: its value now ("value", None when unreadable) and whether
    sysctl_file sets it to that value ("in_file"), read as ansible.posix.sysctl reads the file
    (key = value lines, "#" and ";" comments, the last line for a key wins)."""
    in_file = {}
    if sysctl_file:
        try:
            with open(sysctl_file, encoding="utf-8") as handle:
                for line in handle:
                    line = line.strip()
                    if not line or line.startswith(("#", ";")) or "=" not in line:
                        continue
                    key, value = line.split("=", 1)
                    in_file[key.strip()] = " ".join(value.split())
        except (OSError, UnicodeDecodeError):
            pass
    out = {}
    for name in names:
        try:
            with open(os.path.join(proc, name.replace(".", "/")), encoding="ascii") as handle:
                value = " ".join(handle.read().split())
        except (OSError, UnicodeDecodeError):
            value = None
        out[name] = {"value": value, "in_file": value is not None and in_file.get(name) == value}
    return out


def check(option, value):
    """None when value suits option (one item of a list option), else what is wrong with it."""
    if "\x00" in value:
        return "%s: an item holds a NUL character; give names and paths without one" % option
    if option == "nft_tables":
        parts = value.split(" ")
        if len(parts) != 2 or parts[0] not in ("ip", "ip6", "inet", "arp", "bridge", "netdev") or not parts[1]:
            return "nft_tables: %r is not '<family> <name>' (for example 'inet jellyfin_remote_port_forward')" % value
    if option == "sysctls" and not _SYSCTL.match(value):
        return "sysctls: %r is not a sysctl name (for example 'net.ipv4.ip_forward')" % value
    return None


_SYSCTL = re.compile(r"\A[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+\Z")


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
          sysctls=(), sysctl_file=None, os_release_path="/etc/os-release", proc="/proc/sys"):
    return {
        "sysctl": sysctl_values(list(sysctls), sysctl_file, proc),
        "os_release": os_release(os_release_path),
        "missing_packages": missing_packages(run, list(packages)),
        "paths": {p: describe(p) for p in paths},
        "sha1": {p: sha1(p) for p in files},
        "units": {u: unit_state(run, u) for u in units},
        "nft_tables": {t: nft_table_loaded(run, t) for t in nft_tables},
        "users": {u: user_exists(u) for u in users},
        "json": {p: json_record(p) for p in json_files},
    }
