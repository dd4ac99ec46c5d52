# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the internet-visible addresses of this host and tell whether it sits behind CGNAT.

Plain Python, no AnsibleModule: the public_ip module feeds options in and turns the result
into exit_json. Everything here is unit-tested against loopback stand-ins.

Pieces:
- Source: one way to ask "what is my address" (a DNS query to a resolver, or an HTTP(S)
  echo URL).
- race(): asks every source at once in daemon threads and settles each address family as
  soon as enough sources agree, inside one overall time budget. Daemon threads matter: a
  source that never answers must not keep the module process alive after exit_json.
- validate_answer(): an answer counts only when it is an address of the right family that
  is globally routable (labs can widen that with allow_ranges).
- parse_ip_json_addr() / host_addresses(): the host's own addresses from `ip -j addr`,
  minus VPN and container interfaces (Tailscale and Cloudflare WARP use 100.64.0.0/10).
- upnp_external_address(): the router's WAN address over UPnP IGD, when miniupnpc exists.
- classify(): public, nat, cgnat, double_nat, unknown or offline, with one sentence of
  explanation.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import queue
import socket
import struct
import threading
import time

try:  # dnspython is optional: the built-in client below covers the three record types.
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - depends on the environment
    HAS_DNSPYTHON = False

try:
    from ansible.module_utils.urls import open_url
except ImportError:  # pragma: no cover - ansible-core always ships it
    open_url = None


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

# Interfaces whose addresses never say anything about the router's WAN side: VPN meshes
# (Tailscale and Cloudflare WARP hand out 100.64.0.0/10 addresses), WireGuard, containers,
# bridges for VMs, loopback.
IGNORED_INTERFACES = (
    "lo",
    "tailscale*",
    "wg*",
    "CloudflareWARP",
    "veth*",
    "docker*",
    "podman*",
    "cni*",
    "br-*",
    "virbr*",
)

RDTYPES = {"A": 1, "AAAA": 28, "TXT": 16}
FAMILY_OF_RDTYPE = {"A": 4, "AAAA": 6}

SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
ULA = ipaddress.ip_network("fc00::/7")

CLASSIFICATIONS = ("public", "nat", "cgnat", "double_nat", "unknown", "offline")

_MAX_BODY = 256
_USER_AGENT = "homelab.jellyfin_remote public_ip"


class SourceError(Exception):
    """A source failed: no answer, an error answer, or something that is not an address."""


# --------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# A small DNS client (used when dnspython is missing)
# --------------------------------------------------------------------------------------

_RCODE_NAMES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_dns_query(qid, name, rdtype):
    """Wire format of a recursive query for name/rdtype (class IN)."""
    labels = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise SourceError("query name %r has an empty or too long label" % name)
        labels.append(len(raw))
        labels += raw
    labels.append(0)
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    return header + bytes(labels) + struct.pack("!HH", RDTYPES[rdtype], 1)


def _skip_name(message, offset):
    while True:
        if offset >= len(message):
            raise SourceError("malformed DNS answer")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def decode_dns_response(message, qid, rdtype):
    """Texts of the answer records of type rdtype, or None when message is not our answer.

    Raises SourceError for an error answer, a truncated or malformed one, or one without
    a record of that type.
    """
    if len(message) < 12:
        return None
    rid, flags, qdcount, ancount, _nscount, _arcount = struct.unpack("!HHHHHH", message[:12])
    if rid != qid or not flags & 0x8000:
        return None
    rcode = flags & 0x000F
    if rcode:
        raise SourceError("DNS error %s" % _RCODE_NAMES.get(rcode, rcode))
    if flags & 0x0200:
        raise SourceError("truncated DNS answer")
    wanted = RDTYPES[rdtype]
    offset = 12
    for dummy in range(qdcount):
        offset = _skip_name(message, offset) + 4
    texts = []
    others = []
    for dummy in range(ancount):
        offset = _skip_name(message, offset)
        if offset + 10 > len(message):
            raise SourceError("malformed DNS answer")
        rtype, rclass, _ttl, rdlength = struct.unpack("!HHIH", message[offset : offset + 10])
        offset += 10
        rdata = message[offset : offset + rdlength]
        if len(rdata) != rdlength:
            raise SourceError("malformed DNS answer")
        offset += rdlength
        if rtype != wanted or rclass != 1:
            if rtype != 5:  # a CNAME on the way is normal; anything else is a wrong answer
                others.append(_TYPE_NAMES.get(rtype, "TYPE%d" % rtype))
            continue
        if rtype == 1 and rdlength == 4:
            texts.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and rdlength == 16:
            texts.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == 16:
            texts.append(_txt_strings(rdata))
        else:
            raise SourceError("malformed %s record" % rdtype)
    if not texts:
        raise _no_record(rdtype, others)
    return texts


