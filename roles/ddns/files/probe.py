"""Read-only look at the host for the ddns role, in one process: one task instead of the
half-dozen whose only job on a re-run would be to find nothing to do.

Prints JSON: the packages missing, mode/owner of ddclient's files, their SHA-1 (a hash of
ddclient.conf or of the TSIG key file reveals neither; nothing else of them is read out) and
whether the ddclient service is enabled and active.
Arguments: one JSON object (see tasks/main.yml): packages, files, unit.
"""
import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys


def run(*cmd):
    """stdout of cmd; "" when the program is not there."""
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True).stdout
    except OSError:
        return ""


def missing_packages(wanted):
    installed = set()
    for line in run("dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *wanted).splitlines():
        name, _, status = line.partition(" ")
        if status == "installed":
            installed.add(name.split(":")[0])
    return [p for p in wanted if p not in installed]


def look(path):
    """("<mode> <owner> <group>", SHA-1) of path; ("absent", None) when it is not there."""
    try:
        st = os.lstat(path)
        with open(path, "rb") as handle:
            digest = hashlib.sha1(handle.read()).hexdigest()
    except FileNotFoundError:
        return "absent", None
    except OSError:
        digest = None
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return "%o %s %s" % (st.st_mode & 0o7777, user, group), digest


def probe(args):
    files = {p: look(p) for p in args["files"]}
    return {
        "missing_packages": missing_packages(args["packages"]),
        "paths": {p: v[0] for p, v in files.items()},
        "sha1": {p: v[1] for p, v in files.items()},
        "unit": {"enabled": run("systemctl", "is-enabled", args["unit"]).strip() == "enabled",
                 "active": run("systemctl", "is-active", args["unit"]).strip() == "active"},
    }


if __name__ == "__main__":
    print(json.dumps(probe(json.loads(sys.argv[1])), sort_keys=True))
