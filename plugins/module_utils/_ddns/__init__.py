# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dynamic DNS providers for the ddns_update module.

Plain Python, no AnsibleModule: the module feeds a Settings object in and turns the result
(or a DdnsError) into exit_json / fail_json. Everything here is unit-tested against the
loopback stand-in in tests/lab/standins/ddns/.

Pieces:
- DdnsError: one failure, with a `kind` that says what the user has to do. Fatal kinds
  (auth, nohost, abuse, donator, badagent, notfqdn, numhost, dnserr, config, protocol) are
  never retried; `retryable` (dyndns2 911, HTTP 429, HTTP 5xx, network errors) is retried
  by with_retries() within max_retries, max_retry_wait and max_retry_seconds, honouring
  Retry-After.
- HttpClient: GET/POST/PATCH with timeouts, a fixed User-Agent, TLS options, basic or
  bearer auth. It counts requests (reads, lookups, updates) and scrubs every secret it
  knows from any text that could reach a message.
- DnsReader: reads A/AAAA of a name from a configured resolver or, without one, from the
  zone's authoritative servers (dyndns2, DuckDNS and Namecheap have no read call).
- Provider: the interface (read_current, update, update_many, delete_many) and REGISTRY
  name -> class. can_delete / cannot_delete say whether the provider's API can remove a
  record (dyndns2 and Namecheap's update protocols cannot: nothing is sent to them).
- run(): read first, write only what differs, predict in check mode.
- run_delete(): read first, delete only what is there, predict in check mode.

Secrets (passwords, tokens, API keys, TSIG secrets) never appear in a DdnsError message,
a warning or a result: messages are built from option names and non-secret values, and
provider answers quoted in messages pass through HttpClient.redact().
"""

from __future__ import annotations

import base64
import email.utils
import ipaddress
import json
import re
import socket
import time
from urllib.parse import quote, urlencode, urlsplit

try:
    from ansible.module_utils.urls import open_url
    from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
except ImportError:  # pragma: no cover - ansible-core always ships it
    open_url = None
    from urllib.error import HTTPError, URLError

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.resolver

    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = _exc


VERSION = "0.1.0"
USER_AGENT = "homelab.jellyfin_remote/%s ddns_update" % VERSION
# No-IP asks every client for "Company NameOfProgram/Version maintainer-contact" and answers
# badagent ("client disabled") to others: user_agent() builds that form around a contact.
CONTACT_PATTERN = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")

RECORD_TYPES = ("A", "AAAA")
FAMILY = {"A": 4, "AAAA": 6}

RETRYABLE = "retryable"
KINDS = (
    "auth",
    "nohost",
    "abuse",
    "donator",
    "badagent",
    "notfqdn",
    "numhost",
    "dnserr",
    RETRYABLE,
    "config",
    "protocol",
)
FATAL_KINDS = tuple(k for k in KINDS if k != RETRYABLE)

# What the user has to do, per kind. Messages start with what happened and end with this.
HINTS = {
    "auth": "check username/password or token",
    "nohost": "check hostname (and zone): the name must already exist in this provider account",
    "abuse": "the provider blocked updates for this host; contact them; updates stopped",
    "donator": "the requested feature needs a paid account (!donator); upgrade the account or drop the feature",
    "badagent": "the provider rejected this client (badagent); updates stopped; report it to the collection maintainers",
    "notfqdn": "give hostname as a fully qualified domain name such as home.example.org",
    "numhost": "too many hosts in one request (numhost); update one hostname per task",
    "dnserr": "DNS error at the provider (dnserr); contact the provider if it persists",
    "retryable": "a temporary problem; run the task again later",
    "config": "correct the options",
    "protocol": "the provider's answer was not understood; check base_url points at the right service",
}

# dyndns2: "911" means a problem at the provider; its specification asks clients to wait
# at least 30 minutes before the next try.
NINE_ONE_ONE_WAIT = 1800
DEFAULT_BACKOFF = 5
# The whole run's retrying (attempts and waits) ends within max_retry_seconds: 120 s by
# default, 900 s at most, so that no Retry-After or 911 holds a play for half an hour.
MAX_RETRY_SECONDS_DEFAULT = 120.0
MAX_RETRY_SECONDS_LIMIT = 900.0


class DdnsError(Exception):
    """A failure with a kind in KINDS. str() is a complete message without secrets."""

    def __init__(self, kind, message, retry_after=None, status=None):
        if kind not in KINDS:
            raise ValueError("unknown DdnsError kind %r" % (kind,))
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.attempts = 1
        super().__init__(message)

    @property
    def fatal(self):
        return self.kind != RETRYABLE

    def __str__(self):
        return self.message


def user_agent(contact=None):
    """The User-Agent sent to providers: with a contact, the form No-IP requires."""
    if not contact:
        return USER_AGENT
    return "homelab.jellyfin_remote ddns_update/%s %s" % (VERSION, contact)


def check_contact(contact):
    """Raise DdnsError(config) unless contact is an e-mail address without whitespace."""
    if contact and not CONTACT_PATTERN.match(contact):
        raise DdnsError(
            "config",
            "user_agent_contact %r is not an e-mail address; give the address providers may write to "
            "about this client, such as admin@example.org (it goes into the User-Agent)" % contact,
        )


class UpdateResult:
    """The outcome of one write: which types, the provider's answer word ('good', 'nochg',
    'UPDATED', 'NOCHANGE', 'NOERROR', 'SUCCESS', ...)."""

    def __init__(self, record_types, answer, warning=None):
        self.record_types = tuple(record_types)
        self.answer = answer
        self.warning = warning

    def __repr__(self):
        return "UpdateResult(%r, %r)" % (self.record_types, self.answer)


class Settings:
    """Every option a provider may use, with the module's defaults."""

    FIELDS = dict(
        provider=None,
        hostname=None,
        zone=None,
        username=None,
        password=None,
        token=None,
        api_key=None,
        secret_api_key=None,
        tsig_key_name=None,
        tsig_key_secret=None,
        tsig_algorithm="hmac-sha256",
        server=None,
        server_port=53,
        base_url=None,
        resolver=None,
        resolver_port=53,
        validate_certs=True,
        ca_path=None,
        timeout=10.0,
        max_retries=3,
        max_retry_wait=60.0,
        allow_insecure_http=False,
        user_agent_contact=None,
        max_retry_seconds=MAX_RETRY_SECONDS_DEFAULT,
    )

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(self.FIELDS)
        if unknown:
            raise TypeError("unknown settings: %s" % ", ".join(sorted(unknown)))
        for name, default in self.FIELDS.items():
            value = kwargs.get(name)
            setattr(self, name, default if value is None else value)

    def secrets(self):
        return [v for v in (self.password, self.token, self.api_key, self.secret_api_key, self.tsig_key_secret) if v]


