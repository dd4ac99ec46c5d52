# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""port_forward_upnp_mappings: the port_forward role's mappings for one upnp_port_mapping call.
port_forward_manual_instructions: upnp_port_mapping's own words for forwarding each port by hand."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upnp


def port_forward_upnp_mappings(ports, earlier=None, lease_duration=3600):
    try:
        return _upnp.plan_mappings(ports, earlier, lease_duration)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("port_forward_upnp_mappings: %s" % exc) from None


def port_forward_manual_instructions(ports, internal_client=None):
    """One sentence per port, the text upnp_port_mapping fails with when no router answers."""
    try:
        return [
            _upnp.manual_instructions(str(p.get("protocol") or "tcp").upper(), int(p["port"]), internal_client or None,
                                      int(p.get("internal_port") or p["port"]))
            for p in ports
        ]
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("port_forward_manual_instructions: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {
            "port_forward_upnp_mappings": port_forward_upnp_mappings,
            "port_forward_manual_instructions": port_forward_manual_instructions,
        }
