# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_summary: URLs, files and warnings at the end of the site playbook."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site


def site_summary(method, facts=None):
    try:
        return _site.summary(method, facts)
    except (_site.SiteError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("site_summary: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"site_summary": site_summary}