# --------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------


class Counter:
    """Requests made: reads of the record, lookups (zone ids, authoritative servers), updates."""

    def __init__(self):
        self.reads = 0
        self.lookups = 0
        self.updates = 0

    def add(self, purpose):
        if purpose not in ("reads", "lookups", "updates"):
            raise ValueError(purpose)
        setattr(self, purpose, getattr(self, purpose) + 1)

    def as_dict(self):
        return {"reads": self.reads, "lookups": self.lookups, "updates": self.updates}


# --------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------


class Redactor:
    """Replaces every known secret (raw, URL-encoded, base64 in basic auth) by ********."""

    MASK = "********"

    def __init__(self, secrets=()):
        self._needles = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret):
        if not secret:
            return
        text = str(secret)
        forms = {text, quote(text, safe=""), quote(text), urlencode({"x": text})[2:]}
        self._needles.extend(f for f in forms if f and f not in self._needles)
        self._needles.sort(key=len, reverse=True)

    def __call__(self, text):
        if text is None:
            return None
        text = str(text)
        for needle in self._needles:
            text = text.replace(needle, self.MASK)
        return text


def short(text, limit=120):
    """One line, at most limit characters: for quoting provider answers in messages."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def public_url(url):
    """scheme://host[:port]/path of url: never the query string, user info or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    netloc = host if parts.port is None else "%s:%d" % (host, parts.port)
    return "%s://%s%s" % (parts.scheme, netloc, parts.path)


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------


