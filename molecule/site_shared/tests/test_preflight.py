"""The preflight playbook, run as an owner would on the default scenarios' labs: the NAT lab
(a home router with miniupnpd: classified nat, a port-opening method first) and the CGNAT lab
(the router behind a carrier NAT in 100.64.0.0/10: classified cgnat, no port-opening method).
"""

from __future__ import annotations

import ipaddress
import json
import os

import pytest

from conftest import REPO, playbook

PORT_OPENING = {"port_forward", "reverse_proxy", "wireguard"}
NO_OPEN_PORT = {"tailscale", "cloudflare_tunnel", "vps_relay"}  # the relay's ports are on the VPS


@pytest.fixture(scope="module")
def report():
    proc = playbook(os.path.join(REPO, "tests", "lab", "playbooks", "preflight.yml"), log="preflight.log")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "preflight", "server.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_every_lab_source_answered(report):
    sources = {s["name"]: s for s in report["public_ip"]["sources"]}
    assert set(sources) == {"opendns", "google", "echo-https"}
    assert all(s["accepted"] for s in sources.values()), sources


def test_cloudflare_never_first_and_warns_about_video(report):
    cf = next(m for m in report["methods"] if m["method"] == "cloudflare_tunnel")
    assert cf["rank"] > 1
    assert any("video" in r.lower() for r in cf["reasons"])


def test_jellyfin_is_reported(report):
    jellyfin = report["jellyfin"]
    assert jellyfin["checked"] is True and jellyfin["version"] == "10.11.10"
    assert jellyfin["startup_wizard_completed"] is True and jellyfin["before_exposure"] == []


def test_classification_and_advice_fit_the_lab(report, lab):
    p = report["public_ip"]
    first = report["methods"][0]
    if lab["topology"] == "nat":
        assert p["classification"] == "nat", p["explanation"]
        assert p["port_forwarding_possible"] is True
        router_wan = lab["hosts"]["router"]["addresses"]["wan"]
        assert (p["ipv4"], p["wan_address"], p["wan_source_used"]) == (router_wan, router_wan, "upnp")
        assert first["method"] in PORT_OPENING and first["suitable"], first
        assert {m["method"] for m in report["methods"]} == PORT_OPENING | NO_OPEN_PORT
    else:
        assert p["classification"] == "cgnat", p["explanation"]
        assert p["port_forwarding_possible"] is False
        # The lab router's WAN is in the carrier's shared address space. Routers then report
        # either no external address by UPnP (Debian 12's miniupnpd 2.3.3) or that shared
        # address itself (Debian 13's miniupnpd, where default_cgnat runs): both mean CGNAT.
        cgn = lab["hosts"]["router"]["addresses"]["cgn"]
        assert ipaddress.ip_address(cgn) in ipaddress.ip_network("100.64.0.0/10")
        assert p["wan_source_used"] == "upnp" and p["wan_address"] in (None, cgn), p
        assert p["ipv4"] == lab["hosts"]["carrier"]["addresses"]["wan"]
        assert first["method"] in NO_OPEN_PORT and first["suitable"], first
        assert next(m for m in report["methods"] if m["method"] == "port_forward")["suitable"] is False
