# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_server_plan / vpn_server_plan: the server-side addresses and routes of a VPN
(module_utils/_vpn_plan.py). wireguard_server_plan names the wireguard role's options in its
errors; vpn_server_plan names the options its caller gives (the openvpn role)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _vpn_plan


def _plan(name, network_ipv4, network_ipv6, routes, full_tunnel, **options):
    try:
        return _vpn_plan.plan(network_ipv4, network_ipv6, routes, full_tunnel, **options)
    except _vpn_plan.VpnPlanError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc)) from None


def wireguard_server_plan(network_ipv4, network_ipv6=None, allowed_ips=None, full_tunnel=False):
    return _plan("wireguard_server_plan", network_ipv4, network_ipv6, allowed_ips, full_tunnel,
                 ipv4_option="wireguard_network_ipv4", ipv6_option="wireguard_network_ipv6",
                 routes_option="wireguard_client_allowed_ips")


def vpn_server_plan(network_ipv4, network_ipv6=None, routes=None, full_tunnel=False, ipv4_option="network_ipv4",
                    ipv6_option="network_ipv6", routes_option="routes"):
    return _plan("vpn_server_plan", network_ipv4, network_ipv6, routes, full_tunnel,
                 ipv4_option=ipv4_option, ipv6_option=ipv6_option, routes_option=routes_option)


class FilterModule:
    def filters(self):
        return {"wireguard_server_plan": wireguard_server_plan, "vpn_server_plan": vpn_server_plan}
