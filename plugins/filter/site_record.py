# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_record: the site section of the host record (jellyfin_remote role)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site


def site_record(method, https=False, planned=None, facts=None, recorded=None):
    try:
        return _site.site_record(method, https, planned, facts, recorded)
    except _site.SiteError as exc:
        raise AnsibleFilterError("site_record: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"site_record": site_record}
