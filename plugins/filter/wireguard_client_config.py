# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wireguard_client_config: the text of a WireGuard client's wg-quick configuration."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config


def wireguard_client_config(settings):
    try:
        return _wireguard_config.render_client_config(settings)
    except _wireguard_config.WireGuardConfigError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"wireguard_client_config": wireguard_client_config}
