# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_key_files: every key file of a WireGuard server, as wireguard_keypair's `keys` list."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config


def wireguard_key_files(peers, key_dir, clients_dir, interface):
    try:
        return _wireguard_config.key_files(peers, key_dir, clients_dir, interface)
    except (TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("wireguard_key_files: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"wireguard_key_files": wireguard_key_files}
