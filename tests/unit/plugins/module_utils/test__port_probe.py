"""_port_probe: the home's side with a fake router and real listeners on loopback, the verdict,
the merge with the owner's blocked ports and what the advice then says."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _advice, _port_probe

from standins.upnp import LAN, OTHER, FakeUPnP

PROBE = _port_probe.PROBE_DESCRIPTION
TOKEN = "a1" * 16


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def send(local_port, line):
    """What the probe host's line does once the router forwarded it: returns the reply line."""
    with socket.create_connection(("127.0.0.1", local_port), timeout=3) as conn:
        conn.sendall((line + "\n").encode())
        return conn.recv(512).decode().strip()


class ProbeHost:
    """Stands in for the preflight's tasks between the ready file and its removal: reads the ready
    file, then in a thread (the home's side serves meanwhile) sends each port's line to where the
    fake router maps it (only the ports in `reach`, or a wrong line for those in `wrong`), then
    'removes' the ready file."""

    def __init__(self, client, reach=(), wrong=(), fail=None):
        self.client, self.reach, self.wrong, self.fail = client, set(reach), set(wrong), fail
        self.ready = None
        self.replies = {}
        self.thread = None

    def local(self, port):
        return self.client.mappings[(port, "TCP")][1]

    def act(self):
        for port in self.ready["ports"]:
            if port in self.reach:
                self.replies[port] = send(self.local(port), "%s %s %d" % (_port_probe.LINE_PREFIX, self.ready["token"], port))
            elif port in self.wrong:
                self.replies[port] = send(self.local(port), "GET / HTTP/1.0")

    def __call__(self, path):
        if self.fail:
            raise self.fail
        if self.thread is None:
            with open(path, encoding="utf-8") as handle:
                self.ready = json.load(handle)
            self.thread = threading.Thread(target=self.act)
            self.thread.start()
            return True
        return self.thread.is_alive()


def run(client, ports, tmp_path, host=None, **kwargs):
    listeners = _port_probe.Listeners(TOKEN, address="127.0.0.1")
    host = host or ProbeHost(client)
    report = _port_probe.run_home(client, ports, str(tmp_path / "ready.json"), token=TOKEN, exists=host,
                                  listeners=listeners, **kwargs)
    return report, host


def by_port(report):
    return {e["port"]: e for e in report["ports"]}


def test_a_forwarded_port_reaches_the_home_the_others_are_blocked_and_no_mapping_stays(tmp_path):
    client = FakeUPnP()
    host = ProbeHost(client, reach=[8443], wrong=[443])
    report, _ = run(client, [80, 443, 8443], tmp_path, host=host)
    ports = by_port(report)
    assert ports[8443]["reached"] and ports[8443]["peer"] == "127.0.0.1" and ports[8443]["via"] == "temporary mapping"
    assert not ports[80]["reached"] and not ports[443]["reached"]
    assert ports[443]["sent"] == "GET / HTTP/1.0"
    assert host.replies[8443] == _port_probe.reply_for(TOKEN, 8443)
    assert host.replies[443] == ""  # a wrong line gets no answer
    # Each temporary mapping was short-leased, marked as the probe's, and removed again.
    adds = [c for c in client.writes() if c[0] == "add"]
    assert [(c[1], c[3], c[5], c[7]) for c in adds] == [(p, LAN, PROBE, 120) for p in (80, 443, 8443)]
    assert client.mappings == {} and report["added"] == [80, 443, 8443] and report["left"] == []
    # The listeners are closed.
    with pytest.raises(OSError):
        send(ports[8443]["local_port"], "x")


def test_the_reply_depends_on_token_and_port():
    assert _port_probe.reply_for(TOKEN, 443) != _port_probe.reply_for(TOKEN, 8443)
    assert _port_probe.reply_for(TOKEN, 443) != _port_probe.reply_for("b2" * 16, 443)
    assert TOKEN not in _port_probe.reply_for(TOKEN, 443)