_TYPE_NAMES = {value: key for key, value in RDTYPES.items()}


def _no_record(rdtype, others):
    if others:
        return SourceError("not an IP address (the answer holds %s, not %s)" % (others[0], rdtype))
    return SourceError("no %s record in the answer" % rdtype)


def _txt_strings(rdata):
    parts = []
    offset = 0
    while offset < len(rdata):
        length = rdata[offset]
        parts.append(rdata[offset + 1 : offset + 1 + length])
        offset += 1 + length
    return b"".join(parts).decode("ascii", "replace")


def _query_builtin(source, deadline):
    family = socket.AF_INET6 if ":" in source.server else socket.AF_INET
    qid = struct.unpack("!H", os.urandom(2))[0]
    packet = encode_dns_query(qid, source.query, source.rdtype)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        # A connected UDP socket only receives datagrams from the resolver itself.
        sock.settimeout(_remaining(deadline))
        sock.connect((source.server, source.port))
        while True:
            # UDP may lose the query or the answer: send again every RETRY_INTERVAL seconds.
            sock.send(packet)
            resend_at = time.monotonic() + RETRY_INTERVAL
            while True:
                sock.settimeout(min(_remaining(deadline), max(resend_at - time.monotonic(), 0.001)))
                try:
                    texts = decode_dns_response(sock.recv(4096), qid, source.rdtype)
                except socket.timeout:
                    _remaining(deadline)  # raises when the budget is spent
                    break
                if texts is not None:
                    return texts
    finally:
        sock.close()


def _query_dnspython(source, deadline):
    query = dns.message.make_query(source.query, dns.rdatatype.from_text(source.rdtype))
    while True:
        # UDP may lose the query or the answer: ask again every RETRY_INTERVAL seconds.
        try:
            response = dns.query.udp(
                query, source.server, port=source.port, timeout=min(_remaining(deadline), RETRY_INTERVAL)
            )
            break
        except dns.exception.Timeout:
            continue  # _remaining() raises socket.timeout once the budget is spent
        except dns.exception.DNSException as exc:
            raise SourceError("DNS error: %s" % exc)
    if response.rcode() != dns.rcode.NOERROR:
        raise SourceError("DNS error %s" % dns.rcode.to_text(response.rcode()))
    if response.flags & dns.flags.TC:
        raise SourceError("truncated DNS answer")
    wanted = dns.rdatatype.from_text(source.rdtype)
    texts = []
    others = []
    for rrset in response.answer:
        if rrset.rdtype != wanted:
            if rrset.rdtype != dns.rdatatype.CNAME:
                others.append(dns.rdatatype.to_text(rrset.rdtype))
            continue
        for rdata in rrset:
            if source.rdtype == "TXT":
                texts.append(b"".join(rdata.strings).decode("ascii", "replace"))
            else:
                texts.append(rdata.address)
    if not texts:
        raise _no_record(source.rdtype, others)
    return texts


def dns_client_name(preferred="auto"):
    """ "dnspython" or "builtin": which DNS client a race with this preference uses."""
    if preferred == "builtin" or not HAS_DNSPYTHON:
        return "builtin"
    return "dnspython"


