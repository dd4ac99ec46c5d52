#!/usr/bin/python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 pinholes in the home router's firewall by UPnP IGDv2 (WANIPv6FirewallControl).

Used by the port_forward role when IPv4 forwarding is impossible (CGNAT, double NAT) but the
host has a global IPv6 address: IPv6 is routed, not NATed, so the router only has to let
inbound connections to this host's address through. The Python binding of miniupnpc has no
pinhole calls; Debian's upnpc command line (package miniupnpc) has them (-A add, -U update,
-D delete, -S firewall status), so this script drives it.

    upnp_pinholes.py '{"address": ..., "ports": [{"port": 443, "protocol": "tcp"}], "lease": 86400,
                       "state_file": ..., "check": false, "remove": false}'
    upnp_pinholes.py --renew STATE_FILE       (the renewal timer: same pinholes, from the file,
                                               moved to the host's new address after a renumbering)

Prints one JSON object: changed, pinholes (port, protocol, id), removed, expiring (pinholes of
an address the host no longer holds, which the router refused to delete for another address:
they end with their lease), renewed, manual (the
planned ports with no pinhole: the owner opens them by hand), refused
(port, protocol, reason: the ports the router would not open; IGDv2 recommends refusing
ports below 1024, and miniupnpd does), and error and error_kind (no_upnpc, no_address,
no_igd, refused) when nothing could be opened; the role then tells the owner what to open
by hand. Pinholes are kept in state_file (the IDs are
what update and delete need); an ID the router forgot (a reboot, an expired lease) is added
again. upnpc runs with -i: a router with no usable public IPv4 (CGNAT) reports its WAN
connection as not connected, and upnpc would otherwise stop there.
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

UPNPC_TIMEOUT = 30
_ADDED = re.compile(r"AddPinhole: \(\[[^\]]*\]:\d+ -> \[[^\]]*\]:\d+\) / Pinhole ID = (\d+)")
_UPDATED = re.compile(r"UpdatePinhole: Pinhole ID = (\d+) with Lease Time")
_DELETED = re.compile(r"UPNP_DeletePinhole\(\) returned ?: ?0\b")
_NO_IGD = ("No IGD UPnP Device found", "No valid UPNP Internet Gateway Device found")
_ULA = ipaddress.ip_network("fc00::/7")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _interface_of(address):
    """The interface holding address (upnpc -6 -m needs an interface name for IPv6)."""
    proc = subprocess.run(["ip", "-j", "-6", "addr", "show"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    for link in json.loads(proc.stdout or "[]"):
        for info in link.get("addr_info", []):
            if info.get("local") == address:
                return link.get("ifname")
    return None


def _follow(state):
    """The address the renewal opens pinholes for: the recorded one while the host holds it;
    after the ISP renumbered the prefix, the first address of the same kind (global unicast, or
    unique local as in the lab) that the kernel lists as global and stable on the interface the
    pinholes were made on (not temporary, deprecated or tentative), so that the pinholes follow
    the address the ddns role's timer publishes. None when there is none."""
    address = state.get("address") or ""
    proc = subprocess.run(["ip", "-j", "-6", "addr", "show"], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not address:
        return address or None
    links = json.loads(proc.stdout or "[]")
    if any(info.get("local") == address for link in links for info in link.get("addr_info", [])):
        return address
    kind = _kind(ipaddress.ip_address(address))
    for link in links:
        if state.get("interface") and link.get("ifname") != state["interface"]:
            continue
        for info in link.get("addr_info", []):
            if info.get("scope") != "global" or any(info.get(flag) for flag in ("temporary", "deprecated", "tentative", "dadfailed")):
                continue
            candidate = ipaddress.ip_address(info.get("local"))
            if kind is not None and _kind(candidate) == kind:
                return str(candidate)
    return None


def _kind(ip):
    """unique local (fc00::/7), global unicast (2000::/3) or None."""
    return "unique local" if ip in _ULA else "global unicast" if ip in _GLOBAL_UNICAST else None


def _upnpc(upnpc, interface, *args):
    cmd = [upnpc, "-i", "-6"] + (["-m", interface] if interface else []) + list(args)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=UPNPC_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return "upnpc timed out after %d s" % UPNPC_TIMEOUT
    return (proc.stdout or "") + (proc.stderr or "")


def _last_line(output, word):
    """The last line of output that mentions word, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    named = [line for line in lines if word in line]
    return (named or lines or [""])[-1]


def _load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path, data):
    """Atomically, 0644 root-owned (the file holds no secret: ports and pinhole IDs)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pinholes.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _key(entry):
    """(port, protocol) of a planned port: over IPv6 nothing translates ports, so the pinhole
    is for the port the host listens on (internal_port when it differs)."""
    return (int(entry.get("internal_port") or entry["port"]), str(entry.get("protocol") or "tcp").lower())


def apply(args):
    """Open (or renew) the planned pinholes and delete the recorded ones no longer planned."""
    state_file = args["state_file"]
    state = _load(state_file)
    check = bool(args.get("check"))
    remove = bool(args.get("remove"))
    # Removal reads everything from the file: the address the pinholes were made for included.
    address = (state.get("address") if remove else args.get("address")) or ""
    lease = int(args.get("lease") or 86400)
    planned = [] if remove else [{"port": p, "protocol": proto} for p, proto in
                                 sorted(set(_key(e) for e in args.get("ports") or []))]
    recorded = {(_key(e)): e.get("id") for e in state.get("pinholes") or []
                if state.get("address") == address or remove}
    out = {"changed": False, "pinholes": [], "removed": [], "renewed": [], "address": address}
    if not planned and not recorded and not state:
        return out
    upnpc = shutil.which("upnpc")
    if upnpc is None:
        out.update(error_kind="no_upnpc", error="upnpc (Debian package miniupnpc) is not installed", manual=planned)
        return out
    interface = _interface_of(address) if address else None
    if remove and interface is None:
        # Renumbered since the pinholes were made: the interface they were asked on.
        interface = state.get("interface")
    if address and interface is None and not remove:
        out.update(error_kind="no_address", error="no interface of this host holds %s" % address, manual=planned)
        return out
    # Recorded pinholes that are no longer planned, or were made for another address.
    stale = [(k, i) for k, i in recorded.items() if k not in set(_key(p) for p in planned)]
    if state.get("address") and state.get("address") != address and not remove:
        stale += [(_key(e), e.get("id")) for e in state.get("pinholes") or []]
    for (port, proto), pinhole_id in stale:
        out["changed"] = True
        entry = {"port": port, "protocol": proto, "id": pinhole_id}
        output = _upnpc(upnpc, interface, "-D", str(pinhole_id)) if not check and pinhole_id else ""
        if output and not _DELETED.search(output) and state.get("address") and _interface_of(state["address"]) is None:
            # IGDv2 lets only the address a pinhole was made for remove it (miniupnpd answers 606
            # to any other): after a renumbering the old one stays until its lease ends, for an
            # address this host no longer holds.
            out.setdefault("expiring", []).append(dict(entry, address=state["address"], lease=state.get("lease"),
                                                       reason=_last_line(output, "DeletePinhole")))
        else:
            out["removed"].append(entry)
    kept = []
    for entry in planned:
        key = _key(entry)
        pinhole_id = recorded.get(key)
        if pinhole_id and check:
            kept.append(dict(entry, id=pinhole_id))
            continue
        if pinhole_id:
            output = _upnpc(upnpc, interface, "-U", str(pinhole_id), str(lease))
            if _UPDATED.search(output):
                out["renewed"].append(key[0])
                kept.append(dict(entry, id=pinhole_id))
                continue
        if check:
            out["changed"] = True
            kept.append(dict(entry, id=None))
            continue
        output = _upnpc(upnpc, interface, "-A", "", "0", address, str(key[0]), key[1].upper(), str(lease))
        match = _ADDED.search(output)
        if match:
            out["changed"] = True
            kept.append(dict(entry, id=match.group(1)))
        elif any(text in output for text in _NO_IGD):
            out.update(error_kind="no_igd", error="no UPnP Internet Gateway Device answered over IPv6")
            break
        else:
            # IGDv2 recommends refusing unauthenticated pinholes below port 1024 (miniupnpd
            # answers 606 there): the other ports may still be opened.
            out.setdefault("refused", []).append(
                {"port": key[0], "protocol": key[1], "reason": _last_line(output, "AddPinhole")})
    if out.get("refused") and not kept:
        out.update(error_kind="refused", error="the router refused every pinhole")
    opened = set(_key(p) for p in kept)
    out["manual"] = [{"port": p["port"], "protocol": p["protocol"]} for p in planned if _key(p) not in opened]
    out["pinholes"] = kept
    if not check:
        if remove or (not kept and "error_kind" not in out):
            if os.path.exists(state_file):
                os.unlink(state_file)
        elif kept or stale:
            new = {"address": address, "interface": interface, "lease": lease, "pinholes": kept}
            if new != state:
                _save(state_file, new)
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == "--renew":
        state = _load(argv[2])
        if not state.get("pinholes"):
            print(json.dumps({"changed": False, "pinholes": []}))
            return 0
        args = {"address": _follow(state) or state.get("address"), "ports": state["pinholes"],
                "lease": state.get("lease"), "state_file": argv[2]}
    elif len(argv) == 2:
        args = json.loads(argv[1])
    else:
        print("usage: upnp_pinholes.py JSON | --renew STATE_FILE", file=sys.stderr)
        return 2
    result = apply(args)
    print(json.dumps(result, sort_keys=True))
    # The renewal fails loudly (the unit shows failed) when the router refuses; the role reads the JSON.
    return 1 if argv[1] == "--renew" and result.get("error_kind") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
