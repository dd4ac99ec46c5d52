# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DuckDNS: GET <base_url>/update?domains=<sub>&token=<token>&ip=<v4>&ipv6=<v6>&verbose=true.

Answer: "KO" (bad token or a domain not in the account) or "OK"; with verbose=true the
next lines are the IPv4, the IPv6 and UPDATED or NOCHANGE. The token travels in the query
string (DuckDNS has no other way), so URLs are never quoted in messages.

Both families go in one request. DuckDNS takes the caller's IPv4 when neither ip nor
ipv6 is given, so a request always names the address it means.
No read call: the current value is read by DNS (DnsReader).

No delete either: a DuckDNS name lives until its owner removes it on duckdns.org. The
nearest is clear=true, which empties both records (A and AAAA) of the name at once: that is
what removal does here, and it says "cleared", not "deleted".
"""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    HINTS,
    DdnsError,
    UpdateResult,
    short,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import http_status_error
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (
    Provider,
    register,
)

SUFFIX = ".duckdns.org"


@register
class DuckDns(Provider):
    name = "duckdns"
    default_base_url = "https://www.duckdns.org"
    removed_word = "cleared"
    removal_note = "DuckDNS keeps the name itself: remove it on duckdns.org when it is no longer wanted"

    def check_settings(self):
        super().check_settings()
        if not self.settings.token:
            raise DdnsError("config", "provider duckdns needs token (the account token shown on duckdns.org); set token")

    @property
    def domain_param(self):
        """DuckDNS wants the sub name: home for home.duckdns.org."""
        if self.hostname.endswith(SUFFIX):
            return self.hostname[: -len(SUFFIX)]
        return self.hostname

    def update(self, record_type, address):
        return self.update_many({record_type: address})

    def check_removal(self, record_types):
        if set(record_types) != {"A", "AAAA"}:
            raise DdnsError(
                "config",
                "duckdns clears the A and the AAAA record of a name together (clear=true), not one alone; "
                "leave record_types out or give [A, AAAA]",
            )

    def delete_many(self, record_types):
        params = {"domains": self.domain_param, "token": self.settings.token, "clear": "true", "verbose": "true"}
        response = self.http.request("GET", self.base_url + "/update", "updates", params=params)
        return UpdateResult(("A", "AAAA"), *self._interpret(response, clearing=True))

    def delete(self, record_type):
        return self.delete_many([record_type])

    def update_many(self, changes, desired=None):
        values = dict(desired or {})
        values.update(changes)
        params = {"domains": self.domain_param, "token": self.settings.token}
        if "A" in values:
            params["ip"] = values["A"]
        if "AAAA" in values:
            params["ipv6"] = values["AAAA"]
        params["verbose"] = "true"
        response = self.http.request("GET", self.base_url + "/update", "updates", params=params)
        types = tuple(t for t in ("A", "AAAA") if t in changes)
        return UpdateResult(types, *self._interpret(response))

    def _interpret(self, response, clearing=False):
        """(answer word, warning) for OK; raises DdnsError otherwise."""
        error = http_status_error(response, self.where, self.redact)
        if error is not None:
            raise error
        lines = [line.strip() for line in response.text.strip().splitlines() if line.strip()]
        first = lines[0] if lines else ""
        if first == "OK":
            word = lines[-1] if len(lines) > 1 and lines[-1] in ("UPDATED", "NOCHANGE") else "OK"
            warning = None
            if word == "NOCHANGE" and not clearing:
                warning = "duckdns answered NOCHANGE although DNS showed a different address for %s: DNS may lag behind" % self.hostname
            return word, warning
        if first == "KO":
            raise DdnsError(
                "auth",
                "%s answered KO: the token is wrong or %s is not a domain of this account; %s, and that the domain exists"
                % (self.where, self.domain_param, HINTS["auth"]),
            )
        raise DdnsError("protocol", "%s gave an unknown answer %r; %s" % (self.where, short(self.redact(response.text), 80), HINTS["protocol"]))
