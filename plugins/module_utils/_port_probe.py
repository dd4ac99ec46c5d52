# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which external ports reach the home: the preflight's port probe.

Plain Python, no AnsibleModule: the module port_probe is a thin wrapper, the filter
port_probe_verdict calls verdict(), and the unit tests drive everything with a fake
miniupnpc client (the one _upnp.py describes) and sockets on loopback.

How a probe goes (the preflight's tasks/probe.yml):
1. At home (run_home(), the module, started async): find the router once; for each candidate
   external port read the router's mapping of it:
   - none: a listener on a free high local port and a TEMPORARY mapping external port ->
     that listener (short lease, description PROBE_DESCRIPTION);
   - a mapping to this host whose internal port is free here: a listener on that port, the
     router left alone;
   - a mapping to another host, or to a port of this host something listens on: not probed,
     not touched ("mapped to <host> already").
   Then it writes the ready file (the token and the ports to try; a name new for each run),
   answers every connection that sends LINE_PREFIX <token> <port> with the reply
   reply_for(token, port), and stops when every port was reached, the ready file is removed
   (the preflight's signal that the probe host is done) or the deadline passes (then it
   removes the ready file itself). Whatever happens, it removes the mappings it added, reads
   them back and closes the listeners. The preflight removes the ready file in any case.
2. From the probe host (roles/preflight/files/port_probe.py, standard library only): a TCP
   connect to <public IPv4>:<port> for each port, the line sent, the reply checked.
3. verdict(): a port reaches the home only when the home's listener got the token on it (a
   router answering for itself, or an ISP's box, never sees the token). The ports that do
   not reach the home are merged with the owner's blocked ports for the advice.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import selectors
import socket
import time

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upnp

PROBE_DESCRIPTION = "jellyfin_remote port probe"
LINE_PREFIX = "jellyfin_remote-port-probe"
DEFAULT_PORTS = (80, 443, 8096, 8920)
DEFAULT_LEASE = 120


class ProbeError(Exception):
    """A wrong option, with a message naming it."""


def reply_for(token, port):
    """What the home's listener answers for the token on an external port: derived from both,
    so neither an echo nor a listener on another port gives it."""
    return "%s-ok %s" % (LINE_PREFIX, hashlib.sha256(("%s:%d" % (token, int(port))).encode()).hexdigest()[:32])


def candidate_ports(ports, extra=(), option="preflight_probe_ports"):
    """The external ports to try: ports then extra, each once, in order. ProbeError names the option."""
    out = []
    for name, values in ((option, ports), ("preflight_probe_extra_ports", extra)):
        if values is None:
            continue
        if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
            raise ProbeError("%s must be a list of TCP port numbers, got %r" % (name, values))
        for value in values:
            if value is None or value == "":
                continue
            try:
                port = int(str(value).strip())
            except ValueError:
                raise ProbeError("%s: %r is not a port number between 1 and 65535" % (name, value)) from None
            if isinstance(value, bool) or not 1 <= port <= 65535:
                raise ProbeError("%s: %r is not a port number between 1 and 65535" % (name, value))
            if port not in out:
                out.append(port)
    return out


def should_probe(public_ip):
    """(True, "") when public_ip's result allows a probe, else (False, why not): the line must
    not be CGNAT and the router must speak UPnP (the WAN address came from it)."""
    public_ip = public_ip or {}
    if not public_ip.get("ipv4"):
        return False, "no public IPv4 address was found"
    if public_ip.get("port_forwarding_possible") is not True:
        return False, "port forwarding is not possible here (%s)" % (public_ip.get("classification") or "unknown")
    if public_ip.get("wan_source_used") != "upnp":
        return False, "the router did not answer by UPnP, so the probe cannot add its temporary mappings"
    return True, ""


def _bind(port, family=socket.AF_INET, address=""):
    """A listening TCP socket on port (0: a free one), or None when the port is in use."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(8)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return None
        raise
    return sock


class Listeners:
    """One listening socket per external port; answers the probe's line, remembers who sent it.

    seen: external port -> the peer address that sent the right token on it.
    """

    def __init__(self, token, bind=_bind, address=""):
        self.token = token
        self.bind = bind
        self.address = address
        self.sockets = {}  # external port -> listening socket
        self.seen = {}
        self.wrong = {}  # external port -> what a connection sent instead of the token line
        self._selector = selectors.DefaultSelector()
        self._buffers = {}

    def open(self, external_port, local_port=0):
        """Listen for external_port on local_port (0: a free one). Returns the local port, or None
        when local_port is in use."""
        sock = self.bind(local_port, address=self.address)
        if sock is None:
            return None
        self.sockets[external_port] = sock
        self._selector.register(sock, selectors.EVENT_READ, ("listen", external_port))
        return sock.getsockname()[1]

    def waiting(self):
        return sorted(set(self.sockets) - set(self.seen))

    def serve(self, seconds):
        """Handle what arrives within seconds."""
        for key, _events in self._selector.select(timeout=max(seconds, 0)):
            kind, port = key.data
            if kind == "listen":
                try:
                    conn, peer = key.fileobj.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                self._buffers[conn] = (port, peer[0], b"", time.monotonic())
                self._selector.register(conn, selectors.EVENT_READ, ("conn", port))
            else:
                self._read(key.fileobj)
        now = time.monotonic()
        for conn, buffered in list(self._buffers.items()):
            if now - buffered[3] > 5:
                self._drop(conn)

    def _read(self, conn):
        port, peer, data, since = self._buffers[conn]
        try:
            chunk = conn.recv(512)
        except OSError:
            chunk = b""
        data += chunk
        if chunk and b"\n" not in data and len(data) < 512:
            self._buffers[conn] = (port, peer, data, since)
            return
        line = data.split(b"\n", 1)[0].decode("ascii", "replace").strip()
        if line == "%s %s %d" % (LINE_PREFIX, self.token, port):
            self.seen.setdefault(port, peer)
            try:
                conn.setblocking(True)
                conn.settimeout(2)
                conn.sendall((reply_for(self.token, port) + "\n").encode())
            except OSError:
                pass
        elif line:
            self.wrong.setdefault(port, line[:80])
        self._drop(conn)

    def _drop(self, conn):
        self._buffers.pop(conn, None)
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def close(self):
        for conn in list(self._buffers):
            self._drop(conn)
        for sock in self.sockets.values():
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self._selector.close()


def write_json(path, data):
    """Write data as JSON to path atomically, mode 0600."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, sort_keys=True)
    os.rename(tmp, path)


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _plan_port(client, listeners, lan_address, port):
    """Decide one port and prepare it. Returns its report entry (listener and mapping done)."""
    entry = {"port": port, "probed": False, "via": None, "local_port": None, "reason": None}
    existing = _upnp.read_mapping(client, port, "TCP")
    ours = existing is not None and existing.description == PROBE_DESCRIPTION and existing.internal_client == lan_address
    if existing is not None and not ours:
        if existing.internal_client != lan_address:
            entry["reason"] = "not probed: mapped to %s already (to its port %d)" % (
                existing.internal_client, existing.internal_port)
            return entry
        local = listeners.open(port, existing.internal_port)
        if local is None:
            entry["reason"] = ("not probed: mapped to this host's port %d already, where something listens"
                               % existing.internal_port)
            return entry
        entry.update(probed=True, via="existing mapping", local_port=local)
        return entry
    local = listeners.open(port, 0)
    entry.update(local_port=local)
    return entry


def run_home(client, ports, ready_file, deadline_seconds=45, lease_duration=DEFAULT_LEASE, discovery_delay_ms=2000,
             token=None, clock=time.monotonic, exists=os.path.exists, listeners=None, locate=None):
    """The home's side of the probe (see the module docstring). Returns the report:
    token, lan_address, external_ip, ports (port, probed, via, local_port, reason, reached, peer,
    sent), added (the mappings added), left (the probe's mappings still on the router afterwards,
    [] when all went), error (why the probe could not run, or null), probe_seconds (from the start
    to the mappings removed). Never raises for the
    router's answers: they are reported, and what was added is removed. locate: as for
    _upnp.connect (the search that ends at the router's first answer).
    """
    token = token or secrets.token_hex(16)
    listeners = listeners or Listeners(token)
    report = {"token": token, "lan_address": None, "external_ip": None, "ports": [], "added": [], "left": [],
              "error": None, "probe_seconds": None}
    started = clock()
    try:
        try:
            session = _upnp.connect(client, discovery_delay_ms, locate=locate)
        except _upnp.UpnpError as exc:
            report["error"] = "the router did not answer by UPnP: %s" % exc
            write_json(ready_file, {"token": token, "ports": [], "error": report["error"]})
            return report
        # public_ip (with the owner's allow_ranges) already found that forwarding is possible here.
        session = dict(session, problem=None)
        lan = session["lan_address"]
        report.update(lan_address=lan, external_ip=session["external_ip"])
        if not lan:
            report["error"] = "miniupnpc reported no LAN address for this host"
            write_json(ready_file, {"token": token, "ports": [], "error": report["error"]})
            return report
        for port in ports:
            try:
                entry = _plan_port(client, listeners, lan, port)
            except _upnp.UpnpError as exc:
                entry = {"port": port, "probed": False, "via": None, "local_port": None,
                         "reason": "not probed: %s" % exc}
            if entry["local_port"] is not None and entry["via"] is None:
                try:
                    _upnp.ensure_one(client, session, port, protocol="TCP", internal_port=entry["local_port"],
                                     internal_client=lan, description=PROBE_DESCRIPTION,
                                     lease_duration=lease_duration, min_lease_remaining=lease_duration, force=False)
                    report["added"].append(port)
                    entry.update(probed=True, via="temporary mapping")
                except _upnp.UpnpError as exc:
                    entry["reason"] = "not probed: the router refused a temporary mapping: %s" % exc
            report["ports"].append(entry)
        write_json(ready_file, {"token": token, "ports": [e["port"] for e in report["ports"] if e["probed"]],
                                "external_ip": report["external_ip"]})
        while listeners.waiting() and exists(ready_file):
            if clock() - started >= deadline_seconds:
                # Nobody came for the ready file in time: the preflight is gone or stuck.
                remove(ready_file)
                break
            listeners.serve(0.2)
    finally:
        for port in report["added"]:
            try:
                client.deleteportmapping(port, "TCP", "")
            except Exception:  # miniupnpc raises plain Exception; read back below
                pass
        for port in report["added"]:
            try:
                still = _upnp.read_mapping(client, port, "TCP")
            except _upnp.UpnpError:
                still = True
            if still is not None:
                report["left"].append(port)
        listeners.close()
        report["probe_seconds"] = round(clock() - started, 2)
        for entry in report["ports"]:
            entry["reached"] = entry["port"] in listeners.seen
            entry["peer"] = listeners.seen.get(entry["port"])
            entry["sent"] = listeners.wrong.get(entry["port"])
    return report


def _why_blocked(tried, probe_host):
    """How the probe host saw a port whose token never reached the home."""
    if not tried:
        return "the probe host %s did not try it" % probe_host
    outcome = tried.get("outcome")
    if outcome == "timeout":
        return "no answer from %s within %s s (dropped on the way: the ISP or the router)" % (
            probe_host, tried.get("timeout", "a few"))
    if outcome == "refused":
        return "refused before reaching the home (tried from %s)" % probe_host
    if outcome == "connected":
        return ("something other than this home answered %s (the router or the ISP): the home's listener "
                "never got the token" % probe_host)
    return "%s could not connect: %s" % (probe_host, tried.get("error") or outcome)


def verdict(home, tried, owner_blocked=(), probe_host="the probe host", skipped=""):
    """The probe's findings. home: run_home()'s report (or None); tried: the probe host's output
    (files/port_probe.py: list of port, outcome, reply_ok, error, timeout; or None); owner_blocked:
    the owner's blocked ports. skipped: why the probe did not run ("" when it did).

    Returns measured (bool), probe_host, ports (port, result: reaches | blocked | not_probed, why),
    measured_blocked, blocked_ports (the owner's and the measured, sorted: what the advice
    reads), lines (for the report), left (mappings the probe could not remove).
    """
    owner = sorted({int(p) for p in owner_blocked or []})
    out = {"measured": False, "probe_host": probe_host, "ports": [], "measured_blocked": [], "blocked_ports": owner,
           "lines": [], "left": [], "skipped": skipped}
    if skipped:
        out["lines"].append("Ports: not measured (%s); blocked ports are the owner's: %s"
                            % (skipped, ", ".join(map(str, owner)) or "none"))
        return out
    home = home or {}
    if home.get("error"):
        out["lines"].append("Ports: not measured (%s); blocked ports are the owner's: %s"
                            % (home["error"], ", ".join(map(str, owner)) or "none"))
        out["left"] = list(home.get("left") or [])
        return out
    by_port = {int(t["port"]): t for t in (tried or []) if isinstance(t, dict) and "port" in t}
    out["measured"] = True
    for entry in home.get("ports") or []:
        port = int(entry["port"])
        if not entry.get("probed"):
            found = {"result": "not_probed", "why": entry.get("reason") or "not probed"}
        elif entry.get("reached"):
            found = {"result": "reaches", "why": "reached the home from %s (%s)" % (probe_host, entry.get("via"))}
        else:
            found = {"result": "blocked", "why": _why_blocked(by_port.get(port), probe_host)}
        out["ports"].append(dict(found, port=port))
    out["measured_blocked"] = [p["port"] for p in out["ports"] if p["result"] == "blocked"]
    out["blocked_ports"] = sorted(set(owner) | set(out["measured_blocked"]))
    out["left"] = list(home.get("left") or [])
    for p in out["ports"]:
        out["lines"].append("Port %d: %s - %s" % (p["port"], {"reaches": "reaches the home", "blocked": "BLOCKED",
                                                              "not_probed": "not probed"}[p["result"]], p["why"]))
    opened = {p["port"] for p in out["ports"] if p["result"] == "reaches"}
    for port in owner:
        if port in opened:
            out["lines"].append("Port %d: you list it as blocked, but the probe reached the home on it; it stays "
                                "blocked for the advice until you take it off preflight_blocked_ports" % port)
    if out["left"]:
        out["lines"].append("WARNING: the router still lists the probe's mapping of port(s) %s (%r): their lease "
                            "ends them; remove them in the router's UPnP list"
                            % (", ".join(map(str, out["left"])), PROBE_DESCRIPTION))
    return out


def cleanup(client, ports, discovery_delay_ms=2000, locate=None):
    """Remove what a run that did not finish left: every mapping of ports that holds the probe's
    description and points at this host. Returns removed and left (lists of ports) and error."""
    out = {"removed": [], "left": [], "error": None}
    try:
        session = _upnp.connect(client, discovery_delay_ms, locate=locate)
    except _upnp.UpnpError as exc:
        out["error"] = "the router did not answer by UPnP: %s" % exc
        return out
    for port in ports:
        try:
            existing = _upnp.read_mapping(client, port, "TCP")
        except _upnp.UpnpError:
            out["left"].append(port)
            continue
        if existing is None or existing.description != PROBE_DESCRIPTION or (
                existing.internal_client != session["lan_address"]):
            continue
        try:
            client.deleteportmapping(port, "TCP", "")
        except Exception:  # miniupnpc raises plain Exception; read back below
            pass
        try:
            gone = _upnp.read_mapping(client, port, "TCP") is None
        except _upnp.UpnpError:
            gone = False
        out["removed" if gone else "left"].append(port)
    return out
