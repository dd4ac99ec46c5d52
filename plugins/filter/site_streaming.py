# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_streaming: the remote bitrate limit that fits the home upload (jellyfin_remote role)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _streaming


def site_streaming(upload_mbps, streams=None, vpn_clients_local=None, upload_option=_streaming.UPLOAD_OPTION,
                   streams_option=_streaming.STREAMS_OPTION, measured=None, ceiling=None):
    try:
        return _streaming.streaming(upload_mbps, streams, vpn_clients_local, upload_option, streams_option, measured,
                                    ceiling)
    except _streaming.StreamingError as exc:
        raise AnsibleFilterError("site_streaming: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"site_streaming": site_streaming}
