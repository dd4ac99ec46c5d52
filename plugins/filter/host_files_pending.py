# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_files_pending: which of a host_files call's paths differ, from host_probe's result."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file, _host_files


def host_files_pending(files, probe, directories=None):
    try:
        return _host_files.pending(files or [], probe or {}, directories or [])
    except (KeyError, TypeError, AttributeError, _atomic_file.FileAttributeError) as exc:
        raise AnsibleFilterError("host_files_pending: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"host_files_pending": host_files_pending}
