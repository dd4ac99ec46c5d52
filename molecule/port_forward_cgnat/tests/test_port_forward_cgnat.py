"""port_forward on the CGNAT lab: it stops at the first check and changes nothing."""

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


def test_no_firewall_table(server):
    assert "jellyfin_remote" not in server.check_output("nft list tables")
    assert not server.file("/etc/nftables.d/jellyfin-remote-port-forward.nft").exists


def test_no_ddclient(server):
    assert not server.file("/etc/ddclient.conf").exists
    assert not server.package("ddclient").is_installed


def test_no_renewal_timer(server):
    assert not server.file("/etc/systemd/system/jellyfin-remote-upnp-renew.timer").exists


def test_no_mapping_on_the_router(lab):
    router = lab["hosts"]["router"]["container"]
    out = subprocess.run(["podman", "exec", router, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd"],
                         capture_output=True, text=True, check=True).stdout
    assert "dnat" not in out, out
