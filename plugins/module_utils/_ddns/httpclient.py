# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP for the providers that speak it: HttpClient (timeouts, User-Agent, TLS options,
basic or bearer auth, counting, redaction), HttpResponse, Retry-After parsing, and
http_status_error(), which turns a status that is not success into the right DdnsError.
"""

from __future__ import annotations

import base64
import email.utils
import json
import socket
import time
from urllib.parse import urlencode

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    HINTS,
    RETRYABLE,
    USER_AGENT,
    Counter,
    DdnsError,
    Redactor,
    public_url,
    short,
)

try:
    from ansible.module_utils.urls import open_url
    from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
except ImportError:  # on the host without Ansible (the ddns role's timer)
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._stdlib_http import open_url
    from urllib.error import HTTPError, URLError


class HttpResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name):
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def parse_retry_after(value, now=None):
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or bad."""
    if value is None:
        return None
    value = str(value).strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0, int(round(when.timestamp() - now)))


class HttpClient:
    """One provider's HTTP access: timeouts, User-Agent, TLS options, counting, redaction."""

    MAX_BODY = 1024 * 1024

    def __init__(self, timeout=10.0, validate_certs=True, ca_path=None, counter=None, redactor=None, agent=USER_AGENT):
        self.timeout = timeout
        self.agent = agent
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.counter = counter if counter is not None else Counter()
        self.redact = redactor if redactor is not None else Redactor()

    def request(self, method, url, purpose, params=None, json_body=None, headers=None, basic_auth=None):
        """Send one request and return an HttpResponse for every HTTP status.

        Network failures raise DdnsError(retryable). purpose is reads, lookups or updates.
        """
        if params:
            url = url + ("&" if "?" in url else "?") + urlencode(params)
        all_headers = {"User-Agent": self.agent, "Accept": "*/*"}
        if basic_auth is not None:
            pair = ("%s:%s" % basic_auth).encode("utf-8")
            all_headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            self.redact.add(all_headers["Authorization"][6:])
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        self.counter.add(purpose)
        where = public_url(url)
        try:
            response = open_url(
                url,
                data=data,
                method=method,
                headers=all_headers,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                ca_path=self.ca_path,
                use_netrc=False,
                follow_redirects="safe",
                http_agent=self.agent,
            )
        except HTTPError as exc:
            try:
                body = exc.read(self.MAX_BODY) if exc.fp is not None else b""
            except Exception:  # pragma: no cover - a broken error body
                body = b""
            return HttpResponse(exc.code, dict(exc.headers or {}), body)
        except URLError as exc:
            raise DdnsError(
                RETRYABLE, "could not reach %s: %s" % (where, self.redact(_reason(exc)))
            ) from None
        except (socket.timeout, TimeoutError):
            raise DdnsError(RETRYABLE, "no answer from %s within %s s (timeout)" % (where, self.timeout)) from None
        except (OSError, ValueError) as exc:
            raise DdnsError(RETRYABLE, "request to %s failed: %s" % (where, self.redact(exc))) from None
        try:
            body = response.read(self.MAX_BODY)
            return HttpResponse(response.status, dict(response.headers), body)
        except (socket.timeout, TimeoutError):
            raise DdnsError(RETRYABLE, "no answer from %s within %s s (timeout)" % (where, self.timeout)) from None
        finally:
            response.close()


def _reason(exc):
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    return str(reason)


def http_status_error(response, where, redact, auth_statuses=(401, 403)):
    """The DdnsError for an HTTP status that is not success, or None for 2xx."""
    status = response.status
    if 200 <= status < 300:
        return None
    body = short(redact(response.text)) if response.body else ""
    said = " (answer: %s)" % body if body else ""
    if status == 429:
        wait = parse_retry_after(response.header("Retry-After"))
        return DdnsError(
            RETRYABLE,
            "%s answered HTTP 429 (rate limited)%s; retry no sooner than %s"
            % (where, said, "%d s" % wait if wait is not None else "a few minutes"),
            retry_after=wait,
            status=status,
        )
    if status >= 500:
        return DdnsError(
            RETRYABLE,
            "%s answered HTTP %d, a provider-side problem%s; %s" % (where, status, said, HINTS[RETRYABLE]),
            retry_after=parse_retry_after(response.header("Retry-After")),
            status=status,
        )
    if status in auth_statuses:
        return DdnsError("auth", "%s refused the credentials (HTTP %d)%s; %s" % (where, status, said, HINTS["auth"]), status=status)
    return DdnsError("protocol", "%s answered HTTP %d%s; %s" % (where, status, said, HINTS["protocol"]), status=status)
