# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port_forward role's lan_facts.py: which interface, static or DHCP, and ufw.

`ip -j` answers with the JSON iproute2 prints (captured from Debian 12's ip 6.1 shapes);
the network configuration it searches (/etc/systemd/network, /etc/network/interfaces,
NetworkManager profiles) is a tree under the test's temp directory.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess

import pytest

from harness import load_script

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
lan_facts = load_script(os.path.join(REPO, "roles", "port_forward", "files", "lan_facts.py"), "lan_facts")

FOREVER = 4294967295
ROUTE = [{"dst": "default", "gateway": "192.168.1.1", "dev": "enp1s0", "protocol": "dhcp", "flags": []}]


def _links(valid=FOREVER, dynamic=False):
    info = {"family": "inet", "local": "192.168.1.20", "prefixlen": 24, "scope": "global", "valid_life_time": valid}
    if dynamic:
        info["dynamic"] = True
    return [
        {"ifindex": 1, "ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "valid_life_time": FOREVER}]},
        {"ifindex": 2, "ifname": "enp1s0", "addr_info": [info]},
    ]


@pytest.fixture
def host(tmp_path, monkeypatch):
    """ip answers from state["links"]/["route"]; /etc and /usr/sbin/ufw live under tmp_path."""
    state = {"links": _links(), "route": ROUTE, "ufw": None, "nft": {"nftables": []}, "calls": []}
    real_read, real_glob, real_exists = lan_facts._read, lan_facts.glob.glob, os.path.exists

    def run(argv, **kwargs):
        state["calls"].append(argv)
        if argv[0] == "ip":
            if state["links"] is None:
                raise FileNotFoundError(2, "No such file or directory: 'ip'")
            payload = state["route"] if "route" in argv else state["links"]
            return subprocess.CompletedProcess(argv, 0, json.dumps(payload), "")
        if argv[1:] == ["status", "verbose"]:
            return subprocess.CompletedProcess(argv, 0, state["ufw"], "")
        if argv == ["nft", "-j", "list", "ruleset"]:
            return subprocess.CompletedProcess(argv, 0, json.dumps(state["nft"]), "")
        raise AssertionError("unexpected command %r" % (argv,))

    monkeypatch.setattr(lan_facts.subprocess, "run", run)
    monkeypatch.setattr(lan_facts, "_read", lambda path: real_read(str(tmp_path) + path))
    monkeypatch.setattr(lan_facts.glob, "glob", lambda pattern: [p[len(str(tmp_path)):] for p in real_glob(str(tmp_path) + pattern)])
    monkeypatch.setattr(lan_facts.os.path, "exists",
                        lambda path: state["ufw"] is not None if path == "/usr/sbin/ufw" else real_exists(path))
    state["root"] = tmp_path
    return state


def write(host, path, text):
    full = host["root"] / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)


def facts(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert lan_facts.main(["lan_facts.py", *argv]) == 0
    return json.loads(out.getvalue())


def test_default_route_address_with_a_lease_is_dhcp(host):
    host["links"] = _links(valid=86000, dynamic=True)
    got = facts()
    assert (got["address"], got["interface"], got["static"], got["source"]) == ("192.168.1.20", "enp1s0", False, "dhcp")
    assert got["detail"] == "192.168.1.20 on enp1s0 has a DHCP lease (lifetime 86000s)"
    assert got["ufw_active"] is False


def test_networkd_static_with_a_name_pattern(host):
    write(host, "/etc/systemd/network/10-lan.network", "[Match]\nName=enp* eth0\n\n[Network]\nAddress=192.168.1.20/24\n")
    got = facts("192.168.1.20")
    assert (got["static"], got["source"]) == (True, "networkd")
    assert "systemd-networkd (/etc/systemd/network/10-lan.network) sets it statically" == got["detail"]


def test_networkd_dhcp_file_for_another_interface_is_skipped(host):
    write(host, "/etc/systemd/network/10-wlan.network", "[Match]\nName=wl*\n[Network]\nDHCP=yes\n")
    write(host, "/run/systemd/network/20-lan.network", "[Match]\nName=enp1s0\n[Network]\nDHCP=ipv4\n")
    got = facts("192.168.1.20")
    assert (got["static"], got["source"]) == (False, "networkd")
    assert "/run/systemd/network/20-lan.network" in got["detail"] and "DHCP" in got["detail"]


@pytest.mark.parametrize("method,static", [("static", True), ("dhcp", False)])
def test_ifupdown(host, method, static):
    write(host, "/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    write(host, "/etc/network/interfaces.d/enp1s0", "auto enp1s0\niface enp1s0 inet %s\n" % method)
    got = facts("192.168.1.20")
    assert (got["static"], got["source"]) == (static, "ifupdown")
    assert "/etc/network/interfaces.d/enp1s0" in got["detail"]


@pytest.mark.parametrize("method,static", [("manual", True), ("auto", False)])
def test_networkmanager(host, method, static):
    write(host, "/etc/NetworkManager/system-connections/lan.nmconnection",
          "[connection]\nid=lan\ninterface-name=enp1s0\n\n[ipv6]\nmethod=auto\n\n[ipv4]\nmethod=%s\n" % method)
    got = facts("192.168.1.20")
    assert (got["static"], got["source"]) == (static, "networkmanager")


def test_no_configuration_names_it(host):
    got = facts("192.168.1.20")
    assert (got["static"], got["source"]) == (None, "external")
    assert "no networkd, ifupdown or NetworkManager configuration names enp1s0" in got["detail"]


def test_address_held_by_no_interface(host):
    got = facts("192.168.1.99")
    assert (got["interface"], got["static"], got["source"]) == (None, None, "unknown")
    assert got["detail"] == "no interface of this host holds 192.168.1.99"


def test_without_ip_it_still_answers(host):
    host["links"] = None
    got = facts()
    assert got["address"] is None and got["interface"] is None and got["source"] == "unknown"


@pytest.mark.parametrize("status,active,default", [
    ("Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n", True, "deny"),
    ("Status: active\nDefault: allow (incoming), allow (outgoing), disabled (routed)\n", True, "allow"),
    ("Status: inactive\n", False, None)])
def test_ufw(host, status, active, default):
    host["ufw"] = status
    got = facts("192.168.1.20")
    assert (got["ufw_active"], got["ufw_default_incoming"]) == (active, default)
    assert ["/usr/sbin/ufw", "status", "verbose"] in host["calls"]


def _chain(table, name="input", hook="input", policy="drop", family="inet"):
    return {"chain": {"family": family, "table": table, "name": name, "hook": hook, "policy": policy,
                      "type": "filter", "prio": 0}}


def _rule(table, expr, chain="input", family="inet"):
    return {"rule": {"family": family, "table": table, "chain": chain, "expr": expr}}


def _dport(proto, right):
    return {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "dport"}}, "right": right}}


