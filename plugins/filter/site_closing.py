# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_closing: what a run closes of what an earlier method set up (jellyfin_remote role)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site


def site_closing(recorded, method=None, https=False, planned=None):
    try:
        return _site.closing(recorded, method, https, planned)
    except _site.SiteError as exc:
        raise AnsibleFilterError("site_closing: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"site_closing": site_closing}
