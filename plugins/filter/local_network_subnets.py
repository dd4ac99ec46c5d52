# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_network_subnets: Jellyfin's LocalNetworkSubnets for a VPN (LAN first, then the VPN)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _local_subnets


def local_network_subnets(vpn_networks, lan_subnets=None, host_facts=None, lan_option="lan_subnets", off_option=None,
                          exclude_interfaces=None):
    try:
        return _local_subnets.local_network_subnets(vpn_networks, lan_subnets, host_facts, lan_option, off_option,
                                                    exclude_interfaces or ())
    except _local_subnets.LocalSubnetsError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"local_network_subnets": local_network_subnets}
