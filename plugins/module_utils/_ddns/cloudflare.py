# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare API v4 with an API token (Authorization: Bearer <token>).

- zone:   GET  <base>/zones?name=<zone>                      -> result[0].id
          (skipped when zone is given as the 32-hex zone id)
- read:   GET  <base>/zones/<id>/dns_records?name=<fqdn>[&type=A]
          one request for A and AAAA together (no type filter, filtered here)
- update: PATCH <base>/zones/<id>/dns_records/<record id> {"content": <address>}
- create: POST <base>/zones/<id>/dns_records {"type", "name", "content", "ttl": 1, "proxied": false}
          when the name has no record of that type yet.
- delete: DELETE <base>/zones/<id>/dns_records/<record id>, once per record of the type
          (read first); answer {"result": {"id"}}. A record already gone answers HTTP 404
          with code 81044 "Record does not exist.": taken as deleted (a retry after a lost
          answer sees it).
Every answer is {"success": bool, "errors": [{"code", "message"}], "result": ...}.
HTTP 401/403 (codes 9109 "Invalid access token", 10000 "Authentication error") -> auth;
429 -> retryable with Retry-After; 5xx -> retryable. The current value comes from the API.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    HINTS,
    DdnsError,
    UpdateResult,
    canonical_ip,
    short,
    single,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import http_status_error
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (
    Provider,
    register,
)

ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
RECORD_GONE = 81044


@register
class Cloudflare(Provider):
    name = "cloudflare"
    default_base_url = "https://api.cloudflare.com/client/v4"
    needs_zone = True

    def __init__(self, *args, **kwargs):
        self._zone_id = None
        self._records = {}
        super().__init__(*args, **kwargs)

    def zone_name(self):
        if ZONE_ID.match(self.settings.zone or ""):
            self._zone_id = self.settings.zone
            return None
        return self.settings.zone

    def check_settings(self):
        super().check_settings()
        if not self.settings.token:
            raise DdnsError("config", "provider cloudflare needs token (an API token with Zone.DNS edit permission); set token")

    def _call(self, method, path, purpose, params=None, body=None, gone_ok=False):
        response = self.http.request(
            method,
            self.base_url + path,
            purpose,
            params=params,
            json_body=body,
            headers={"Authorization": "Bearer " + self.settings.token},
        )
        data = response.json()
        errors = data.get("errors") if isinstance(data, dict) else None
        said = "; ".join("%s %s" % (e.get("code"), e.get("message")) for e in errors or [] if isinstance(e, dict))
        if response.status in (401, 403) or any(isinstance(e, dict) and e.get("code") in (9109, 10000, 9106, 9103) for e in errors or []):
            raise DdnsError(
                "auth",
                "%s refused the token (HTTP %d: %s); check token: it needs Zone.DNS edit permission for zone %s"
                % (self.where, response.status, short(self.redact(said or response.text)), self.settings.zone),
                status=response.status,
            )
        if gone_ok and response.status == 404 and any(isinstance(e, dict) and e.get("code") == RECORD_GONE for e in errors or []):
            return None
        error = http_status_error(response, self.where, self.redact)
        if error is not None:
            raise error
        if not isinstance(data, dict) or not data.get("success"):
            raise DdnsError(
                "protocol",
                "%s did not report success: %s; %s" % (self.where, short(self.redact(said or response.text)), HINTS["protocol"]),
                status=response.status,
            )
        return data.get("result")

    def zone_id(self):
        if self._zone_id is None:
            result = self._call("GET", "/zones", "lookups", params={"name": self.settings.zone})
            if not result:
                raise DdnsError(
                    "nohost",
                    "%s has no zone %s that this token can see; check zone and the token's zone resources" % (self.where, self.settings.zone),
                )
            self._zone_id = result[0]["id"]
        return self._zone_id

    def _read(self, record_types):
        params = {"name": self.hostname}
        if len(record_types) == 1:
            params["type"] = record_types[0]
        result = self._call("GET", "/zones/%s/dns_records" % quote(self.zone_id()), "reads", params=params) or []
        found = {t: [] for t in record_types}
        for record in result:
            rtype = record.get("type")
            if rtype in found and record.get("name", "").rstrip(".").lower() == self.hostname:
                found[rtype].append(record)
        for rtype, records in found.items():
            self._records[rtype] = records
        return {t: single(sorted(canonical_ip(r["content"]) for r in found[t])) for t in record_types}

    def read_current(self, record_type):
        return self._read([record_type])[record_type]

    def read_many(self, record_types):
        return self._read(list(record_types))

    def update(self, record_type, address):
        records = self._records.get(record_type)
        if records is None:
            self._read([record_type])
            records = self._records[record_type]
        zone = quote(self.zone_id())
        if not records:
            body = {"type": record_type, "name": self.hostname, "content": address, "ttl": 1, "proxied": False}
            self._call("POST", "/zones/%s/dns_records" % zone, "updates", body=body)
            return UpdateResult((record_type,), "created")
        if len(records) > 1:
            raise DdnsError(
                "config",
                "%s holds %d %s records for %s; a DDNS name needs exactly one: delete the others in the Cloudflare dashboard"
                % (self.where, len(records), record_type, self.hostname),
            )
        self._call("PATCH", "/zones/%s/dns_records/%s" % (zone, quote(str(records[0]["id"]))), "updates", body={"content": address})
        return UpdateResult((record_type,), "updated")

    def delete(self, record_type):
        records = self._records.get(record_type)
        if records is None:
            self._read([record_type])
            records = self._records[record_type]
        zone = quote(self.zone_id())
        for record_id in sorted({str(r["id"]) for r in records}):
            self._call("DELETE", "/zones/%s/dns_records/%s" % (zone, quote(record_id)), "updates", gone_ok=True)
        self._records[record_type] = []
        return UpdateResult((record_type,), "deleted")
