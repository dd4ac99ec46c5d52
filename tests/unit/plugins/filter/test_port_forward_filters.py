"""port_forward_upnp_mappings: registered, delegates to _upnp.plan_mappings, names itself on bad input."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter.port_forward_upnp_mappings import (
    FilterModule,
    port_forward_upnp_mappings,
)


def test_filter_is_registered():
    assert FilterModule().filters() == {"port_forward_upnp_mappings": port_forward_upnp_mappings}


def test_filter_plans():
    plan = port_forward_upnp_mappings([{"port": 8096, "protocol": "tcp"}],
                                      [{"external_port": 8920, "protocol": "TCP", "internal_client": "192.168.1.20"}], 600)
    assert [(m["external_port"], m["state"]) for m in plan] == [(8920, "absent"), (8096, "present")]


def test_filter_bad_input_names_the_filter():
    with pytest.raises(AnsibleFilterError, match="^port_forward_upnp_mappings: "):
        port_forward_upnp_mappings([{"protocol": "tcp"}])
