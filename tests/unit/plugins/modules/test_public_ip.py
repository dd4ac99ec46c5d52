from __future__ import annotations

import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from ansible.module_utils import basic

from harness import run_module
from standins.network import DnsStandIn, HttpEcho
from ansible_collections.homelab.jellyfin_remote.plugins.modules import public_ip
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _addresses, _ssdp

V4 = "203.0.113.7"
V6 = "2001:db8::7"
LAB = ["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]
COLLECTIONS = os.environ["JFR_COLLECTIONS_ROOT"]  # set by tests/unit/conftest.py
# What every run returns (RETURN documents these and more).
RESULT_KEYS = {
    "ipv4",
    "ipv6",
    "ipv6_global",
    "ipv6_host_addresses",
    "wan_address",
    "wan_source_used",
    "classification",
    "port_forwarding_possible",
    "explanation",
    "sources",
    "disagreement",
    "elapsed_ms",
}


@pytest.fixture
def lab():
    """Loopback stand-ins: DNS answering A/AAAA, an HTTP echo; options pointing at them only."""
    dns = DnsStandIn({("myip.test", "A"): [V4], ("myip.test", "AAAA"): [V6]})
    echo = HttpEcho(V4)
    options = {
        "dns_sources": [
            {"name": "lab_a", "server": "127.0.0.1", "port": dns.port, "query": "myip.test", "rdtype": "A"},
            {"name": "lab_aaaa", "server": "127.0.0.1", "port": dns.port, "query": "myip.test", "rdtype": "AAAA"},
        ],
        "http_sources": [{"name": "lab_echo", "url": echo.url, "family": 4}],
        "allow_ranges": LAB,
        "timeout": 5,
    }
    yield options
    dns.close()
    echo.close()


def run(args):
    kind, result, _warnings = run_module(public_ip.main, args)
    assert kind == "exit", result
    return result


def fail(args):
    kind, result, _warnings = run_module(public_ip.main, args)
    assert kind == "fail", result
    return result["msg"]


def fake_ip_command(payload, rc=0):
    """Patch get_bin_path/run_command so `ip -j addr` returns payload (no real command)."""
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(args)
        return rc, json.dumps(payload) if rc == 0 else "", "" if rc == 0 else 'Object "addr" is unknown'

    patches = (
        mock.patch.object(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/sbin/" + name),
        mock.patch.object(basic.AnsibleModule, "run_command", run_command),
    )
    return patches, calls


def links(*pairs):
    return [
        {"ifname": name, "addr_info": [{"family": "inet6" if ":" in a else "inet", "local": a}]} for name, a in pairs
    ]


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


def test_nat_with_given_wan_address(lab):
    result = run(dict(lab, wan_source="value", wan_address=V4))
    assert result["changed"] is False
    assert (result["ipv4"], result["ipv6"], result["ipv6_global"]) == (V4, V6, True), result["sources"]
    assert (result["classification"], result["port_forwarding_possible"]) == ("nat", True)
    assert (result["wan_address"], result["wan_source_used"]) == (V4, "value")
    assert result["disagreement"] == {"ipv4": [], "ipv6": []}
    assert result["dns_client"] in ("dnspython", "builtin")
    assert isinstance(result["elapsed_ms"], int) and isinstance(result["explanation"], str)
    assert {s["name"] for s in result["sources"]} == {"lab_a", "lab_aaaa", "lab_echo"}
    assert set(result) >= RESULT_KEYS


def test_check_mode_gives_the_same_result(lab):
    args = dict(lab, wan_source="value", wan_address="100.72.14.9")
    normal = run(args)
    checked = run(dict(args, _ansible_check_mode=True))

    def stable(result):
        # Which sources answer before a family settles is a race by design (the first
        # agreeing answers win), so the sources are compared by what they said, not by
        # which of them were in time: every accepted answer names the settled address.
        result = dict(result)
        result.pop("elapsed_ms")
        sources = result.pop("sources")
        settled = {result["ipv4"], result["ipv6"]}
        assert sources and all(s["answer"] in settled for s in sources if s["accepted"]), sources
        return result

    assert checked["changed"] is False
    assert stable(checked) == stable(normal)
    assert normal["classification"] == "cgnat"


@pytest.mark.parametrize(
    "wan, classification, forwarding, words",
    [
        (V4, "nat", True, "port forward"),
        ("100.72.14.9", "cgnat", False, "100.64.0.0/10"),
        ("198.51.100.200", "cgnat", False, "differs"),
        ("192.168.178.2", "double_nat", False, "both routers"),
    ],
)
def test_classifications_from_a_wan_value(lab, wan, classification, forwarding, words):
    result = run(dict(lab, wan_source="value", wan_address=wan))
    assert (result["classification"], result["port_forwarding_possible"]) == (classification, forwarding)
    assert words in result["explanation"]
    # The advice the port_forward role shows: the explanation, then the ways in without an open port.
    if forwarding:
        assert result["port_forwarding_advice"] is None
    else:
        advice = result["port_forwarding_advice"]
        explanation = result["explanation"].rstrip(".")
        assert advice.startswith("Port forwarding is impossible here (CGNAT or double NAT): " + explanation[:1].lower() + explanation[1:] + ". ")
        assert advice.endswith(_addresses.WAYS_WITHOUT_FORWARDING)


def test_wan_source_none_is_unknown(lab):
    result = run(dict(lab, wan_source="none"))
    assert (result["classification"], result["port_forwarding_possible"], result["wan_address"]) == (
        "unknown",
        None,
        None,
    )


def test_offline_never_fails():
    dead = DnsStandIn()
    dead.close()  # nothing listens on that port any more
    args = {
        "dns_sources": [
            {"name": "dead", "server": "127.0.0.1", "port": dead.port, "query": "myip.test", "rdtype": "A"}
        ],
        "http_sources": [{"name": "dead_http", "url": "http://127.0.0.1:%d/" % dead.port}],
        "wan_source": "none",
        "timeout": 1,
    }
    result = run(args)
    assert (result["classification"], result["port_forwarding_possible"]) == ("offline", None)
    assert (result["ipv4"], result["ipv6"]) == (None, None)
    assert all(s["error"] and not s["accepted"] for s in result["sources"])


def test_public_when_an_interface_holds_the_address(lab):
    patches, calls = fake_ip_command(links(("tailscale0", "100.101.1.2"), ("eth0", V4)))
    with patches[0], patches[1]:
        result = run(dict(lab, wan_source="interfaces"))
    assert calls == [["/sbin/ip", "-j", "addr", "show"]]
    assert (result["classification"], result["wan_source_used"], result["wan_address"]) == ("public", "interfaces", V4)
    assert result["port_forwarding_possible"] is True


def test_global_ipv6_on_the_host_strict_and_in_a_lab(lab):
    """Only 2000::/3 counts (not a ULA, link-local or documentation address), unless a lab's
    allow_ranges names the prefix: the lab-only way a ULA stands in for an ISP's prefix."""
    payload = links(("eth0", "192.168.1.10"), ("eth0", "fe80::1"), ("eth0", "fd6a:6672:1ab0::2"),
                    ("eth0", "2a02:8070:1234:5600::10"), ("wg0", "fd00:13::1"))
    patches, _calls = fake_ip_command(payload)
    strict = dict(lab, ip_versions=[4], allow_ranges=[r for r in lab["allow_ranges"] if ":" not in r])
    with patches[0], patches[1]:
        result = run(dict(strict, wan_source="auto"))
    assert (result["ipv6_global"], result["ipv6_host_addresses"]) == (True, ["2a02:8070:1234:5600::10"])
    patches, _calls = fake_ip_command(links(("eth0", "192.168.1.10"), ("eth0", "fd6a:6672:1ab0::2")))
    with patches[0], patches[1]:
        result = run(dict(strict, wan_source="auto"))
    assert (result["ipv6_global"], result["ipv6_host_addresses"]) == (False, [])
    with patches[0], patches[1]:
        result = run(dict(strict, wan_source="auto", allow_ranges=strict["allow_ranges"] + ["fd6a:6672:1ab0::/64"]))
    assert (result["ipv6_global"], result["ipv6_host_addresses"]) == (True, ["fd6a:6672:1ab0::2"])


def test_tailscale_address_is_not_cgnat(lab):
    """The pitfall: 100.64/10 on tailscale0 and CloudflareWARP must never read as CGNAT."""
    payload = links(("tailscale0", "100.101.1.2"), ("CloudflareWARP", "100.96.0.2"), ("eth0", "192.168.1.10"))
    patches, _calls = fake_ip_command(payload)
    with patches[0], patches[1]:
        result = run(dict(lab, wan_source="auto"))
    assert result["classification"] == "unknown"
    assert result["wan_address"] is None
    assert "UPnP skipped: the miniupnpc Python library is not installed" in result["notes"]


def test_auto_uses_upnp_when_miniupnpc_is_there(lab, monkeypatch):
    class UPnP:
        discoverdelay = 0

        def discover(self):
            return 1

        def selectigd(self, location=None):
            asked.append(location)
            return "http://192.168.1.1:5000/ctl"

        def externalipaddress(self):
            return "100.72.14.9"

    asked = []
    monkeypatch.setitem(sys.modules, "miniupnpc", type(sys)("miniupnpc"))
    sys.modules["miniupnpc"].UPnP = UPnP
    # The SSDP search's answer: the router's description, read without miniupnpc's discovery.
    monkeypatch.setattr(_ssdp, "find_igd", lambda timeout: "http://192.168.1.1:5000/rootDesc.xml")
    patches, _calls = fake_ip_command(links(("eth0", "192.168.1.10")))
    with patches[0], patches[1]:
        result = run(dict(lab, wan_source="auto"))
    assert (result["classification"], result["wan_source_used"]) == ("cgnat", "upnp")
    assert result["notes"] == []
    assert asked == ["http://192.168.1.1:5000/rootDesc.xml"]


def test_upnp_without_miniupnpc_fails_with_missing_lib(lab):
    msg = fail(dict(lab, wan_source="upnp"))
    assert "miniupnpc" in msg and "wan_source=upnp" in msg


def test_interfaces_without_ip_command(lab):
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", lambda self, *a, **k: None):
        msg = fail(dict(lab, wan_source="interfaces"))
        assert "wan_source=interfaces needs the ip command" in msg
        result = run(dict(lab, wan_source="auto"))
    assert "interfaces skipped: the ip command (iproute2) is not installed" in result["notes"]


def test_interfaces_with_failing_ip_command(lab):
    patches, _calls = fake_ip_command(None, rc=255)
    with patches[0], patches[1]:
        msg = fail(dict(lab, wan_source="interfaces"))
        result = run(dict(lab, wan_source="auto"))
    assert msg.startswith("wan_source=interfaces: `ip -j addr show` failed (rc=255)")
    assert any(n.startswith("interfaces skipped: `ip -j addr show` failed") for n in result["notes"])


def test_ip_versions_and_min_agreement(lab):
    result = run(dict(lab, ip_versions=[4], min_agreement=2, wan_source="none"))
    assert (result["ipv4"], result["ipv6"]) == (V4, None)
    assert {s["name"] for s in result["sources"]} == {"lab_a", "lab_echo"}
    assert all(s["accepted"] for s in result["sources"])


def test_extra_http_urls_and_empty_lists(lab):
    echo = HttpEcho(V6)
    try:
        result = run(dict(lab, dns_sources=[], http_sources=[], extra_http_urls=[echo.url], wan_source="none"))
    finally:
        echo.close()
    assert (result["ipv4"], result["ipv6"]) == (None, V6)
    assert [(s["name"], s["family"]) for s in result["sources"]] == [("extra1", 6)]


def test_without_allow_ranges_lab_answers_are_rejected(lab):
    result = run(dict(lab, allow_ranges=[], wan_source="none"))
    assert result["classification"] == "offline"
    assert all(s["error"].startswith("rejected: documentation address") for s in result["sources"] if s["error"])


def test_defaults_point_at_public_services_and_the_guard_catches_them(loopback_only):
    """With no source options the module asks the internet; in tests the guard refuses that."""
    result = run({"wan_source": "none", "timeout": 1})
    assert result["classification"] == "offline"
    assert loopback_only.violations
    assert all("test network guard" in s["error"] for s in result["sources"])
    loopback_only.violations.clear()


# --------------------------------------------------------------------------------------
# bad options: the message names the option
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        ({"timeout": 0}, "timeout must be more than 0 seconds, got 0.0"),
        ({"timeout": -2}, "timeout must be more than 0 seconds"),
        ({"min_agreement": 0}, "min_agreement must be 1 or more, got 0"),
        ({"ip_versions": []}, "ip_versions is empty"),
        ({"ip_versions": [5]}, "ip_versions"),
        ({"allow_ranges": ["lab"]}, "allow_ranges: 'lab' is not a CIDR range"),
        ({"wan_source": "value"}, "wan_address"),
        ({"wan_source": "value", "wan_address": "router.lan"}, "wan_address 'router.lan' is not an IPv4 address"),
        ({"wan_source": "value", "wan_address": "2001:db8::1"}, "is not an IPv4 address"),
        ({"wan_source": "auto", "wan_address": "100.72.1.1"}, "wan_address is only used with wan_source=value"),
        ({"wan_source": "router"}, "wan_source"),
        (
            {"dns_sources": [{"name": "g", "server": "ns1.google.com", "query": "q", "rdtype": "TXT"}]},
            "dns_sources: DNS source 'g': server 'ns1.google.com' is not an IP address",
        ),
        ({"dns_sources": [{"name": "g", "server": "127.0.0.1", "query": "q", "rdtype": "MX"}]}, "rdtype"),
        ({"http_sources": [{"name": "h", "url": "ftp://127.0.0.1/"}]}, "http_sources/extra_http_urls: HTTP source 'h'"),
        ({"extra_http_urls": ["127.0.0.1"]}, "url '127.0.0.1' must start with https:// or http://"),
        (
            {
                "dns_sources": [{"name": "same", "server": "127.0.0.1", "query": "q", "rdtype": "A"}],
                "http_sources": [{"name": "same", "url": "http://127.0.0.1/"}],
            },
            "source name 'same' is used in both dns_sources and http_sources",
        ),
        ({"bogus": 1}, "bogus"),
        ({}, "no source to ask: dns_sources, http_sources and extra_http_urls give none for ip_versions [4, 6]"),
        (
            {"ip_versions": [6], "http_sources": [{"name": "v4", "url": "http://127.0.0.1/", "family": 4}]},
            "give none for ip_versions [6]",
        ),
    ],
)
def test_bad_options_name_the_option(args, words):
    args = dict({"dns_sources": [], "http_sources": [], "wan_source": "none"}, **args)
    msg = fail(args)
    assert words in msg


