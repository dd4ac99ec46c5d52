"""Read-only look at the host for the wireguard role, in one process: one task instead of
six whose only job on a re-run would be to find nothing to do.

Prints JSON: kernel module present, packages missing, mode/owner of the managed paths and
SHA-1 of the managed files (a hash of the configuration reveals no key), the unit's
state, whether the firewall table is loaded, forwarding sysctls, the file names in the
clients directory, the peers recorded in the configuration (its
"# jellyfin_remote peer:" comment lines; no other line of that file is read out) and the
host record's sections.
Arguments: one JSON object (see tasks/main.yml).
"""
import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys

args = json.loads(sys.argv[1])
out = {}

kernel = os.path.isdir("/sys/module/wireguard")
if not kernel:
    try:
        kernel = subprocess.run(["modprobe", "-n", "wireguard"], capture_output=True).returncode == 0
    except OSError:
        kernel = False
out["kernel_module"] = kernel

wanted = list(args["packages"]) + ([] if kernel else list(args["userspace_packages"]))
installed = set()
proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"] + wanted,
                      capture_output=True, text=True)
for line in proc.stdout.splitlines():
    name, _, status = line.partition(" ")
    if status == "installed":
        installed.add(name.split(":")[0])
out["packages"] = wanted
out["missing_packages"] = [p for p in wanted if p not in installed]


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


out["paths"] = {p: describe(p) for p in args["paths"]}
out["sha1"] = {}
for path in args["files"]:
    try:
        with open(path, "rb") as handle:
            out["sha1"][path] = hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        out["sha1"][path] = None


def systemctl(*cmd):
    try:
        return subprocess.run(["systemctl", *cmd, args["unit"]], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


out["unit"] = {"enabled": systemctl("is-enabled") == "enabled", "active": systemctl("is-active") == "active"}

try:
    out["nft_table_loaded"] = subprocess.run(["nft", "list", "table", "inet", args["nft_table"]],
                                             capture_output=True).returncode == 0
except OSError:
    out["nft_table_loaded"] = False

lines = []
try:
    with open(args["sysctl_file"], encoding="utf-8") as handle:
        lines = [line.strip().replace(" ", "") for line in handle]
except OSError:
    pass
out["sysctl"] = {}
for key in args["sysctls"]:
    try:
        with open("/proc/sys/" + key.replace(".", "/"), encoding="ascii") as handle:
            value = handle.read().strip()
    except OSError:
        value = None
    out["sysctl"][key] = {"value": value, "in_file": "%s=1" % key in lines}

# Names only (the role deletes keys no longer used); no file in there is read.
try:
    out["client_files"] = sorted(os.listdir(args["clients_dir"]))
except OSError:
    out["client_files"] = []

peers = []
marker = "# jellyfin_remote peer: "
try:
    with open(args["conf"], encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(marker):
                try:
                    peers.append(json.loads(line[len(marker):]))
                except ValueError:
                    pass
except OSError:
    pass
out["peers"] = [p for p in peers if isinstance(p, dict) and isinstance(p.get("name"), str)]
# The host record's sections (names, paths, prior values: never a secret), read as
# host_record_info reads them: {} when there is none. A record that does not read as one
# (not JSON, no sections, another format) gives null: the role then asks host_record_info,
# which fails naming what is wrong with it.
if args.get("record"):
    try:
        with open(args["record"], encoding="utf-8") as handle:
            content = json.load(handle)
        ok = isinstance(content, dict) and isinstance(content.get("sections"), dict) and content.get("format") == 1
        out["record"] = content["sections"] if ok else None
    except FileNotFoundError:
        out["record"] = {}
    except (OSError, ValueError):
        out["record"] = None
print(json.dumps(out, sort_keys=True))