def test_the_wrong_token_does_not_count(tmp_path):
    client = FakeUPnP()

    class OtherToken(ProbeHost):
        def act(self):
            self.replies[443] = send(self.local(443), "%s %s 443" % (_port_probe.LINE_PREFIX, "b2" * 16))
            self.replies[80] = send(self.local(80), "%s %s 443" % (_port_probe.LINE_PREFIX, TOKEN))  # another port's line

    report, host = run(client, [80, 443], tmp_path, host=OtherToken(client))
    assert not any(e["reached"] for e in report["ports"])
    assert host.replies == {443: "", 80: ""}


def test_a_port_mapped_to_another_host_is_not_touched(tmp_path):
    client = FakeUPnP(mappings={(80, "TCP"): (OTHER, 80, "their web server", True, 0)})
    report, _ = run(client, [80, 443], tmp_path, host=ProbeHost(FakeUPnP()))
    entry = by_port(report)[80]
    assert not entry["probed"] and entry["reason"] == "not probed: mapped to %s already (to its port 80)" % OTHER
    assert [c for c in client.writes() if c[1] == 80] == []
    assert client.mappings == {(80, "TCP"): (OTHER, 80, "their web server", True, 0)}
    verdict = _port_probe.verdict(report, [], probe_host="vps")
    assert {p["port"]: p["result"] for p in verdict["ports"]} == {80: "not_probed", 443: "blocked"}
    assert verdict["blocked_ports"] == [443]


def test_a_port_mapped_to_this_host_is_probed_through_that_mapping_when_its_port_is_free(tmp_path):
    internal = free_port()
    client = FakeUPnP(mappings={(8920, "TCP"): (LAN, internal, "Jellyfin HTTPS", True, 0)})
    report, _ = run(client, [8920], tmp_path, host=ProbeHost(client, reach=[8920]))
    entry = by_port(report)[8920]
    assert entry["reached"] and entry["via"] == "existing mapping" and entry["local_port"] == internal
    assert client.writes() == [] and report["added"] == []
    assert client.mappings[(8920, "TCP")] == (LAN, internal, "Jellyfin HTTPS", True, 0)


