# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jellyfin_local_url: the URL at which Jellyfin answers on its own host."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def jellyfin_local_url(network):
    """Build http://HOST:PORT/BASEURL from the `network` result of jellyfin_network.

    HOST is 127.0.0.1 unless Jellyfin is bound to specific addresses
    (LocalNetworkAddresses), in which case the first of them is used.
    """
    if not isinstance(network, dict):
        raise AnsibleFilterError("jellyfin_local_url expects the 'network' dict returned by jellyfin_network")
    try:
        port = int(network.get("internal_http_port") or 8096)
    except (TypeError, ValueError):
        raise AnsibleFilterError("jellyfin_local_url: internal_http_port %r is not a port" % network.get("internal_http_port"))
    host = "127.0.0.1"
    for entry in network.get("local_network_addresses") or []:
        try:
            address = ipaddress.ip_address(str(entry))
        except ValueError:
            continue
        if address.is_unspecified:
            break
        host = "[%s]" % address if address.version == 6 else str(address)
        break
    base_url = network.get("base_url") or ""
    return "http://%s:%d%s" % (host, port, base_url)


class FilterModule:
    def filters(self):
        return {"jellyfin_local_url": jellyfin_local_url}