def query_dns(source, deadline, client="auto"):
    """Ask a DNS source; return the answer text (the first TXT string that is an address)."""
    if dns_client_name(client) == "dnspython":
        texts = _query_dnspython(source, deadline)
    else:
        texts = _query_builtin(source, deadline)
    for text in texts:
        if _parse_ip(text) is not None:
            return text
    return texts[0]


# --------------------------------------------------------------------------------------
# HTTP(S) echo
# --------------------------------------------------------------------------------------


def query_http(source, deadline, validate_certs=True, ca_path=None):
    """GET the echo URL; return its body (stripped). No proxy, no .netrc credentials.

    A proxy would answer with its own address, which is not this host's.
    """
    response = open_url(
        source.url,
        method="GET",
        timeout=_remaining(deadline),
        validate_certs=validate_certs,
        ca_path=ca_path,
        use_proxy=False,
        use_netrc=False,
        http_agent=_USER_AGENT,
        follow_redirects="safe",
    )
    try:
        body = response.read(_MAX_BODY + 1)
    finally:
        response.close()
    if len(body) > _MAX_BODY:
        raise SourceError("not an IP address (answer longer than %d bytes)" % _MAX_BODY)
    return body.decode("ascii", "replace").strip()


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def parse_ranges(values):
    """CIDR strings to networks; raises ValueError naming the bad entry."""
    networks = []
    for value in values or ():
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError("%r is not a CIDR range such as 198.51.100.0/24 or 2001:db8::/32" % value)
    return tuple(networks)


def _parse_ip(text):
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None


def _in_any(ip, networks):
    return any(ip.version == net.version and ip in net for net in networks)


def non_global_reason(ip, allow_ranges=()):
    """Why ip is not a globally routable address, or None when it is (or is allowed)."""
    if _in_any(ip, allow_ranges):
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return "IPv4-mapped IPv6 address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if _in_any(ip, RFC1918):
        return "private address (RFC 1918)"
    if ip.version == 4 and ip in SHARED_ADDRESS_SPACE:
        return "shared address space 100.64.0.0/10 (carrier-grade NAT or a VPN mesh)"
    if _in_any(ip, DOCUMENTATION_RANGES):
        return "documentation address"
    if ip.version == 6 and ip in ULA:
        return "unique local address (fc00::/7)"
    if not ip.is_global:
        return "not globally routable"
    return None


def validate_answer(text, family=None, allow_ranges=()):
    """(address, None) when text is a global address of family; else (None, error).

    family None accepts either. Addresses come back in canonical form so that answers
    compare equal however a source spelled them.
    """
    ip = _parse_ip(text)
    if ip is None:
        return None, "not an IP address"
    if family is not None and ip.version != family:
        return None, "IPv%d address from an IPv%d source" % (ip.version, family)
    reason = non_global_reason(ip, allow_ranges)
    if reason:
        return None, "rejected: %s" % reason
    return str(ip), None


# --------------------------------------------------------------------------------------
# The race
# --------------------------------------------------------------------------------------


def _remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return left


def _error_text(exc):
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(exc, socket.timeout) or "timed out" in str(exc):
        return "no answer within the time budget"
    reason = getattr(exc, "reason", None)  # urllib's URLError
    code = getattr(exc, "code", None)  # HTTPError
    if code is not None and isinstance(code, int):
        return "HTTP error %d" % code
    if reason is not None:
        return "%s" % (reason,)
    return "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


def run_daemon(func, *args):
    """Run func(*args) in a daemon thread; return a Job whose wait(deadline) gives its result."""
    job = Job(func, args)
    job.thread.start()
    return job


class Job:
    """A call in a daemon thread. wait() returns (value, exception) or None when not done."""

    def __init__(self, func, args):
        self._done = threading.Event()
        self._value = None
        self._error = None
        self.thread = threading.Thread(target=self._run, args=(func, args), daemon=True)

    def _run(self, func, args):
        try:
            self._value = func(*args)
        except Exception as exc:  # reported, never raised into a thread that nobody joins
            self._error = exc
        finally:
            self._done.set()

    def wait(self, deadline):
        left = deadline - time.monotonic()
        if not self._done.wait(max(left, 0)):
            return None
        return self._value, self._error


