# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor role's read-only look at the host (standard library only; run as python3 -c, or
imported by doctor_host.py, the host timer's runner, which calls look_at()).

Arguments: one JSON object: units (names), certificates ([{name, path}]), certificate_globs
(patterns; each match is named by its file name), upnp_config (the port_forward role's renewal
file), tailscale (bool: ask `tailscale status` and `tailscale serve status`), wireguard
({interface, clients_dir}: the latest handshake of each peer), openvpn ({instance, status_file}: the
clients the server lists), fail2ban_jail (a jail name), ddclient_config (path) and ddclient_marker (a regular
expression the role's file carries).

Prints JSON: units {name: {load, active}}, certificates [{name, path, not_after | error}],
upnp (null without the renewal file; else its mappings, each with "found": what the router
answers for that port (internal_client, internal_port, description, lease_remaining) or null;
or {error}), tailscale (status JSON's BackendState and Self.Online, serve: what Serve publishes
and whether Funnel is on; or {error}; null when not asked), wireguard ({interface, peers: [{name,
latest_handshake (seconds since the epoch, 0 for never)}]} or {interface, error}), openvpn
({instance, clients: [{name, since}]} or {instance, error}), fail2ban ({jail, banned_now,
banned_total, banned: [addresses]} or {jail, error}), ddclient_ours (bool); every one null when not
asked. Changes nothing (UPnP is only asked, never told) and prints no secret: certificates and
WireGuard public keys are public; `wg show` is asked only for handshakes, never for a dump,
which holds the private key.
"""

import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import sys


def run(*argv, timeout=20):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                              env=dict(os.environ, LC_ALL="C"))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def units(names):
    found = {name: {"load": "missing", "active": "unknown"} for name in names}
    if not names:
        return found
    _, out, _ = run("systemctl", "show", "--property", "Id,LoadState,ActiveState", "--", *names)
    for block in out.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id") in found:
            found[props["Id"]] = {"load": props.get("LoadState", "missing"), "active": props.get("ActiveState", "unknown")}
    return found


def not_after(path):
    if not os.path.exists(path):
        return {"error": "the file is missing"}
    rc, out, err = run("openssl", "x509", "-noout", "-enddate", "-in", path)
    if rc != 0:
        return {"error": "openssl cannot read it: %s" % (err.strip().splitlines() or ["?"])[-1]}
    text = out.strip().split("=", 1)[-1]
    when = datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
    return {"not_after": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def certificates(listed, patterns):
    out = []
    seen = set()
    for cert in listed:
        seen.add(cert["path"])
        out.append(dict(cert, **not_after(cert["path"])))
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path not in seen:
                seen.add(path)
                out.append(dict({"name": os.path.basename(path), "path": path}, **not_after(path)))
    return out


def tailscale():
    if not shutil.which("tailscale"):
        return {"error": "tailscale is not installed"}
    rc, out, err = run("tailscale", "status", "--json", timeout=15)
    try:
        status = json.loads(out)
    except ValueError:
        return {"error": (err or out).strip()[:300] or "exit %d" % rc}
    out = {"BackendState": status.get("BackendState"), "Online": (status.get("Self") or {}).get("Online")}
    rc, text, _ = run("tailscale", "serve", "status", "--json", timeout=15)
    try:
        serve = json.loads(text) if rc == 0 else None
    except ValueError:
        serve = None
    serve = serve if isinstance(serve, dict) else {}
    out["serve"] = sorted("https://%s%s -> %s" % (host, path, (handler or {}).get("Proxy", "?"))
                          for host, web in (serve.get("Web") or {}).items()
                          for path, handler in ((web or {}).get("Handlers") or {}).items())
    out["funnel"] = sorted(host for host, on in (serve.get("AllowFunnel") or {}).items() if on)
    return out


def wireguard(interface, clients_dir):
    """Each peer's latest handshake; peers named by the role's client key files (<name>.pub)."""
    rc, out, err = run("wg", "show", interface, "latest-handshakes")
    if rc != 0:
        return {"interface": interface, "error": (err or out).strip()[:300] or "exit %d" % rc}
    names = {}
    for path in glob.glob(os.path.join(clients_dir or "/nonexistent", "*.pub")):
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                names[handle.read().strip()] = os.path.basename(path)[:-4]
        except OSError:
            continue
    peers = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            peers.append({"name": names.get(parts[0], "peer %s..." % parts[0][:8]), "latest_handshake": int(parts[1])})
    return {"interface": interface, "peers": sorted(peers, key=lambda p: p["name"])}


def openvpn(instance, path):
    """The clients connected now, from the status file (version 2) the server writes."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        return {"instance": instance, "error": "cannot read %s: %s" % (path, exc.strerror or exc)}
    header, clients = None, []
    for line in lines:
        fields = line.split(",")
        if fields[:2] == ["HEADER", "CLIENT_LIST"]:
            header = fields[2:]
        elif fields[0] == "CLIENT_LIST" and header:
            row = dict(zip(header, fields[1:]))
            clients.append({"name": row.get("Common Name", "?"), "since": row.get("Connected Since", "")})
    return {"instance": instance, "clients": clients}


def fail2ban(jail):
    rc, out, err = run("fail2ban-client", "status", jail)
    if rc != 0:
        return {"jail": jail, "error": (err or out).strip()[:300] or "exit %d" % rc}
    values = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip(" |`-")] = value.strip()
    try:
        return {"jail": jail, "banned_now": int(values.get("Currently banned", "")),
                "banned_total": int(values.get("Total banned", "")),
                "banned": values.get("Banned IP list", "").split()}
    except ValueError:
        return {"jail": jail, "error": "unexpected output of fail2ban-client status %s" % jail}