# --------------------------------------------------------------------------------------
# documentation agrees with the argument spec
# --------------------------------------------------------------------------------------


def _ansible_doc(tmp_path):
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    if not os.path.exists(binary):
        pytest.skip("ansible-doc is not installed next to %s" % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOME=str(tmp_path), ANSIBLE_NOCOLOR="1")
    done = subprocess.run(
        [binary, "--json", "homelab.jellyfin_remote.public_ip"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["homelab.jellyfin_remote.public_ip"]


def _compare(spec, documented, where):
    assert set(spec) == set(documented), where
    for name, option in spec.items():
        doc = documented[name]
        assert option.get("type", "str") == doc.get("type", "str"), (where, name)
        assert option.get("default") == doc.get("default"), (where, name)
        assert option.get("choices") == doc.get("choices"), (where, name)
        assert bool(option.get("required")) == bool(doc.get("required")), (where, name)
        assert option.get("elements") == doc.get("elements"), (where, name)
        if "options" in option:
            _compare(option["options"], doc["suboptions"], "%s.%s" % (where, name))


def test_documentation_matches_argument_spec(tmp_path):
    doc = _ansible_doc(tmp_path)
    _compare(public_ip.argument_spec(), doc["doc"]["options"], "options")
    assert doc["doc"]["attributes"]["check_mode"]["support"] == "full"
    returned = set(doc["return"])
    assert returned >= RESULT_KEYS | {"dns_client", "notes", "port_forwarding_advice"}