def test_a_drop_policy_in_another_table_blocks_the_ports_it_does_not_accept(host):
    """nft -j shapes of Debian 12's nft 1.0.6: a number, a set and a range on the right."""
    host["nft"] = {"nftables": [
        {"metainfo": {"json_schema_version": 1}},
        _chain("filter"),
        _rule("filter", [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established"]}},
                         {"accept": None}]),
        _rule("filter", [_dport("tcp", 22), {"accept": None}]),
        _rule("filter", [_dport("tcp", {"set": [443, {"range": [8000, 8099]}]}), {"accept": None}]),
        _rule("filter", [_dport("tcp", 9999), {"drop": None}]),  # not an accept
        _chain("jellyfin_remote_port_forward", policy="accept"),
        _chain("docker", hook="forward"),  # forward hook: not in the way of input
        _chain("jellyfin_remote_port_forward_old", policy="drop"),  # own table: never reported
    ]}
    got = facts("192.168.1.20", "--own-table", "jellyfin_remote_port_forward_old",
                "--ports", "tcp/8096,tcp/443,tcp/9999,udp/51820")
    assert got["blocked"] == {"tcp/8096": [], "tcp/443": [], "tcp/9999": ["inet filter input"],
                              "udp/51820": ["inet filter input"]}
    assert [c["table"] for c in got["input_drop_chains"]] == ["filter"]


def test_no_drop_policy_blocks_nothing(host):
    host["nft"] = {"nftables": [_chain("filter", policy="accept")]}
    assert facts("192.168.1.20", "--ports", "tcp/8096")["blocked"] == {"tcp/8096": []}


def test_without_nft_nothing_is_reported_blocked(host):
    host["nft"] = "not json"
    got = facts("192.168.1.20", "--ports", "tcp/8096")
    assert got["input_drop_chains"] == [] and got["blocked"] == {"tcp/8096": []}
