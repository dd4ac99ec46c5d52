# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The option shared by host_record and host_record_info: where the host record lives.
    DOCUMENTATION = r"""
options:
  path:
    description: The record file.
    type: path
    default: /var/lib/jellyfin-remote/state.json
"""
