#!/usr/bin/python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts for the port_forward role, printed as one JSON object.

- Which interface holds LAN_ADDRESS (default: the source address of the default route).
- Whether that address is static: a kernel address with a finite lifetime came from DHCP
  (networkd, dhclient and NetworkManager all install it that way); otherwise the host's
  network configuration is searched (systemd-networkd .network files, ifupdown interfaces
  files, NetworkManager profiles) for the interface. An address that none of them names was
  set by something else (a container runtime, cloud-init, a script) and is reported as such.
- Whether ufw is installed and active, and its default policy for incoming traffic.
- The input-hook chains of other nftables tables that drop by policy, with the ports their
  rules accept: a packet must pass every base chain on the hook, so such a chain blocks a
  port that our own table accepts (Debian's /etc/nftables.conf with `policy drop`, a
  hand-written firewall, Docker's or firewalld's tables).

Usage: lan_facts.py [LAN_ADDRESS] [--own-table NAME] [--ports tcp/8096,udp/51820]
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys


def ip_json(*args):
    try:
        out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout
        return json.loads(out or "[]")
    except (OSError, subprocess.CalledProcessError, ValueError):
        return []


def find_address(wanted):
    links = ip_json("-4", "addr", "show")
    if not wanted:
        for route in ip_json("-4", "route", "show", "default"):
            dev = route.get("dev")
            for link in links:
                if link.get("ifname") == dev and link.get("addr_info"):
                    wanted = link["addr_info"][0].get("local")
                    break
            if wanted:
                break
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("local") == wanted:
                return wanted, link["ifname"], info
    return wanted, None, None


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def networkd(ifname):
    for path in sorted(glob.glob("/etc/systemd/network/*.network") + glob.glob("/run/systemd/network/*.network")
                       + glob.glob("/usr/lib/systemd/network/*.network")):
        text = _read(path)
        names = re.findall(r"^\s*Name\s*=\s*(.+)$", text, re.M)
        if not any(re.fullmatch(pattern.replace("*", ".*"), ifname) for n in names for pattern in n.split()):
            continue
        if re.search(r"^\s*DHCP\s*=\s*(yes|true|ipv4|both)\s*$", text, re.M | re.I):
            return False, "systemd-networkd (%s) takes it by DHCP" % path
        if re.search(r"^\s*Address\s*=", text, re.M):
            return True, "systemd-networkd (%s) sets it statically" % path
    return None, None


def ifupdown(ifname):
    for path in ["/etc/network/interfaces"] + sorted(glob.glob("/etc/network/interfaces.d/*")):
        match = re.search(r"^\s*iface\s+%s\s+inet\s+(\w+)" % re.escape(ifname), _read(path), re.M)
        if match:
            method = match.group(1)
            if method == "static":
                return True, "ifupdown (%s) sets it statically" % path
            if method == "dhcp":
                return False, "ifupdown (%s) takes it by DHCP" % path
    return None, None


def networkmanager(ifname):
    for path in sorted(glob.glob("/etc/NetworkManager/system-connections/*")):
        text = _read(path)
        if not re.search(r"^\s*interface-name\s*=\s*%s\s*$" % re.escape(ifname), text, re.M):
            continue
        ipv4 = text.split("[ipv4]", 1)[1] if "[ipv4]" in text else ""
        method = re.search(r"^\s*method\s*=\s*(\w+)", ipv4, re.M)
        if method and method.group(1) == "manual":
            return True, "NetworkManager (%s) sets it statically" % path
        if method and method.group(1) == "auto":
            return False, "NetworkManager (%s) takes it by DHCP" % path
    return None, None


def _dport_values(right):
    """Ports a match's right-hand side names: a number, a set, a range, or a set of ranges."""
    if isinstance(right, int):
        return [(right, right)]
    if isinstance(right, dict) and "set" in right:
        out = []
        for item in right["set"]:
            out += _dport_values(item)
        return out
    if isinstance(right, list):
        out = []
        for item in right:
            out += _dport_values(item)
        return out
    if isinstance(right, dict) and "range" in right:
        low, high = right["range"]
        if isinstance(low, int) and isinstance(high, int):
            return [(low, high)]
    return []


