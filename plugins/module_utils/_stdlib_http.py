# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""open_url for code that runs on the host without Ansible (the ddns role's timer runner).

Inside a module, _ddns.httpclient and _public_ip.echo use ansible.module_utils.urls.open_url.
A runner started by systemd has no ansible-core to import, so they fall back to this one: the
same keywords they pass, with the standard library (urllib.request, ssl): TLS verified against
the system's CAs plus ca_path (or not verified with validate_certs false), no proxy when
use_proxy is false, no .netrc (urllib never reads it), redirects followed only for GET and
HEAD (follow_redirects "safe"), none with "none".
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    def __init__(self, follow):
        super().__init__()
        self.follow = follow

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if self.follow == "none" or (self.follow == "safe" and req.get_method() not in ("GET", "HEAD")):
            raise urllib.error.HTTPError(req.full_url, code, msg, headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def tls_context(validate_certs=True, ca_path=None):
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if ca_path:
        context.load_verify_locations(cafile=ca_path)
    return context


def open_url(url, data=None, method=None, headers=None, timeout=10, validate_certs=True, ca_path=None,
             use_proxy=True, use_netrc=False, follow_redirects="safe", http_agent=None):
    """An http.client response (read, close, status, headers); HTTPError for statuses >= 400."""
    del use_netrc  # urllib never reads .netrc
    handlers = [urllib.request.HTTPSHandler(context=tls_context(validate_certs, ca_path)),
                _RedirectHandler(follow_redirects)]
    if not use_proxy:
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    all_headers = dict(headers or {})
    if http_agent:
        all_headers["User-Agent"] = http_agent
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    return opener.open(request, timeout=timeout)
