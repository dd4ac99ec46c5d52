"""preflight on the CGNAT lab: the home router's WAN is in 100.64.0.0/10 behind a carrier NAT."""

from __future__ import annotations

import ipaddress
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "preflight_shared"))
from report import load_report  # noqa: E402

NO_OPEN_PORT = {"tailscale", "cloudflare_tunnel"}


@pytest.fixture(scope="module")
def report():
    return load_report()


def test_classified_cgnat(report):
    p = report["public_ip"]
    assert p["classification"] == "cgnat", p["explanation"]
    assert p["port_forwarding_possible"] is False


def test_router_reports_no_usable_wan_and_public_is_the_carrier(report, lab):
    # The lab router's WAN is in the carrier's shared address space; miniupnpd, like the
    # routers it runs on, then reports no external address by UPnP.
    assert ipaddress.ip_address(lab["hosts"]["router"]["addresses"]["cgn"]) in ipaddress.ip_network("100.64.0.0/10")
    p = report["public_ip"]
    assert (p["wan_address"], p["wan_source_used"]) == (None, "upnp")
    assert p["ipv4"] == lab["hosts"]["carrier"]["addresses"]["wan"]


def test_advice_needs_no_open_port(report):
    first = report["methods"][0]
    assert first["method"] in NO_OPEN_PORT and first["suitable"], first
    forward = next(m for m in report["methods"] if m["method"] == "port_forward")
    assert forward["suitable"] is False
