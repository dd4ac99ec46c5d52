"""port_forward_upnp_mappings and port_forward_manual_instructions: registered, delegate to _upnp,
name themselves on bad input."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter.port_forward_upnp_mappings import (
    FilterModule,
    port_forward_manual_instructions,
    port_forward_upnp_mappings,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upnp


def test_filter_is_registered():
    assert FilterModule().filters() == {"port_forward_upnp_mappings": port_forward_upnp_mappings,
                                        "port_forward_manual_instructions": port_forward_manual_instructions}


def test_filter_plans():
    plan = port_forward_upnp_mappings([{"port": 8096, "protocol": "tcp"}],
                                      [{"external_port": 8920, "protocol": "TCP", "internal_client": "192.168.1.20"}], 600)
    assert [(m["external_port"], m["state"]) for m in plan] == [(8920, "absent"), (8096, "present")]


def test_filter_bad_input_names_the_filter():
    with pytest.raises(AnsibleFilterError, match="^port_forward_upnp_mappings: "):
        port_forward_upnp_mappings([{"protocol": "tcp"}])


def test_manual_instructions_are_upnp_port_mappings_words():
    lines = port_forward_manual_instructions([{"port": 8096}, {"port": 51820, "protocol": "udp", "internal_port": 51821}],
                                             "192.168.1.20")
    assert lines == [_upnp.manual_instructions("TCP", 8096, "192.168.1.20", 8096),
                     _upnp.manual_instructions("UDP", 51820, "192.168.1.20", 51821)]
    assert "protocol UDP, external port 51820, internal address 192.168.1.20, internal port 51821" in lines[1]
    # Without a LAN address the sentence says whose address it is.
    assert "internal address this server's LAN address" in port_forward_manual_instructions([{"port": 8096}], "")[0]


def test_manual_instructions_bad_input_names_the_filter():
    with pytest.raises(AnsibleFilterError, match="^port_forward_manual_instructions: "):
        port_forward_manual_instructions([{"protocol": "tcp"}])
