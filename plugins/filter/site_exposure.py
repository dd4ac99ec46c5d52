# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_exposure: the guards before a method opens anything (jellyfin_remote role)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site


def site_exposure(method, info=None, settings=None):
    try:
        return _site.exposure(method, info, settings)
    except _site.SiteError as exc:
        raise AnsibleFilterError("site_exposure: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"site_exposure": site_exposure}