def drop_chains(ruleset, own_table):
    """Other tables' input-hook base chains with policy drop, and the ports their rules accept.

    ruleset: the parsed `nft -j list ruleset`. A rule counts as accepting a port when it ends in
    accept and matches `tcp|udp dport` on that port; rules that match on more (an interface, a
    source) are counted too, so the report may call a port open that only some clients reach.
    """
    items = ruleset.get("nftables", []) if isinstance(ruleset, dict) else []
    chains, rules = [], {}
    for item in items:
        if "chain" in item:
            chain = item["chain"]
            if chain.get("hook") == "input" and chain.get("policy") == "drop" and chain.get("table") != own_table:
                chains.append(chain)
        elif "rule" in item:
            rule = item["rule"]
            rules.setdefault((rule.get("family"), rule.get("table"), rule.get("chain")), []).append(rule)
    out = []
    for chain in chains:
        accepted = {"tcp": [], "udp": []}
        for rule in rules.get((chain.get("family"), chain.get("table"), chain.get("name")), []):
            expr = rule.get("expr") or []
            if not expr or "accept" not in expr[-1]:
                continue
            for part in expr:
                match = part.get("match") if isinstance(part, dict) else None
                payload = (match or {}).get("left", {}).get("payload", {}) if isinstance(match, dict) else {}
                if payload.get("field") == "dport" and payload.get("protocol") in accepted and match.get("op") in ("==", "in"):
                    accepted[payload["protocol"]] += _dport_values(match.get("right"))
        out.append({"family": chain.get("family"), "table": chain.get("table"), "chain": chain.get("name"),
                    "accepted": accepted})
    return out


def nft_drop_chains(own_table):
    try:
        out = subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
        return drop_chains(json.loads(out or "{}"), own_table)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return []


def blocked_ports(chains, ports):
    """For each planned port ("tcp/8096"), the chains that drop it: "family table chain"."""
    out = {}
    for spec in ports:
        proto, _, number = spec.partition("/")
        port = int(number)
        out[spec] = ["%s %s %s" % (c["family"], c["table"], c["chain"]) for c in chains
                     if not any(low <= port <= high for low, high in c["accepted"].get(proto, []))]
    return out


def main(argv):
    parser = argparse.ArgumentParser(prog="lan_facts.py")
    parser.add_argument("address", nargs="?", default="")
    parser.add_argument("--own-table", default="")
    parser.add_argument("--ports", default="")
    args = parser.parse_args(argv[1:])
    address, ifname, info = find_address(args.address or None)
    facts = {"address": address, "interface": ifname, "static": None, "source": "unknown", "detail": ""}
    if info is None:
        facts["detail"] = "no interface of this host holds %s" % address
    elif info.get("dynamic") or info.get("valid_life_time", 4294967295) != 4294967295:
        facts.update(static=False, source="dhcp",
                     detail="%s on %s has a DHCP lease (lifetime %ss)" % (address, ifname, info.get("valid_life_time")))
    else:
        for check in (networkd, ifupdown, networkmanager):
            static, detail = check(ifname)
            if static is not None:
                facts.update(static=static, source=check.__name__, detail=detail)
                break
        else:
            facts.update(source="external",
                         detail="%s on %s has no lease, and no networkd, ifupdown or NetworkManager configuration "
                                "names %s: something outside the host's network configuration set it (a container "
                                "runtime, cloud-init or a script)" % (address, ifname, ifname))
    ufw = "/usr/sbin/ufw"
    facts["ufw_active"] = False
    facts["ufw_default_incoming"] = None
    if os.path.exists(ufw):
        out = subprocess.run([ufw, "status", "verbose"], capture_output=True, text=True, check=False).stdout
        facts["ufw_active"] = out.startswith("Status: active")
        default = re.search(r"^Default: (\w+) \(incoming\)", out, re.M)
        facts["ufw_default_incoming"] = default.group(1) if default else None
    chains = nft_drop_chains(args.own_table)
    facts["input_drop_chains"] = chains
    facts["blocked"] = blocked_ports(chains, [p for p in args.ports.split(",") if p])
    json.dump(facts, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
