"""preflight on the NAT lab: a home router with a public WAN address and UPnP."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "preflight_shared"))
from report import load_report  # noqa: E402

PORT_OPENING = {"port_forward", "reverse_proxy", "wireguard"}


@pytest.fixture(scope="module")
def report():
    return load_report()


def test_classified_nat(report, lab):
    p = report["public_ip"]
    assert p["classification"] == "nat", p["explanation"]
    assert p["port_forwarding_possible"] is True


def test_public_address_is_the_router_wan(report, lab):
    router_wan = lab["hosts"]["router"]["addresses"]["wan"]
    assert report["public_ip"]["ipv4"] == router_wan
    assert report["public_ip"]["wan_address"] == router_wan
    assert report["public_ip"]["wan_source_used"] == "upnp"


def test_every_lab_source_answered(report):
    sources = {s["name"]: s for s in report["public_ip"]["sources"]}
    assert set(sources) == {"opendns", "google", "echo-https"}
    assert all(s["accepted"] for s in sources.values()), sources


def test_advice_opens_a_port(report):
    first = report["methods"][0]
    assert first["method"] in PORT_OPENING and first["suitable"], first
    assert {m["method"] for m in report["methods"]} == PORT_OPENING | {"tailscale", "cloudflare_tunnel"}


def test_cloudflare_never_first_and_warns_about_video(report):
    cf = next(m for m in report["methods"] if m["method"] == "cloudflare_tunnel")
    assert cf["rank"] > 1
    assert any("video" in r.lower() for r in cf["reasons"])