class RaceResult:
    """What race() found: addresses per family, per-source reports, disagreement."""

    def __init__(self, addresses, reports, disagreement, settled, dns_client):
        self.addresses = addresses  # {4: "x" or None, 6: ...}
        self.reports = reports
        self.disagreement = disagreement  # {4: [...], 6: [...]}, empty when they agree
        self.settled = settled  # {4: bool, 6: bool}
        self.dns_client = dns_client

    @property
    def any_accepted(self):
        return any(r["accepted"] for r in self.reports)


def race(
    sources,
    ip_versions=(4, 6),
    timeout=DEFAULT_TIMEOUT,
    min_agreement=1,
    allow_ranges=(),
    validate_certs=True,
    ca_path=None,
    dns_client="auto",
    deadline=None,
    fetch=None,
):
    """Ask every source at once; settle each family when min_agreement sources agree.

    Returns as soon as every requested family is settled or has no source left running,
    or when the budget (deadline, else now + timeout) is spent. Sources still running are
    left to their daemon threads and reported as not waited for.

    fetch(source, deadline) may replace the network call (tests of the race logic).
    """
    started = time.monotonic()
    if deadline is None:
        deadline = started + timeout
    client = dns_client_name(dns_client)
    if fetch is None:

        def fetch(source, until):
            if source.kind == "dns":
                return query_dns(source, until, client)
            return query_http(source, until, validate_certs, ca_path)

    families = tuple(sorted(set(ip_versions)))
    results = queue.Queue()

    def worker(index, source):
        begin = time.monotonic()
        try:
            answer, error = fetch(source, deadline), None
        except Exception as exc:  # every failure becomes a line in the report
            answer, error = None, exc
        results.put((index, answer, error, time.monotonic() - begin))

    reports = []
    for index, source in enumerate(sources):
        reports.append(
            {
                "name": source.name,
                "kind": source.kind,
                "family": source.family,
                "answer": None,
                "latency_ms": None,
                "error": None,
                "accepted": False,
            }
        )
        threading.Thread(target=worker, args=(index, source), daemon=True, name="public_ip:%s" % source.name).start()

    pending = set(range(len(sources)))
    votes = {f: {} for f in families}  # family -> {address: count}, in arrival order
    winner = {f: None for f in families}

    def open_families():
        still = []
        for f in families:
            if winner[f] is not None:
                continue
            if any(sources[i].family in (f, None) for i in pending):
                still.append(f)
        return still

    while pending and open_families():
        try:
            index, answer, error, latency = results.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            break
        pending.discard(index)
        report = reports[index]
        report["latency_ms"] = int(round(latency * 1000))
        if error is not None:
            report["error"] = _error_text(error)
            continue
        report["answer"] = _shorten(answer)
        address, problem = validate_answer(answer, sources[index].family, allow_ranges)
        if address is not None and ipaddress.ip_address(address).version not in families:
            address, problem = (
                None,
                "IPv%d answer, but ip_versions does not ask for it" % ipaddress.ip_address(address).version,
            )
        if address is None:
            report["error"] = problem
            continue
        report["answer"] = address
        report["accepted"] = True
        family = ipaddress.ip_address(address).version
        if report["family"] is None:
            report["family"] = family
        tally = votes[family]
        tally[address] = tally.get(address, 0) + 1
        if winner[family] is None and tally[address] >= min_agreement:
            winner[family] = address

    for index in pending:
        mine = [f for f in families if sources[index].family in (f, None)]
        if mine and all(winner[f] is not None for f in mine):
            reports[index]["error"] = "not waited for: the result was already settled"
        else:
            reports[index]["error"] = "no answer within the time budget"

    disagreement = {f: (list(votes[f]) if len(votes[f]) > 1 else []) for f in (4, 6) if f in votes}
    for f in (4, 6):
        disagreement.setdefault(f, [])
    addresses = {f: winner.get(f) for f in (4, 6)}
    settled = {f: winner.get(f) is not None for f in (4, 6)}
    return RaceResult(addresses, reports, disagreement, settled, client)


