# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_stdlib_http.open_url, the standard-library HTTP client the provider code uses on the host
without ansible-core (the ddns role's timer), against a loopback server."""

from __future__ import annotations

import http.server
import threading
import urllib.error

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._stdlib_http import open_url


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/here")
            self.end_headers()
            return
        body = ("%s %s %s" % (self.command, self.path, self.headers.get("User-Agent"))).encode()
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def base():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_get_follows_a_redirect_and_sends_the_agent(base, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:9")  # never used: use_proxy false
    response = open_url(base + "/moved", method="GET", http_agent="jfr-test/1", use_proxy=False, timeout=5)
    assert (response.status, response.read()) == (200, b"GET /here jfr-test/1")


def test_post_is_not_redirected_safe(base):
    with pytest.raises(urllib.error.HTTPError) as caught:
        open_url(base + "/moved", data=b"x", method="POST", use_proxy=False, timeout=5)
    assert caught.value.code == 302


def test_no_redirect_with_none(base):
    with pytest.raises(urllib.error.HTTPError):
        open_url(base + "/moved", method="GET", follow_redirects="none", use_proxy=False, timeout=5)


def test_error_status_is_an_http_error_with_the_body(base):
    with pytest.raises(urllib.error.HTTPError) as caught:
        open_url(base + "/missing", method="GET", use_proxy=False, timeout=5)
    assert caught.value.code == 404
    assert caught.value.read().startswith(b"GET /missing ")
