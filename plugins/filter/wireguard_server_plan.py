# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_server_plan: the server-side addresses and routes of the wireguard role."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config


def wireguard_server_plan(network_ipv4, network_ipv6=None, allowed_ips=None, full_tunnel=False):
    try:
        nets = _wireguard_config.networks(network_ipv4, network_ipv6 or None)
        client = _wireguard_config.client_allowed_ips(allowed_ips or [], full_tunnel, network_ipv4, network_ipv6 or None)
        return {
            "networks": {("ipv4" if n.version == 4 else "ipv6"): str(n) for n in nets},
            "server_addresses": _wireguard_config.server_addresses(network_ipv4, network_ipv6 or None),
            "server_hosts": _wireguard_config.server_hosts(network_ipv4, network_ipv6 or None),
            "client_allowed_ips": client,
            "forward": _wireguard_config.forward_destinations(client, network_ipv4, network_ipv6 or None),
        }
    except (_wireguard_config.WireGuardConfigError, ValueError) as exc:
        raise AnsibleFilterError("wireguard_server_plan: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"wireguard_server_plan": wireguard_server_plan}