def _shorten(text, limit=64):
    text = "%s" % (text,)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------------------
# Host interfaces and the router's WAN address
# --------------------------------------------------------------------------------------


def interface_ignored(name, extra_patterns=()):
    """True for interfaces whose addresses say nothing about the WAN (VPN, containers)."""
    return any(fnmatch.fnmatchcase(name, p) for p in tuple(IGNORED_INTERFACES) + tuple(extra_patterns))


def parse_ip_json_addr(text):
    """[(interface, address)] from the output of `ip -j addr`. Raises ValueError."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        raise ValueError("the output of `ip -j addr` is not JSON")
    pairs = []
    for link in data if isinstance(data, list) else ():
        name = link.get("ifname") or ""
        for info in link.get("addr_info") or ():
            if info.get("family") not in ("inet", "inet6"):
                continue
            ip = _parse_ip(info.get("local"))
            if ip is None:
                continue
            if info.get("tentative") or info.get("dadfailed"):
                continue
            pairs.append((name, str(ip)))
    return pairs


class HostAddresses:
    """The host's addresses that matter: global ones, and 100.64/10 ones on real interfaces."""

    def __init__(self, global_addresses, shared_addresses):
        self.global_addresses = global_addresses  # [(interface, address)]
        self.shared_addresses = shared_addresses  # [(interface, address)] in 100.64.0.0/10

    def interface_of(self, address):
        for name, value in self.global_addresses:
            if value == address:
                return name
        return None

    def has_global(self, version):
        return any(ipaddress.ip_address(a).version == version for _n, a in self.global_addresses)


def host_addresses(pairs, allow_ranges=(), ignore_interfaces=()):
    """Sort (interface, address) pairs into HostAddresses, skipping ignored interfaces.

    A Tailscale or Cloudflare WARP address (100.64.0.0/10 on tailscale0, CloudflareWARP)
    is dropped with its interface, so it can never be mistaken for a CGNAT WAN address.
    """
    global_addresses = []
    shared = []
    for name, address in pairs:
        if interface_ignored(name, ignore_interfaces):
            continue
        ip = ipaddress.ip_address(address)
        if non_global_reason(ip, allow_ranges) is None:
            global_addresses.append((name, str(ip)))
        elif ip.version == 4 and ip in SHARED_ADDRESS_SPACE:
            shared.append((name, str(ip)))
    return HostAddresses(global_addresses, shared)


def import_miniupnpc():
    """The miniupnpc module, or None when it is not installed."""
    try:
        import miniupnpc
    except ImportError:
        return None
    return miniupnpc


# What upnp_external_address returns when a router answers but has no usable external
# address: the UPnP spec's empty NewExternalIPAddress. miniupnpd (OpenWrt and many
# routers) answers so when its own WAN address is private or in 100.64.0.0/10.
NO_EXTERNAL_ADDRESS = ""


def upnp_external_address(miniupnpc, timeout):
    """The IGD's external IPv4 address via miniupnpc (a module object).

    None when no router answers (that is "no WAN information"); NO_EXTERNAL_ADDRESS when a
    router answers with an empty or unspecified address. Never raises.
    """
    client = miniupnpc.UPnP()
    client.discoverdelay = int(max(min(timeout / 2.0, 2.0), 0.1) * 1000)
    try:
        if not client.discover():
            return None
        client.selectigd()
        address = client.externalipaddress()
    except Exception:  # miniupnpc raises plain Exception for "no IGD" and SOAP errors
        return None
    if address is None or not str(address).strip():
        return NO_EXTERNAL_ADDRESS
    ip = _parse_ip(address)
    if ip is not None and ip.version == 4 and ip.is_unspecified:
        return NO_EXTERNAL_ADDRESS
    if ip is None or ip.version != 4:
        return None
    return str(ip)


# --------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------


WAN_SOURCES = ("auto", "upnp", "value", "interfaces", "none")


