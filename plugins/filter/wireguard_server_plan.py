# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_server_plan / vpn_server_plan: the server-side addresses and routes of a VPN
(the wireguard role; vpn_server_plan is the same plan for the openvpn role)."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config


def wireguard_server_plan(network_ipv4, network_ipv6=None, allowed_ips=None, full_tunnel=False, option_prefix="wireguard"):
    try:
        _wireguard_config.networks(network_ipv4, network_ipv6 or None, option_prefix)
        routes_option = "%s_client_%s" % (option_prefix, "allowed_ips" if option_prefix == "wireguard" else "routes")
        client = _wireguard_config.client_allowed_ips(allowed_ips or [], full_tunnel, network_ipv4, network_ipv6 or None,
                                                      option_prefix, routes_option)
        nets = _wireguard_config.networks(network_ipv4, network_ipv6 or None)
        forward = _wireguard_config.forward_destinations(client, network_ipv4, network_ipv6 or None)
        v4 = [str(nets[0])] + forward["ipv4"]
        return {
            "netmasks": {n: str(ipaddress.ip_network(n).netmask) for n in v4},
            "networks": {("ipv4" if n.version == 4 else "ipv6"): str(n) for n in nets},
            "server_addresses": _wireguard_config.server_addresses(network_ipv4, network_ipv6 or None),
            "server_hosts": _wireguard_config.server_hosts(network_ipv4, network_ipv6 or None),
            "client_allowed_ips": client,
            "forward": forward,
        }
    except (_wireguard_config.WireGuardConfigError, ValueError) as exc:
        raise AnsibleFilterError("%s_server_plan: %s" % ("wireguard" if option_prefix == "wireguard" else "vpn", exc)) from None


def vpn_server_plan(network_ipv4, network_ipv6=None, allowed_ips=None, full_tunnel=False, option_prefix="vpn"):
    return wireguard_server_plan(network_ipv4, network_ipv6, allowed_ips, full_tunnel, option_prefix)


class FilterModule:
    def filters(self):
        return {"wireguard_server_plan": wireguard_server_plan, "vpn_server_plan": vpn_server_plan}
