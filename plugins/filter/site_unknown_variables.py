# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_unknown_variables: warnings for misspelt variables (jellyfin_remote role)."""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site


def site_unknown_variables(names, known=None, prefixes=None):
    return _site.unknown_variables(names, known, prefixes)


class FilterModule:
    def filters(self):
        return {"site_unknown_variables": site_unknown_variables}