def test_a_port_mapped_to_this_host_where_something_listens_is_not_probed(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        internal = busy.getsockname()[1]
        client = FakeUPnP(mappings={(80, "TCP"): (LAN, internal, "Jellyfin", True, 0)})
        report, _ = run(client, [80], tmp_path)
    entry = by_port(report)[80]
    assert not entry["probed"] and "mapped to this host's port %d already, where something listens" % internal in entry["reason"]
    assert client.writes() == []


def test_a_probe_mapping_left_by_a_killed_run_is_replaced_and_removed(tmp_path):
    client = FakeUPnP(mappings={(443, "TCP"): (LAN, 40001, PROBE, True, 60)})
    report, _ = run(client, [443], tmp_path, host=ProbeHost(client, reach=[443]))
    assert by_port(report)[443]["reached"] and client.mappings == {}


def test_a_failure_midway_still_removes_every_mapping_and_closes_the_listeners(tmp_path):
    client = FakeUPnP()
    listeners = _port_probe.Listeners(TOKEN, address="127.0.0.1")
    with pytest.raises(RuntimeError):
        _port_probe.run_home(client, [80, 443], str(tmp_path / "ready.json"), token=TOKEN, listeners=listeners,
                             exists=ProbeHost(client, fail=RuntimeError("the play was interrupted")))
    assert client.mappings == {}
    assert [c[:2] for c in client.writes() if c[0] == "delete"] == [("delete", 80), ("delete", 443)]
    assert listeners.sockets and all(s.fileno() == -1 for s in listeners.sockets.values())


def test_a_mapping_the_router_does_not_remove_is_reported_left(tmp_path):
    client = FakeUPnP(delete_error="Action Failed")
    report, _ = run(client, [80], tmp_path)
    assert report["left"] == [80]
    verdict = _port_probe.verdict(report, [], probe_host="vps")
    assert verdict["left"] == [80] and any("still lists the probe's mapping of port(s) 80" in line for line in verdict["lines"])


def test_the_deadline_ends_the_wait_and_removes_the_ready_file(tmp_path):
    client = FakeUPnP()
    ticks = iter(range(0, 1000, 10))
    ready = tmp_path / "ready.json"
    report = _port_probe.run_home(client, [80], str(ready), token=TOKEN, deadline_seconds=30,
                                  clock=lambda: next(ticks), listeners=_port_probe.Listeners(TOKEN, address="127.0.0.1"))
    assert not ready.exists() and client.mappings == {} and not by_port(report)[80]["reached"]


def test_no_router_writes_the_error_for_the_preflight(tmp_path):
    client = FakeUPnP(devices=0)
    ready = tmp_path / "ready.json"
    report = _port_probe.run_home(client, [80], str(ready), token=TOKEN)
    assert report["error"].startswith("the router did not answer by UPnP")
    assert json.loads(ready.read_text())["ports"] == [] and oct(ready.stat().st_mode & 0o777) == "0o600"
    verdict = _port_probe.verdict(report, None, [443], probe_host="vps")
    assert not verdict["measured"] and verdict["blocked_ports"] == [443]
    assert verdict["lines"][0].startswith("Ports: not measured (the router did not answer by UPnP")


def test_a_router_that_refuses_the_temporary_mapping_leaves_the_port_unprobed(tmp_path):
    client = FakeUPnP(add_error="ConflictInMappingEntry")
    report, _ = run(client, [80], tmp_path)
    entry = by_port(report)[80]
    assert not entry["probed"] and entry["reason"].startswith("not probed: the router refused a temporary mapping")
    assert report["added"] == [] and client.mappings == {}


# -- verdict ---------------------------------------------------------------------------------------


def home(*entries):
    return {"ports": [dict({"probed": True, "via": "temporary mapping", "local_port": 40000 + e["port"], "reason": None,
                            "reached": False}, **e) for e in entries], "left": [], "error": None}


@pytest.mark.parametrize("tried, why", [
    ({"outcome": "timeout", "timeout": 3.0}, "no answer from vps within 3.0 s (dropped on the way: the ISP or the router)"),
    ({"outcome": "refused"}, "refused before reaching the home (tried from vps)"),
    ({"outcome": "connected", "reply_ok": False}, "something other than this home answered vps (the router or the ISP): "
                                                  "the home's listener never got the token"),
    ({"outcome": "error", "error": "Network is unreachable"}, "vps could not connect: Network is unreachable"),
    (None, "the probe host vps did not try it"),
])
def test_why_a_port_counts_as_blocked(tried, why):
    attempts = [dict(tried, port=443)] if tried else []
    verdict = _port_probe.verdict(home({"port": 443}), attempts, probe_host="vps")
    assert verdict["ports"] == [{"port": 443, "result": "blocked", "why": why}]
    assert verdict["lines"] == ["Port 443: BLOCKED - " + why]


def test_a_connection_that_an_isp_box_answers_is_blocked_even_with_a_reply():
    # Only the home's listener decides: a box that answers the probe host without the token reaching home.
    verdict = _port_probe.verdict(home({"port": 80}), [{"port": 80, "outcome": "connected", "reply_ok": True}])
    assert verdict["measured_blocked"] == [80]


def test_measured_blocked_ports_join_the_owners():
    verdict = _port_probe.verdict(home({"port": 80}, {"port": 443}, {"port": 8443, "reached": True}),
                                  [{"port": 80, "outcome": "timeout"}, {"port": 443, "outcome": "timeout"},
                                   {"port": 8443, "outcome": "connected", "reply_ok": True}], [8096], probe_host="vps")
    assert verdict["measured"] and verdict["measured_blocked"] == [80, 443]
    assert verdict["blocked_ports"] == [80, 443, 8096]
    assert "Port 8443: reaches the home - reached the home from vps (temporary mapping)" in verdict["lines"]


def test_an_owners_port_that_reaches_the_home_stays_blocked_with_a_note():
    verdict = _port_probe.verdict(home({"port": 443, "reached": True}), [], [443], probe_host="vps")
    assert verdict["blocked_ports"] == [443]
    assert any(line.startswith("Port 443: you list it as blocked, but the probe reached the home") for line in verdict["lines"])


def test_a_skipped_probe_keeps_the_owners_ports():
    verdict = _port_probe.verdict(None, None, [80], skipped="check mode: the probe adds temporary mappings on the router")
    assert not verdict["measured"] and verdict["blocked_ports"] == [80]
    assert verdict["lines"] == ["Ports: not measured (check mode: the probe adds temporary mappings on the router); "
                                "blocked ports are the owner's: 80"]


def test_the_advice_reads_measured_ports_as_it_reads_the_owners():
    facts = {"classification": "nat", "port_forwarding_possible": True, "ipv6_global": False}
    verdict = _port_probe.verdict(home({"port": 80}, {"port": 443}, {"port": 8443, "reached": True}), [])
    prefs = {"has_domain": True, "remote_users": 4}
    measured = _advice.rank_methods(facts, dict(prefs, blocked_ports=verdict["blocked_ports"]))
    typed = _advice.rank_methods(facts, dict(prefs, blocked_ports=[80, 443]))
    assert measured == typed
    proxy = next(m for m in measured if m["method"] == "reverse_proxy")
    assert any("DNS-01" in need for need in proxy["needs"]) and any("8443" in need for need in proxy["needs"])


# -- cleanup, candidates, when to probe --------------------------------------------------------------


def test_cleanup_removes_only_the_probes_mappings_to_this_host():
    client = FakeUPnP(mappings={(80, "TCP"): (LAN, 40080, PROBE, True, 100), (443, "TCP"): (LAN, 443, "Jellyfin", True, 0),
                                (8096, "TCP"): (OTHER, 40000, PROBE, True, 100)})
    result = _port_probe.cleanup(client, [80, 443, 8096, 8920])
    assert result == {"removed": [80], "left": [], "error": None}
    assert set(client.mappings) == {(443, "TCP"), (8096, "TCP")}


@pytest.mark.parametrize("ports, extra, expected", [
    ([80, 443, 8096, 8920], [8443], [80, 443, 8096, 8920, 8443]),
    ([443, "443", 80], [443], [443, 80]),
    ([], [], []),
])
def test_candidate_ports(ports, extra, expected):
    assert _port_probe.candidate_ports(ports, extra) == expected


@pytest.mark.parametrize("ports, extra, message", [
    ([0], [], "preflight_probe_ports: 0 is not a port number between 1 and 65535"),
    ([80], ["https"], "preflight_probe_extra_ports: 'https' is not a port number between 1 and 65535"),
    ("80", [], "preflight_probe_ports must be a list of TCP port numbers, got '80'"),
])
def test_bad_candidate_ports_name_the_option(ports, extra, message):
    with pytest.raises(_port_probe.ProbeError) as exc:
        _port_probe.candidate_ports(ports, extra)
    assert str(exc.value) == message


@pytest.mark.parametrize("public_ip, allowed, why", [
    ({"ipv4": "81.2.69.160", "port_forwarding_possible": True, "wan_source_used": "upnp"}, True, ""),
    ({"ipv4": "81.2.69.160", "port_forwarding_possible": False, "classification": "cgnat", "wan_source_used": "upnp"},
     False, "port forwarding is not possible here (cgnat)"),
    ({"ipv4": "81.2.69.160", "port_forwarding_possible": True, "wan_source_used": "value"},
     False, "the router did not answer by UPnP, so the probe cannot add its temporary mappings"),
    ({"ipv4": None}, False, "no public IPv4 address was found"),
])
def test_should_probe(public_ip, allowed, why):
    assert _port_probe.should_probe(public_ip) == (allowed, why)


def test_a_silent_connection_does_not_keep_the_others_waiting(tmp_path):
    client = FakeUPnP()

    class Slow(ProbeHost):
        def act(self):
            self.idle = socket.create_connection(("127.0.0.1", self.local(80)))
            self.replies[443] = send(self.local(443), "%s %s 443" % (_port_probe.LINE_PREFIX, TOKEN))

    host = Slow(client)
    report, _ = run(client, [80, 443], tmp_path, host=host)
    host.idle.close()
    assert by_port(report)[443]["reached"] and not by_port(report)[80]["reached"]
