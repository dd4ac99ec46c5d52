# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_stale_files: the key and export files of WireGuard peers that left or changed."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config


def wireguard_stale_files(peers, stored_names=None, server_files=None):
    try:
        return _wireguard_config.stale_peer_files(peers, stored_names or [], server_files)
    except (TypeError, AttributeError) as exc:
        raise AnsibleFilterError("wireguard_stale_files: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"wireguard_stale_files": wireguard_stale_files}
