# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every part of _ddns stands on: the error kinds and their hints (DdnsError), Settings,
the request Counter, secret redaction (Redactor), the retry loop and its time budget
(with_retries), and the small helpers that shape addresses and messages.

Standard library only. httpclient (the HTTP client), dnsread (reading the current record over
DNS), provider (the Provider interface and registry) and runner (the module's runs) build on it.
"""

from __future__ import annotations

import ipaddress
import re
import time
from urllib.parse import quote, urlencode, urlsplit


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
# Addresses
# --------------------------------------------------------------------------------------


def canonical_ip(text):
    return ipaddress.ip_address(str(text).strip()).compressed


def single(addresses):
    """The current value for the result: None, one address, or a comma-joined set."""
    if not addresses:
        return None
    return ",".join(addresses)
