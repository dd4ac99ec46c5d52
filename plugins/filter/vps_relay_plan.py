# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vps_relay_plan / vps_relay_check: the relay tunnel's addresses and the checks of the values the
vps_relay role writes (module_utils/_vps_relay.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _vps_relay


def vps_relay_plan(network):
    try:
        return _vps_relay.plan(network)
    except _vps_relay.VpsRelayError as exc:
        raise AnsibleFilterError(str(exc)) from None


def vps_relay_check(settings):
    try:
        return _vps_relay.check(settings)
    except _vps_relay.VpsRelayError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"vps_relay_plan": vps_relay_plan, "vps_relay_check": vps_relay_check}