def _monotonic():
    """The clock for the total retry budget (a module attribute, so tests can replace it)."""
    return time.monotonic()


def with_retries(call, max_retries=3, max_wait=60.0, sleep=None, backoff=DEFAULT_BACKOFF, max_total=None, clock=None):
    """Call call() until it succeeds, a fatal DdnsError, or the retry budget is spent.

    Retryable errors wait their retry_after (Retry-After, 1800 s for dyndns2 911) or
    backoff * 2**n seconds. A wait longer than max_wait is never done: the error is raised
    at once, saying how long the provider asked to wait. With max_total, no wait is started
    that would end more than max_total seconds after the first attempt began (the attempts'
    own time counts). sleep and clock default to time.sleep and time.monotonic, looked up
    at each call, so that a patched time.sleep always reaches here.
    """
    sleep = sleep or time.sleep
    clock = clock or _monotonic
    start = clock()
    attempt = 1
    while True:
        try:
            return call()
        except DdnsError as exc:
            exc.attempts = attempt
            if exc.fatal:
                raise
            wait = exc.retry_after if exc.retry_after is not None else backoff * (2 ** (attempt - 1))
            if wait > max_wait:
                if exc.retry_after is not None:
                    exc.message += " (not retried in this run: the wait of %d s exceeds max_retry_wait=%s)" % (
                        wait,
                        _num(max_wait),
                    )
                    raise
                wait = max_wait
            if attempt > max_retries:
                if max_retries:
                    exc.message += " (gave up after %d attempts)" % attempt
                raise
            if max_total is not None and clock() - start + wait > max_total:
                exc.message += " (gave up after %d attempts: waiting %s s more would pass max_retry_seconds=%s)" % (
                    attempt,
                    _num(wait),
                    _num(max_total),
                )
                raise
            sleep(wait)
            attempt += 1


def _num(value):
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------------------
# DNS reads
# --------------------------------------------------------------------------------------


class DnsReader:
    """Reads the A or AAAA addresses of a name.

    With resolver set, asks it (port resolver_port). Without one, finds the zone's
    authoritative servers with the system resolver and asks them directly (no cache in
    between, so a fresh update is seen at once).
    """

    def __init__(self, resolver=None, port=53, timeout=5.0, counter=None):
        self.resolver = resolver
        self.port = port
        self.timeout = timeout
        self.counter = counter if counter is not None else Counter()
        self._servers = None

    def _authoritative(self, name):
        if self._servers is None:
            try:
                self.counter.add("lookups")
                zone = dns.resolver.zone_for_name(name)
                self.counter.add("lookups")
                ns_names = [r.target for r in dns.resolver.resolve(zone, "NS", lifetime=self.timeout)]
                servers = []
                for ns in ns_names:
                    for rdtype in ("A", "AAAA"):
                        try:
                            self.counter.add("lookups")
                            servers.extend(r.address for r in dns.resolver.resolve(ns, rdtype, lifetime=self.timeout))
                        except dns.exception.DNSException:
                            continue
            except dns.exception.DNSException as exc:
                raise DdnsError(
                    RETRYABLE,
                    "could not find the authoritative DNS servers of %s: %s; set resolver to a DNS server that knows the name"
                    % (name, exc),
                ) from None
            if not servers:
                raise DdnsError(
                    RETRYABLE, "no address for the authoritative DNS servers of %s; set resolver" % name
                )
            self._servers = servers
        return self._servers

    def read(self, name, record_type):
        """Sorted list of addresses (empty when the name has none of this type)."""
        if not HAS_DNSPYTHON:
            raise DdnsError("config", "reading the current address needs the Python library dnspython; install it")
        servers = [self.resolver] if self.resolver else self._authoritative(name)
        port = self.port if self.resolver else 53
        last = None
        for server in servers:
            query = dns.message.make_query(name, dns.rdatatype.from_text(record_type))
            if not self.resolver:
                query.flags &= ~dns.flags.RD
            try:
                self.counter.add("reads")
                response = dns.query.udp(query, server, port=port, timeout=self.timeout)
                if response.flags & dns.flags.TC:
                    response = dns.query.tcp(query, server, port=port, timeout=self.timeout)
            except (dns.exception.Timeout, OSError) as exc:
                last = DdnsError(
                    RETRYABLE, "no DNS answer from %s port %d for %s %s: %s" % (server, port, name, record_type, exc or "timed out")
                )
                continue
            except dns.exception.DNSException as exc:
                last = DdnsError(RETRYABLE, "bad DNS answer from %s for %s %s: %s" % (server, name, record_type, exc))
                continue
            rcode = response.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                return []
            if rcode != dns.rcode.NOERROR:
                last = DdnsError(
                    RETRYABLE,
                    "DNS server %s answered %s for %s %s" % (server, dns.rcode.to_text(rcode), name, record_type),
                )
                continue
            wanted = dns.rdatatype.from_text(record_type)
            found = []
            for rrset in response.answer:
                if rrset.rdtype == wanted:
                    found.extend(canonical_ip(r.address) for r in rrset)
            return sorted(set(found))
        raise last


