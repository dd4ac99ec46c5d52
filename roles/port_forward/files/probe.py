"""Read-only look at the host for the port_forward role, in one process: one task instead of
a dozen whose only job on a re-run would be to find nothing to do.

Prints JSON: the packages missing, mode/owner of the managed paths, SHA-1 of the managed
files (none of them holds a secret), whether each unit is enabled and active, whether the
role's nftables table is loaded, whether the renewal's system user exists, and the renewal
config's content (the router mappings the role made earlier; null when absent or unreadable).
Arguments: one JSON object (see tasks/main.yml): packages, paths, files, units, nft_table,
user, renew_config. Each may be left out (its answer is then empty, or absent for the last
three): the reverse_proxy role runs this probe with the first four only, rather than a copy.
"""
import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys


def run(*cmd):
    """stdout of cmd and its exit code; ("", 127) when the program is not there."""
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True)
    except OSError:
        return "", 127
    return proc.stdout, proc.returncode


def missing_packages(wanted):
    out, _rc = run("dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *wanted)
    installed = set()
    for line in out.splitlines():
        name, _, status = line.partition(" ")
        if status == "installed":
            installed.add(name.split(":")[0])
    return [p for p in wanted if p not in installed]


def describe(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
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
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        return None


def unit_state(unit):
    enabled, _rc = run("systemctl", "is-enabled", unit)
    active, _rc = run("systemctl", "is-active", unit)
    return {"enabled": enabled.strip() == "enabled", "active": active.strip() == "active"}


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def renew_config(path):
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or not isinstance(config.get("mappings"), list):
        return None
    return config


def probe(args):
    out = {
        "missing_packages": missing_packages(args.get("packages", [])),
        "paths": {p: describe(p) for p in args.get("paths", [])},
        "sha1": {p: sha1(p) for p in args.get("files", [])},
        "units": {u: unit_state(u) for u in args.get("units", [])},
    }
    # port_forward's own; a role that borrows the probe (reverse_proxy) leaves them out.
    if "nft_table" in args:
        out["nft_table_loaded"] = run("nft", "list", "table", "inet", args["nft_table"])[1] == 0
    if "user" in args:
        out["user"] = user_exists(args["user"])
    if "renew_config" in args:
        out["renew_config"] = renew_config(args["renew_config"])
    return out


if __name__ == "__main__":
    print(json.dumps(probe(json.loads(sys.argv[1])), sort_keys=True))
