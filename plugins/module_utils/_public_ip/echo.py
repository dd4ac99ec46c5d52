# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP(S) echo sources: the body of a plain-text "what is my IP" URL."""

from __future__ import annotations

try:
    from ansible.module_utils.urls import open_url
except ImportError:  # on the host without Ansible (the ddns role's timer)
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._stdlib_http import open_url

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.sources import SourceError, _MAX_BODY, _USER_AGENT, _remaining


def query_http(source, deadline, validate_certs=True, ca_path=None):
    """GET the echo URL; return its body (stripped). No proxy, no .netrc credentials.

    A proxy would answer with its own address, which is not this host's.
    """
    response = open_url(
        source.url,
        method="GET",
        timeout=_remaining(deadline),
        validate_certs=validate_certs,
        ca_path=ca_path,
        use_proxy=False,
        use_netrc=False,
        http_agent=_USER_AGENT,
        follow_redirects="safe",
    )
    try:
        body = response.read(_MAX_BODY + 1)
    finally:
        response.close()
    if len(body) > _MAX_BODY:
        raise SourceError("not an IP address (answer longer than %d bytes)" % _MAX_BODY)
    return body.decode("ascii", "replace").strip()
