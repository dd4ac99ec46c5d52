# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jellyfin_local_url: the URL at which Jellyfin answers on its own host."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import local_url


def jellyfin_local_url(network):
    """Build http://HOST:PORT/BASEURL from the `network` result of jellyfin_network.

    HOST is 127.0.0.1 unless Jellyfin is bound to specific addresses
    (LocalNetworkAddresses), in which case the first of them is used.
    """
    if not isinstance(network, dict):
        raise AnsibleFilterError("jellyfin_local_url expects the 'network' dict returned by jellyfin_network")
    try:
        return local_url(network)
    except ValueError as exc:
        raise AnsibleFilterError("jellyfin_local_url: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"jellyfin_local_url": jellyfin_local_url}
