# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dyndns2 protocol (DynDNS "Remote Access API"), with presets for No-IP, Dynu and deSEC.

Request: GET <base_url>/nic/update?hostname=<fqdn>&myip=<address> with HTTP basic auth.
Answer: a plain-text word, optionally followed by the address: good, nochg, nohost,
badauth, badagent, !donator, abuse, 911, notfqdn, numhost, dnserr.

Families in one request, so that updating one family never clears the other:
- generic and No-IP: myip=<v4>,<v6> (comma-separated, as the DynDNS specification allows);
- Dynu: myip=<v4> and myipv6=<v6>;
- deSEC: myipv4=<v4> and myipv6=<v6>; a family this task does not manage is sent as
  "preserve", because deSEC deletes the record of a family that gets no value. deSEC
  answers HTTP 401 (bad token), 404 (no such host), 403 (host not eligible) and
  429 with Retry-After (one update per minute per domain).

dyndns2 has no read call: the current value is read by DNS (DnsReader). It has no delete
either (the update request only sets addresses; deSEC's "preserve"-less update empties a
family but leaves the name): removal sends nothing and says the record stays.
"""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    HINTS,
    NINE_ONE_ONE_WAIT,
    RETRYABLE,
    DdnsError,
    UpdateResult,
    short,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import http_status_error
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (
    Provider,
    register,
)

# answer word -> (kind, what happened)
ANSWERS = {
    "badauth": ("auth", "the provider refused the credentials (badauth)"),
    "nohost": ("nohost", "the hostname does not exist in this account (nohost)"),
    "!donator": ("donator", "the provider refused a feature of this request (!donator)"),
    "badagent": ("badagent", "the provider refused this client (badagent)"),
    "abuse": ("abuse", "the provider answered abuse"),
    "notfqdn": ("notfqdn", "the provider says the hostname is not a fully qualified domain name (notfqdn)"),
    "numhost": ("numhost", "the provider refused the number of hosts (numhost)"),
    "dnserr": ("dnserr", "the provider reported a DNS error (dnserr)"),
}


class Dyndns2(Provider):
    """Any dyndns2 server: base_url is required."""

    name = "dyndns2"
    default_base_url = None
    path = "/nic/update"
    can_delete = False
    cannot_delete = (
        "has no delete: its update protocol (/nic/update) can only set addresses; "
        "remove the record in the provider's control panel"
    )
    style = "myip"  # myip | dynu | desec

    def check_settings(self):
        super().check_settings()
        if not self.username or not self.secret:
            raise DdnsError("config", "provider %s needs username and password; set both" % self.name)

    @property
    def username(self):
        return self.settings.username

    @property
    def secret(self):
        return self.settings.password or self.settings.token

    def params(self, changes, desired):
        params = {"hostname": self.hostname}
        values = dict(desired or {})
        values.update(changes)
        if self.style == "dynu":
            if "A" in values:
                params["myip"] = values["A"]
            if "AAAA" in values:
                params["myipv6"] = values["AAAA"]
        elif self.style == "desec":
            params["myipv4"] = values.get("A", "preserve")
            params["myipv6"] = values.get("AAAA", "preserve")
        else:
            params["myip"] = ",".join(values[t] for t in ("A", "AAAA") if t in values)
        return params

    def update(self, record_type, address):
        return self.update_many({record_type: address}, {record_type: address})

    def update_many(self, changes, desired=None):
        response = self.http.request(
            "GET",
            self.base_url + self.path,
            "updates",
            params=self.params(changes, desired),
            basic_auth=(self.username, self.secret),
        )
        types = tuple(t for t in ("A", "AAAA") if t in changes)
        return UpdateResult(types, *self.interpret(response))

    def interpret(self, response):
        """(answer word, warning) for success; raises DdnsError otherwise."""
        text = response.text.strip()
        word = text.split()[0] if text else ""
        if word in ("good", "nochg") and 200 <= response.status < 300:
            warning = None
            if word == "nochg":
                warning = (
                    "%s answered nochg although DNS showed a different address for %s: DNS may lag behind "
                    "the provider. Repeated nochg answers can get the host blocked; check resolver" % (self.name, self.hostname)
                )
            return word, warning
        if word == "911":
            raise DdnsError(
                RETRYABLE,
                "%s answered 911: provider-side problem, retry no sooner than 30 minutes" % self.where,
                retry_after=NINE_ONE_ONE_WAIT,
                status=response.status,
            )
        if word in ANSWERS:
            kind, what = ANSWERS[word]
            raise DdnsError(kind, "%s: %s; %s" % (self.where, what, HINTS[kind]), status=response.status)
        error = self.status_error(response)
        if error is not None:
            raise error
        raise DdnsError(
            "protocol",
            "%s gave an unknown answer %r; %s" % (self.where, short(self.redact(text), 80), HINTS["protocol"]),
            status=response.status,
        )

    def status_error(self, response):
        return http_status_error(response, self.where, self.redact)


@register
class NoIp(Dyndns2):
    """No-IP: answers badagent to a User-Agent without program/version and a contact."""

    name = "noip"
    default_base_url = "https://dynupdate.no-ip.com"

    def check_settings(self):
        super().check_settings()
        if not self.settings.user_agent_contact:
            raise DdnsError(
                "config",
                "provider noip needs user_agent_contact: No-IP disables clients whose User-Agent has no "
                "contact e-mail address (badagent); set it to an address of yours, such as admin@example.org",
            )


@register
class Dynu(Dyndns2):
    name = "dynu"
    default_base_url = "https://api.dynu.com"
    style = "dynu"


@register
class Desec(Dyndns2):
    """deSEC: basic auth with the domain name as user and the token as password."""

    name = "desec"
    default_base_url = "https://update.dedyn.io"
    style = "desec"

    def check_settings(self):
        Provider.check_settings(self)
        if not self.secret:
            raise DdnsError("config", "provider desec needs token (the deSEC dynDNS token); set token")

    @property
    def username(self):
        return self.settings.username or self.hostname

    @property
    def secret(self):
        return self.settings.token or self.settings.password

    def status_error(self, response):
        if response.status == 404:
            return DdnsError("nohost", "%s: no such host (HTTP 404); %s" % (self.where, HINTS["nohost"]), status=404)
        if response.status == 403:
            return DdnsError(
                "nohost",
                "%s: the host is not eligible for dynDNS updates (HTTP 403); %s" % (self.where, HINTS["nohost"]),
                status=403,
            )
        return http_status_error(response, self.where, self.redact, auth_statuses=(401,))


register(Dyndns2)