def upnp(path):
    """The renewal file's mappings and what the router says of each (one discovery)."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"error": "cannot read %s: %s" % (path, exc)}
    try:
        import miniupnpc
    except ImportError:
        return {"error": "python3-miniupnpc is not installed"}
    try:
        client = miniupnpc.UPnP(multicastif=config["multicast_interface"]) if config.get("multicast_interface") \
            else miniupnpc.UPnP()
        client.discoverdelay = int(config.get("discovery_delay_ms", 2000))
        if not client.discover():
            return {"error": "no UPnP device answered"}
        client.selectigd()
    except Exception as exc:  # miniupnpc raises plain Exception
        return {"error": str(exc)}
    mappings = []
    for m in config.get("mappings") or []:
        try:
            got = client.getspecificportmapping(int(m["external_port"]), str(m["protocol"]).upper())
        except Exception:  # no such entry: miniupnpc raises or returns None, by version
            got = None
        found = None
        if got:
            found = {"internal_client": got[0], "internal_port": int(got[1]), "description": got[2],
                     "lease_remaining": int(got[4]) if len(got) > 4 and got[4] is not None else 0}
        mappings.append(dict(m, found=found))
    return {"mappings": mappings}


def ddclient_ours(path, marker):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return re.search(marker, handle.read()) is not None
    except OSError:
        return False


def look_at(args):
    """Everything args asks for (the doctor_look filter's output), as one dict."""
    return {
        "units": units(args.get("units") or []),
        "certificates": certificates(args.get("certificates") or [], args.get("certificate_globs") or []),
        "upnp": upnp(args["upnp_config"]) if args.get("upnp_config") else None,
        "tailscale": tailscale() if args.get("tailscale") else None,
        "wireguard": wireguard(args["wireguard"]["interface"], args["wireguard"].get("clients_dir"))
        if args.get("wireguard") else None,
        "openvpn": openvpn(args["openvpn"]["instance"], args["openvpn"]["status_file"]) if args.get("openvpn") else None,
        "fail2ban": fail2ban(args["fail2ban_jail"]) if args.get("fail2ban_jail") else None,
        "ddclient_ours": ddclient_ours(args.get("ddclient_config") or "/etc/ddclient.conf",
                                       args.get("ddclient_marker") or "homelab.jellyfin_remote ddns role"),
    }


def main():
    print(json.dumps(look_at(json.loads(sys.argv[1])), sort_keys=True))


if __name__ == "__main__":
    main()
