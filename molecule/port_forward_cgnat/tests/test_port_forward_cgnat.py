"""port_forward on the CGNAT lab, first stage: with only a ULA for IPv6 (not global under the
strict check) it stops at the first check and changes nothing. What the host held right after
that stage is in the saved traces; the second stage (test_ipv6.py) sets things up since."""

from __future__ import annotations

import json
import os
import subprocess

import pytest


@pytest.fixture(scope="module")
def failure():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "cgnat_failure.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_stopped_at_the_cgnat_check(failure):
    assert failure["task"] == "Stop when port forwarding cannot work here (CGNAT or double NAT)"


def test_message_says_why_and_what_works_instead(failure):
    msg = failure["msg"]
    assert msg.startswith("Port forwarding is impossible here (CGNAT or double NAT): ")
    for way in ("tailscale", "cloudflare_tunnel", "VPS"):
        assert way in msg


def test_nothing_left_behind_by_the_first_stage(failure):
    # nftables tables of the collection, its files (ddclient.conf, the nft file, the renewal
    # timer, /etc/jellyfin-remote), and the router's IPv4 mapping of 8096.
    assert failure["traces"] == ["0", "0", "None"]


def test_the_server_had_ipv6_but_only_a_ula(lab):
    address = lab["hosts"]["server"]["addresses6"]["lan"]
    assert address.startswith("fd"), address


def test_no_ddclient(server):
    # Not after the second stage either: over IPv6 only ddclient (IPv4 only for dyndns2) is not used.
    assert not server.file("/etc/ddclient.conf").exists
    assert not server.package("ddclient").is_installed


def test_no_ipv4_renewal_timer(server):
    assert not server.file("/etc/systemd/system/jellyfin-remote-upnp-renew.timer").exists


def test_no_mapping_on_the_router(lab):
    router = lab["hosts"]["router"]["container"]
    out = subprocess.run(["podman", "exec", router, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd"],
                         capture_output=True, text=True, check=True).stdout
    assert "dnat" not in out, out