def choose_wan(wan_source, public_ipv4=None, value=None, host=None, upnp_address=None):
    """Pick the WAN address: return (address, wan_source_used, label for the explanation).

    auto: the host itself holding the public address wins, then the UPnP router's answer,
    then a 100.64.0.0/10 address on a real interface (a host plugged straight into a CGNAT
    line, such as an LTE stick). VPN and container interfaces never count.
    """
    router = "The router's WAN address"
    if wan_source == "value":
        return (value, "value", "The given WAN address") if value else (None, None, router)
    if wan_source == "none":
        return None, None, router
    if host is not None and public_ipv4 is not None and host.interface_of(public_ipv4):
        return public_ipv4, "interfaces", "This host's address"
    if wan_source in ("auto", "upnp") and upnp_address is not None:
        return upnp_address, "upnp", router
    if wan_source in ("auto", "interfaces") and host is not None and host.shared_addresses:
        name, address = host.shared_addresses[0]
        return address, "interfaces", "The address on interface %s" % name
    return None, None, router


def classify(
    ipv4,
    ipv6,
    wan_address,
    host=None,
    any_answer=True,
    ip_versions=(4, 6),
    timeout=DEFAULT_TIMEOUT,
    wan_label="The router's WAN address",
):
    """Return (classification, port_forwarding_possible, explanation).

    ipv4/ipv6: settled public addresses (or None). wan_address: the WAN IPv4 address (or
    None). host: HostAddresses or None (only the host holding the public address matters
    here). any_answer: did any source give an accepted answer at all.
    """
    if not any_answer:
        return (
            "offline",
            None,
            "No source gave a usable answer within %s s, so the public address is unknown "
            "(no internet access, or every source is blocked or misconfigured)." % _seconds(timeout),
        )
    if 4 in ip_versions and ipv4 is None:
        return (
            "unknown",
            None,
            "No public IPv4 address was settled (see sources and disagreement), so whether port "
            "forwarding can work is unknown%s." % ("; IPv6 answered %s" % ipv6 if ipv6 else ""),
        )
    public = ipv4 if 4 in ip_versions else ipv6
    interface = host.interface_of(public) if host is not None else None
    if interface is not None:
        return (
            "public",
            True,
            "This host holds the public address %s itself (on %s), so it is reachable directly "
            "once its firewall allows the port; no router forwarding is involved." % (public, interface),
        )
    if wan_address == NO_EXTERNAL_ADDRESS and 4 in ip_versions:
        return (
            "cgnat",
            False,
            "The router answers UPnP but reports no usable external address while the internet "
            "sees %s: its own WAN address is private or shared (100.64.0.0/10), so carrier-grade "
            "or double NAT sits in front of it and port forwarding cannot work." % public,
        )
    if wan_address is None or 4 not in ip_versions:
        return (
            "unknown",
            None,
            "The public address is %s but the router's WAN address is unknown, so whether port "
            "forwarding can work is unknown; give it with wan_source=value, or install miniupnpc "
            "for UPnP." % public,
        )
    wan = ipaddress.ip_address(wan_address)
    if str(wan) == public:
        return (
            "nat",
            True,
            "%s equals the public address %s, so a port forward on the router can make this "
            "host reachable." % (wan_label, public),
        )
    if wan.version == 4 and wan in SHARED_ADDRESS_SPACE:
        return (
            "cgnat",
            False,
            "%s %s is in 100.64.0.0/10, so the ISP uses carrier-grade NAT and shares the "
            "public address %s: port forwarding cannot work." % (wan_label, wan, public),
        )
    if _in_any(wan, RFC1918):
        return (
            "double_nat",
            False,
            "%s %s is private (RFC 1918), so another router sits in front of this one: a "
            "forward would be needed on both routers (or the first one put in bridge mode)." % (wan_label, wan),
        )
    return (
        "cgnat",
        False,
        "%s %s differs from the public address %s, so another NAT (most likely the ISP's) "
        "sits in between and port forwarding on this router cannot work." % (wan_label, wan, public),
    )


def _seconds(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")
