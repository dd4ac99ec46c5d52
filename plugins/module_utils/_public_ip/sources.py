# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ways of asking "what is my address": Source, the defaults, and building them from options."""

from __future__ import annotations

import ipaddress
import socket
import time


DEFAULT_TIMEOUT = 5.0
RETRY_INTERVAL = 1.0  # seconds before a DNS query over UDP is sent again

# Defaults, documented in the module. The IPv6 sources ask the resolvers' IPv6 addresses:
# myip.opendns.com AAAA and Google's TXT echo the address the query came *from*, so the
# query has to travel over IPv6 to learn the IPv6 address.
DEFAULT_DNS_SOURCES = (
    {"name": "opendns1_a", "server": "208.67.222.222", "port": 53, "query": "myip.opendns.com", "rdtype": "A"},
    {"name": "opendns2_a", "server": "208.67.220.220", "port": 53, "query": "myip.opendns.com", "rdtype": "A"},
    {"name": "google_txt4", "server": "216.239.32.10", "port": 53, "query": "o-o.myaddr.l.google.com", "rdtype": "TXT"},
    {"name": "opendns1_aaaa", "server": "2620:119:35::35", "port": 53, "query": "myip.opendns.com", "rdtype": "AAAA"},
    {"name": "opendns2_aaaa", "server": "2620:119:53::53", "port": 53, "query": "myip.opendns.com", "rdtype": "AAAA"},
    {
        "name": "google_txt6",
        "server": "2001:4860:4802:32::a",
        "port": 53,
        "query": "o-o.myaddr.l.google.com",
        "rdtype": "TXT",
    },
)

DEFAULT_HTTP_SOURCES = (
    {"name": "ipify4", "url": "https://api.ipify.org", "family": 4},
    {"name": "ipify6", "url": "https://api6.ipify.org", "family": 6},
    {"name": "icanhazip4", "url": "https://ipv4.icanhazip.com", "family": 4},
    {"name": "icanhazip6", "url": "https://ipv6.icanhazip.com", "family": 6},
    {"name": "amazonaws4", "url": "https://checkip.amazonaws.com", "family": 4},
)

RDTYPES = {"A": 1, "AAAA": 28, "TXT": 16}
FAMILY_OF_RDTYPE = {"A": 4, "AAAA": 6}

_MAX_BODY = 256
_USER_AGENT = "homelab.jellyfin_remote public_ip"


class SourceError(Exception):
    """A source failed: no answer, an error answer, or something that is not an address."""


class Source:
    """One way to learn the public address.

    kind is "dns" or "http". family is 4 or 6, or None for an HTTP URL that may answer
    either family (extra_http_urls): its answer then counts for the family it has.
    """

    __slots__ = ("name", "kind", "family", "server", "port", "query", "rdtype", "url")

    def __init__(self, name, kind, family, server=None, port=53, query=None, rdtype=None, url=None):
        self.name = name
        self.kind = kind
        self.family = family
        self.server = server
        self.port = port
        self.query = query
        self.rdtype = rdtype
        self.url = url

    def __repr__(self):
        target = self.url if self.kind == "http" else "%s %s @%s:%s" % (self.query, self.rdtype, self.server, self.port)
        return "Source(%s, %s, IPv%s, %s)" % (self.name, self.kind, self.family or "any", target)


def dns_source(spec):
    """Build a DNS Source from a dict (name, server, port, query, rdtype).

    The family is the record type's for A/AAAA. For TXT (Google's echo) it is the family of
    the resolver address, because the answer is the address the query came from.
    Raises ValueError with a message naming the field.
    """
    name = spec.get("name")
    if not name:
        raise ValueError("every DNS source needs a name")
    server = spec.get("server")
    try:
        server_ip = ipaddress.ip_address(str(server))
    except ValueError:
        raise ValueError(
            "DNS source %r: server %r is not an IP address; give the resolver's address, not a host name"
            % (name, server)
        )
    port = spec.get("port", 53)
    if port is None:
        port = 53
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError("DNS source %r: port %r is not between 1 and 65535" % (name, port))
    query = spec.get("query")
    if not query:
        raise ValueError("DNS source %r: query (the name to look up) is missing" % name)
    rdtype = str(spec.get("rdtype") or "").upper()
    if rdtype not in RDTYPES:
        raise ValueError("DNS source %r: rdtype %r is not one of A, AAAA, TXT" % (name, spec.get("rdtype")))
    family = FAMILY_OF_RDTYPE.get(rdtype, server_ip.version)
    return Source(name, "dns", family, server=str(server_ip), port=port, query=query, rdtype=rdtype)


def http_source(spec):
    """Build an HTTP Source from a dict (name, url, family). Raises ValueError."""
    name = spec.get("name")
    if not name:
        raise ValueError("every HTTP source needs a name")
    url = spec.get("url") or ""
    if not (url.startswith("https://") or url.startswith("http://")):
        raise ValueError("HTTP source %r: url %r must start with https:// or http://" % (name, url))
    family = spec.get("family")
    if family not in (None, 4, 6):
        raise ValueError("HTTP source %r: family %r is not 4 or 6" % (name, family))
    return Source(name, "http", family, url=url)


def build_sources(dns_sources=None, http_sources=None, extra_http_urls=None, ip_versions=(4, 6)):
    """Turn option values into Sources. None means the defaults; [] means none.

    Sources of a family that is not in ip_versions are left out (an HTTP source without a
    family stays). Names must be unique. Raises ValueError.
    """
    if dns_sources is None:
        dns_sources = DEFAULT_DNS_SOURCES
    if http_sources is None:
        http_sources = DEFAULT_HTTP_SOURCES
    sources = [dns_source(dict(s)) for s in dns_sources]
    sources += [http_source(dict(s)) for s in http_sources]
    for index, url in enumerate(extra_http_urls or ()):
        sources.append(http_source({"name": "extra%d" % (index + 1), "url": url, "family": None}))
    seen = set()
    for source in sources:
        if source.name in seen:
            raise ValueError("source name %r is used twice; names must be unique" % source.name)
        seen.add(source.name)
    return [s for s in sources if s.family is None or s.family in ip_versions]


def _remaining(deadline):
    """Seconds left before deadline (time.monotonic()); socket.timeout when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return left
