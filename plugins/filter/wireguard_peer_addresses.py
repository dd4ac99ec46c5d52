# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_peer_addresses: stable tunnel addresses for a list of WireGuard peers."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config


def wireguard_peer_addresses(peers, stored=None, network_ipv4="10.13.13.0/24", network_ipv6=None):
    try:
        return _wireguard_config.assign_addresses(peers, stored, network_ipv4, network_ipv6 or None)
    except _wireguard_config.WireGuardConfigError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"wireguard_peer_addresses": wireguard_peer_addresses}
