# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the A/AAAA records now published for a name, over DNS (dnspython): from a
configured resolver or, without one, straight from the zone's authoritative servers. The
providers whose API has no read call (dyndns2, DuckDNS, Namecheap) and rfc2136 use it.
"""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    RETRYABLE,
    Counter,
    DdnsError,
    canonical_ip,
)

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