def canonical_ip(text):
    return ipaddress.ip_address(str(text).strip()).compressed


def single(addresses):
    """The current value for the result: None, one address, or a comma-joined set."""
    if not addresses:
        return None
    return ",".join(addresses)


# --------------------------------------------------------------------------------------
# Provider interface
# --------------------------------------------------------------------------------------


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
    # Imported here: the provider modules import this package.
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


# --------------------------------------------------------------------------------------
# The module's logic
# --------------------------------------------------------------------------------------


def desired_addresses(record_types=None, addresses=None, public_ip=None):
    """{record_type: address} from explicit addresses or a public_ip result.

    record_types None: every family that has an address. Raises DdnsError(config).
    """
    by_family = {}
    if addresses:
        for text in addresses:
            try:
                ip = ipaddress.ip_address(str(text).strip())
            except ValueError:
                raise DdnsError("config", "address: %r is not an IP address; give an IPv4 or IPv6 address" % (text,)) from None
            rtype = "A" if ip.version == 4 else "AAAA"
            if rtype in by_family and by_family[rtype] != ip.compressed:
                raise DdnsError(
                    "config",
                    "address: two IPv%d addresses given (%s, %s); give at most one address per family" % (ip.version, by_family[rtype], ip.compressed),
                )
            by_family[rtype] = ip.compressed
        source = "address"
    else:
        source = "public_ip"
        if not isinstance(public_ip, dict):
            raise DdnsError("config", "public_ip must be the dict registered from homelab.jellyfin_remote.public_ip")
        for key, rtype, version in (("ipv4", "A", 4), ("ipv6", "AAAA", 6)):
            value = public_ip.get(key)
            if value in (None, ""):
                continue
            try:
                ip = ipaddress.ip_address(str(value).strip())
            except ValueError:
                raise DdnsError("config", "public_ip.%s: %r is not an IP address" % (key, value)) from None
            if ip.version != version:
                raise DdnsError("config", "public_ip.%s: %s is not an IPv%d address" % (key, ip, version))
            by_family[rtype] = ip.compressed
    if record_types is None:
        if not by_family:
            raise DdnsError(
                "config",
                "public_ip has neither ipv4 nor ipv6 (the lookup found no public address); nothing to publish. "
                "Check the public_ip result or give address",
            )
        return {t: by_family[t] for t in RECORD_TYPES if t in by_family}
    wanted = {}
    for rtype in record_types:
        if rtype not in by_family:
            key = "ipv4" if rtype == "A" else "ipv6"
            if source == "address":
                raise DdnsError("config", "record type %s needs an IPv%d address in address; add one or remove %s" % (rtype, FAMILY[rtype], rtype))
            raise DdnsError(
                "config",
                "record type %s needs public_ip.%s, which is empty (no public IPv%d found); remove %s from record_types or give address"
                % (rtype, key, FAMILY[rtype], rtype),
            )
        wanted[rtype] = by_family[rtype]
    return wanted


