# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Provider interface every provider module implements, and the registry that finds a
provider class by name (provider modules are loaded on first use; they import this module).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    RECORD_TYPES,
    Counter,
    DdnsError,
    Redactor,
    UpdateResult,
    check_contact,
    public_url,
    single,
    user_agent,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.dnsread import DnsReader
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import HttpClient


class Provider:
    """Base class. Subclasses set name, default_base_url and implement read_current and update.

    read_current(record_type) -> str | None   the address(es) now published, comma-joined
    update(record_type, address) -> UpdateResult
    update_many({record_type: address}) -> UpdateResult   default: one update per type;
        providers that can set both families in one request override it.
    delete(record_type) -> UpdateResult   removes every record of the type (after a read);
    delete_many(record_types) -> UpdateResult   default: one delete per type.
        Providers without a delete in their API set can_delete False and cannot_delete to
        the reason (it ends the sentence "<provider> ..."); removed_word is what the
        provider's removal does ("deleted", DuckDNS "cleared"), removal_note what the user
        should know after it (or None).
    """

    name = None
    default_base_url = None
    supported_types = RECORD_TYPES
    needs_zone = False
    can_delete = True
    cannot_delete = None
    removed_word = "deleted"
    removal_note = None

    def __init__(self, settings, http=None, dns_reader=None, counter=None):
        self.settings = settings
        self.counter = counter if counter is not None else Counter()
        self.redact = Redactor(settings.secrets())
        self.http = http if http is not None else HttpClient(
            timeout=settings.timeout,
            validate_certs=settings.validate_certs,
            ca_path=settings.ca_path,
            counter=self.counter,
            redactor=self.redact,
            agent=user_agent(settings.user_agent_contact),
        )
        self.dns = dns_reader if dns_reader is not None else DnsReader(
            settings.resolver, settings.resolver_port, settings.timeout, counter=self.counter
        )
        self.hostname = settings.hostname
        self.base_url = (settings.base_url or self.default_base_url or "").rstrip("/")
        self.check_settings()

    # -- configuration -----------------------------------------------------------------

    def check_settings(self):
        if self.needs_zone and not self.settings.zone:
            raise DdnsError("config", "provider %s needs zone (the DNS zone or domain that holds %s); set zone" % (self.name, self.hostname))
        zone = self.zone_name()
        if zone:
            if self.hostname != zone and not self.hostname.endswith("." + zone):
                raise DdnsError(
                    "config",
                    "hostname %s is not inside zone %s; set zone to the domain that holds the name, such as %s"
                    % (self.hostname, zone, self.hostname.split(".", 1)[-1]),
                )
        if not self.base_url:
            raise DdnsError("config", "provider %s has no default URL; set base_url to the update server, such as https://members.example.net" % self.name)
        scheme = urlsplit(self.base_url).scheme
        if scheme not in ("http", "https"):
            raise DdnsError("config", "base_url %s must start with https:// (or http:// for a lab stand-in)" % public_url(self.base_url))
        if scheme == "http" and not self.settings.allow_insecure_http:
            raise DdnsError(
                "config",
                "base_url %s is plain http://, which sends the credentials in clear text; use https://, "
                "or set allow_insecure_http (ddns_allow_insecure_http in the ddns role) for a test "
                "stand-in on a network you control" % public_url(self.base_url),
            )
        check_contact(self.settings.user_agent_contact)

    def zone_name(self):
        """The zone as a DNS name (None when a provider takes it as an id)."""
        return self.settings.zone

    def check_types(self, record_types):
        for record_type in record_types:
            if record_type not in self.supported_types:
                raise DdnsError(
                    "config",
                    "provider %s cannot set %s records; remove %s from record_types" % (self.name, record_type, record_type),
                )

    @property
    def relative_name(self):
        """hostname relative to zone: '' at the apex."""
        zone = self.settings.zone
        if not zone or self.hostname == zone:
            return ""
        return self.hostname[: -(len(zone) + 1)]

    @property
    def where(self):
        return "%s (%s)" % (self.name, public_url(self.base_url))

    # -- interface ---------------------------------------------------------------------

    def read_current(self, record_type):
        return single(self.dns.read(self.hostname, record_type))

    def read_many(self, record_types):
        return {t: self.read_current(t) for t in record_types}

    def update(self, record_type, address):
        raise NotImplementedError

    def update_many(self, changes, desired=None):
        answers = []
        warning = None
        for record_type in RECORD_TYPES:
            if record_type in changes:
                result = self.update(record_type, changes[record_type])
                answers.append(result.answer)
                warning = warning or result.warning
        return UpdateResult(tuple(t for t in RECORD_TYPES if t in changes), ",".join(answers), warning)

    def check_removal(self, record_types):
        """Raise DdnsError(config) when these types cannot be removed on their own."""

    def delete(self, record_type):
        raise NotImplementedError

    def delete_many(self, record_types):
        answers = [self.delete(t).answer for t in RECORD_TYPES if t in record_types]
        return UpdateResult(tuple(t for t in RECORD_TYPES if t in record_types), ",".join(answers))


REGISTRY = {}


def register(cls):
    REGISTRY[cls.name] = cls
    return cls


def provider_class(name):
    _load_providers()
    try:
        return REGISTRY[name]
    except KeyError:
        raise DdnsError("config", "provider %r is not known; choose one of %s" % (name, ", ".join(sorted(REGISTRY)))) from None


def _load_providers():
    if REGISTRY:
        return
    # Imported here: the provider modules import this module.
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns import (  # noqa: F401
        cloudflare,
        duckdns,
        dyndns2,
        namecheap,
        porkbun,
        rfc2136,
    )


def make_provider(settings, **kwargs):
    return provider_class(settings.provider)(settings, **kwargs)
