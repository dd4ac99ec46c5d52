# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 22: the vps_relay role's WireGuard configuration (roles/vps_relay/templates/wg.conf.j2),
both sides, rendered by ansible-core's own templating with the plan the role computes."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._vps_relay import plan

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "vps_relay")
KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="


def render(side, **over):
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        variables = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        # The role's paths are built from other variables: templated as the role's would be.
        variables.update({k: trust_as_template(v) if isinstance(v, str) else v
                          for k, v in yaml.safe_load(handle).items()})
    variables.update({"ansible_managed": "Ansible managed", "__vps_relay_side": side,
                      "__vps_relay_plan": plan(variables["vps_relay_network"]), "__vps_relay_peer_key": KEY,
                      "vps_relay_endpoint_host": "relay.example.org"})
    variables.update(over)
    templar = Templar(loader=DataLoader(), variables=variables)
    with open(os.path.join(ROLE, "templates", "wg.conf.j2"), encoding="utf-8") as handle:
        text = templar.template(trust_as_template(handle.read()))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("side", ["home", "relay"])
def test_no_private_key_in_the_file_it_is_loaded_from_its_own(side):
    lines = render(side)
    assert not [line for line in lines if line.startswith("PrivateKey")]
    assert "PostUp = wg set %i private-key /etc/wireguard/wg-relay.key" in lines
    assert "PostUp = nft -f /etc/wireguard/wg-relay.nft" in lines
    assert "PostDown = nft delete table inet jellyfin_remote_vps_relay || true" in lines
    assert "PublicKey = %s" % KEY in lines and "MTU = 1420" in lines


def test_home_routes_only_the_relay_and_keeps_the_mapping_open():
    lines = render("home")
    assert "Address = 10.87.0.2/30" in lines
    assert "AllowedIPs = 10.87.0.1/32" in lines
    assert [line for line in lines if line.startswith("AllowedIPs")] == ["AllowedIPs = 10.87.0.1/32"]
    assert "Endpoint = relay.example.org:51820" in lines and "PersistentKeepalive = 25" in lines
    assert not [line for line in lines if line.startswith("ListenPort")]  # nothing listens for the internet


def test_relay_listens_and_takes_only_the_home():
    lines = render("relay", vps_relay_listen_port=51999)
    assert "Address = 10.87.0.1/30" in lines and "ListenPort = 51999" in lines
    assert [line for line in lines if line.startswith("AllowedIPs")] == ["AllowedIPs = 10.87.0.2/32"]
    assert not [line for line in lines if line.startswith(("Endpoint", "PersistentKeepalive"))]
    # The home's last endpoint is kept across a restart of the relay and set again at start.
    assert "PreDown = wg show %i endpoints > /etc/wireguard/wg-relay.endpoint || true" in lines
    assert [line for line in lines if line.startswith("PostUp = read -r key endpoint < /etc/wireguard/wg-relay.endpoint")]


def test_the_mtu_and_range_options_reach_the_file():
    lines = render("home", vps_relay_mtu=1280, __vps_relay_plan=plan("10.99.0.0/29"))
    assert "MTU = 1280" in lines and "Address = 10.99.0.2/29" in lines and "AllowedIPs = 10.99.0.1/32" in lines