def run(settings, desired, check_mode=False, sleep=None, provider=None):
    """Read each record, write the ones that differ. Returns the result dict.

    On failure raises DdnsError; its `partial` attribute holds the result so far.
    """
    provider = provider or make_provider(settings)
    provider.check_types(desired)
    result = dict(
        changed=False,
        provider=settings.provider,
        hostname=settings.hostname,
        previous={},
        current={},
        answer=None,
        requests=provider.counter.as_dict(),
    )

    def write(previous, retried):
        changes = {t: a for t, a in desired.items() if previous.get(t) != a}
        if changes:
            result["changed"] = True
            if not check_mode:
                outcome = retried(lambda: provider.update_many(changes, desired))
                result["answer"] = outcome.answer
                if outcome.warning:
                    result["warning"] = outcome.warning
            result["current"].update(changes)

    return _read_then_write(settings, provider, result, list(desired), sleep, write)


def _read_then_write(settings, provider, result, record_types, sleep, write):
    """Read record_types into result's previous/current, then write(previous, retried), where
    retried(call) runs call under with_retries. The requests made go into result, also when a
    DdnsError ends the run (then result is the error's `partial`)."""
    retries = dict(max_retries=settings.max_retries, max_wait=settings.max_retry_wait, sleep=sleep, max_total=settings.max_retry_seconds)
    try:
        previous = with_retries(lambda: provider.read_many(record_types), **retries)
        result["previous"] = dict(previous)
        result["current"] = dict(previous)
        write(previous, lambda call: with_retries(call, **retries))
    except DdnsError as exc:
        result["requests"] = provider.counter.as_dict()
        exc.partial = result
        raise
    result["requests"] = provider.counter.as_dict()
    return result


def removal_line(result, check_mode=False):
    """The one line a summary prints for a run_delete() result."""
    name = "DNS record %s" % result["hostname"]
    provider = result["provider"]
    if result.get("kept"):
        return "%s left as it is: %s" % (name, result["kept"])
    types = result.get("deleted") or []
    if not types:
        return "%s: nothing to remove at %s (no %s record there)" % (name, provider, " or ".join(result.get("record_types") or RECORD_TYPES))
    word = result.get("removed_word") or "deleted"
    note = " (%s)" % result["removal_note"] if result.get("removal_note") else ""
    return "%s (%s) %s%s at %s%s" % (name, ", ".join(types), "would be " if check_mode else "", word, provider, note)


def run_delete(settings, record_types=None, check_mode=False, sleep=None, provider=None):
    """Remove the name's records of record_types (default: every type the provider holds).

    A provider without a delete gets no request at all: the result's `kept` says why the
    record stays. Otherwise each type is read first and only types that have an address are
    removed (none: changed false). On failure raises DdnsError with `partial`.
    """
    cls = provider.__class__ if provider is not None else provider_class(settings.provider)
    types = [t for t in RECORD_TYPES if t in (record_types or cls.supported_types)]
    result = dict(
        changed=False,
        provider=settings.provider,
        hostname=settings.hostname,
        record_types=types,
        previous={},
        current={},
        deleted=[],
        kept=None,
        removed_word=cls.removed_word,
        removal_note=cls.removal_note,
        answer=None,
        requests=Counter().as_dict(),
    )
    if not cls.can_delete:
        result["kept"] = "%s %s" % (settings.provider, cls.cannot_delete)
        result["warning"] = "ddns_update %s %s: the record was not removed: %s" % (settings.provider, settings.hostname, result["kept"])
        return result
    provider = provider or make_provider(settings)
    provider.check_types(types)
    provider.check_removal(types)

    def write(previous, retried):
        present = [t for t in types if previous.get(t)]
        if present:
            result["changed"] = True
            result["deleted"] = present
            if not check_mode:
                result["answer"] = retried(lambda: provider.delete_many(present)).answer
            result["current"].update({t: None for t in present})

    return _read_then_write(settings, provider, result, types, sleep, write)
