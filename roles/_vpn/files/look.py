"""Read-only look at a host before a VPN server is closed (roles/_vpn, used by the wireguard
and openvpn roles' state absent), in one process instead of a task per question.

Prints JSON: for each unit whether systemd knows it, has it enabled and running; whether the
interface exists; whether the nftables table is loaded; which of the paths exist; for each
forwarding key its value now and whether a sysctl file other than the role's own asks for it
(then the value is left alone: the other VPN, or the admin, needs it). No file's content is
printed. Arguments: one JSON object (see tasks/main.yml).
"""
import json
import os
import subprocess
import sys

args = json.loads(sys.argv[1])
out = {}

# sysctl.d(5): where the boot reads sysctl settings from (directories: their *.conf files).
SYSCTL_SOURCES = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d",
                  "/etc/sysctl.conf"]


def systemctl(*cmd):
    try:
        proc = subprocess.run(["systemctl", *cmd], capture_output=True, text=True)
    except OSError:
        return ""
    return proc.stdout.strip()


out["units"] = {}
for unit in args["units"]:
    load = systemctl("show", "-p", "LoadState", "--value", unit)
    out["units"][unit] = {
        "known": load not in ("", "not-found"),
        "enabled": systemctl("is-enabled", unit) == "enabled",
        "active": systemctl("is-active", unit) in ("active", "activating", "reloading"),
    }

interface = args.get("interface") or ""
out["interface"] = bool(interface) and "/" not in interface and os.path.exists("/sys/class/net/" + interface)

try:
    out["nft_table_loaded"] = subprocess.run(["nft", "list", "table", "inet", args["nft_table"]],
                                             capture_output=True).returncode == 0
except OSError:
    out["nft_table_loaded"] = False

out["paths"] = {path: os.path.lexists(path) for path in args["paths"]}


def set_elsewhere(key):
    """Whether a sysctl file other than the role's own sets key to 1."""
    names = {key, key.replace(".", "/")}
    own = os.path.realpath(args["sysctl_file"])
    for source in args.get("sysctl_sources") or SYSCTL_SOURCES:
        if os.path.isdir(source):
            files = [os.path.join(source, name) for name in sorted(os.listdir(source)) if name.endswith(".conf")]
        else:
            files = [source]
        for path in files:
            if os.path.realpath(path) == own:
                continue
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        name, sep, value = line.strip().lstrip("-").partition("=")
                        if sep and name.strip() in names and value.strip() == "1":
                            return True
            except OSError:
                continue
    return False


out["sysctl"] = {}
for key in args["sysctls"]:
    try:
        with open("/proc/sys/" + key.replace(".", "/"), encoding="ascii") as handle:
            value = handle.read().strip()
    except OSError:
        value = None
    out["sysctl"][key] = {"value": value, "elsewhere": set_elsewhere(key)}

print(json.dumps(out, sort_keys=True))
