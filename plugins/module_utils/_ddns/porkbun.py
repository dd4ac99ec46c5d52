# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Porkbun JSON API v3. Every call is a POST whose JSON body carries apikey and secretapikey.

- read:   POST <base>/dns/retrieveByNameType/<domain>/<type>/<sub>
          -> {"status": "SUCCESS", "records": [{"id", "name", "type", "content", "ttl", ...}]}
- update: POST <base>/dns/editByNameType/<domain>/<type>/<sub> {"content", "ttl"}
- create: POST <base>/dns/create/<domain> {"name": <sub>, "type", "content", "ttl"}
          when the name has no record of that type yet.
- delete: POST <base>/dns/deleteByNameType/<domain>/<type>/<sub> -> {"status": "SUCCESS"}:
          every record of the type at the name (read first: sent only when one exists).
<sub> is empty at the apex. Errors: {"status": "ERROR", "message": ...}, HTTP 400 for bad
keys or a domain without API access. The current value comes from the API.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    HINTS,
    RETRYABLE,
    DdnsError,
    UpdateResult,
    canonical_ip,
    short,
    single,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import parse_retry_after
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (
    Provider,
    register,
)

DEFAULT_TTL = 600  # Porkbun's minimum and default


@register
class Porkbun(Provider):
    name = "porkbun"
    default_base_url = "https://api.porkbun.com/api/json/v3"
    needs_zone = True

    def __init__(self, *args, **kwargs):
        self._ttl = {}
        self._exists = {}
        super().__init__(*args, **kwargs)

    def check_settings(self):
        super().check_settings()
        if not self.settings.api_key or not self.settings.secret_api_key:
            raise DdnsError("config", "provider porkbun needs api_key and secret_api_key; set both")

    def _call(self, path, purpose, extra=None):
        body = {"apikey": self.settings.api_key, "secretapikey": self.settings.secret_api_key}
        body.update(extra or {})
        response = self.http.request("POST", self.base_url + path, purpose, json_body=body)
        data = response.json()
        message = self.redact(data.get("message", "")) if isinstance(data, dict) else ""
        if response.status == 429 or response.status >= 500:
            raise DdnsError(
                RETRYABLE,
                "%s answered HTTP %d (%s); %s" % (self.where, response.status, short(message or "provider-side problem"), HINTS[RETRYABLE]),
                retry_after=parse_retry_after(response.header("Retry-After")),
                status=response.status,
            )
        if isinstance(data, dict) and data.get("status") == "SUCCESS" and 200 <= response.status < 300:
            return data
        lowered = message.lower()
        if "api key" in lowered or "apikey" in lowered or response.status in (401, 403):
            raise DdnsError("auth", "%s refused the keys (%s); check api_key and secret_api_key" % (self.where, short(message)), status=response.status)
        if "domain" in lowered:
            raise DdnsError(
                "nohost",
                "%s refused domain %s (%s); check zone and that API access is enabled for the domain" % (self.where, self.settings.zone, short(message)),
                status=response.status,
            )
        raise DdnsError(
            "protocol",
            "%s answered HTTP %d: %s; %s" % (self.where, response.status, short(message or self.redact(response.text)), HINTS["protocol"]),
            status=response.status,
        )

    def _path(self, verb, record_type):
        return "/dns/%s/%s/%s/%s" % (verb, quote(self.settings.zone), record_type, quote(self.relative_name, safe="*"))

    def read_current(self, record_type):
        data = self._call(self._path("retrieveByNameType", record_type), "reads")
        records = [r for r in data.get("records") or [] if r.get("type") == record_type]
        self._exists[record_type] = bool(records)
        if records:
            try:
                self._ttl[record_type] = int(records[0].get("ttl") or DEFAULT_TTL)
            except ValueError:
                self._ttl[record_type] = DEFAULT_TTL
        return single(sorted(canonical_ip(r["content"]) for r in records))

    def update(self, record_type, address):
        if record_type not in self._exists:
            self.read_current(record_type)
        ttl = str(self._ttl.get(record_type, DEFAULT_TTL))
        if not self._exists[record_type]:
            extra = {"name": self.relative_name, "type": record_type, "content": address, "ttl": ttl}
            self._call("/dns/create/%s" % quote(self.settings.zone), "updates", extra)
            return UpdateResult((record_type,), "created")
        self._call(self._path("editByNameType", record_type), "updates", {"content": address, "ttl": ttl})
        return UpdateResult((record_type,), "SUCCESS")

    def delete(self, record_type):
        self._call(self._path("deleteByNameType", record_type), "updates")
        self._exists[record_type] = False
        return UpdateResult((record_type,), "SUCCESS")
