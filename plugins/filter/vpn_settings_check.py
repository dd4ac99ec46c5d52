# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vpn_settings_check: every value the wireguard or openvpn role writes into a file, checked."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _vpn_settings


def vpn_settings_check(settings, role):
    try:
        return _vpn_settings.check_settings(settings, role)
    except _vpn_settings.VpnSettingsError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"vpn_settings_check": vpn_settings_check}
