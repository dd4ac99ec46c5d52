# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""openvpn_profile_current: is an exported profile what the openvpn role would write?"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _openvpn_profile


def openvpn_profile_current(profile, skeleton, file_sha1):
    if not isinstance(skeleton, str) or not isinstance(file_sha1, dict):
        raise AnsibleFilterError("openvpn_profile_current: give the template rendered with empty blocks (a string) "
                                 "and the host files' SHA-1 by block (a dict)")
    return _openvpn_profile.is_current(profile, skeleton, file_sha1)


class FilterModule:
    def filters(self):
        return {"openvpn_profile_current": openvpn_profile_current}
