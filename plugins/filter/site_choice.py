# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_choice: the method `auto` applies (jellyfin_remote role)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site


def site_choice(methods, inputs):
    try:
        return _site.choose(methods, inputs)
    except _site.SiteError as exc:
        raise AnsibleFilterError("site_choice: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"site_choice": site_choice}
