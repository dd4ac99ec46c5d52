# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic update, signed with TSIG (RFC 8945), with dnspython.

- read:   a plain query for <hostname> <type> sent to the primary (server, server_port),
          so the answer is the zone's own data, not a cache.
- update: one UPDATE message for zone: delete the RRset, add the new address (a replace),
          with the TTL the record had (300 for a new one), over TCP, signed with
          tsig_key_name / tsig_key_secret (base64) and tsig_algorithm (default hmac-sha256,
          not the hmac-md5 default of community.general.nsupdate).
- delete: one UPDATE message deleting the name's RRset of each type (RFC 2136 section 2.5.2),
          signed the same way; sent only for types the read found.
Answers: NOERROR -> done; REFUSED / NOTAUTH / a TSIG error -> auth; NOTZONE -> config;
SERVFAIL -> retryable. The TSIG secret never appears in a message.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    RETRYABLE,
    DdnsError,
    UpdateResult,
    canonical_ip,
    single,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.dnsread import HAS_DNSPYTHON
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (
    Provider,
    register,
)

if HAS_DNSPYTHON:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update

ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")
DEFAULT_TTL = 300


@register
class Rfc2136(Provider):
    name = "rfc2136"
    needs_zone = True

    def __init__(self, *args, **kwargs):
        self._ttl = {}
        super().__init__(*args, **kwargs)

    @property
    def where(self):
        return "rfc2136 (%s port %d)" % (self.settings.server, self.settings.server_port)

    def check_settings(self):
        if not HAS_DNSPYTHON:
            raise DdnsError("config", "provider rfc2136 needs the Python library dnspython on the managed host; install it")
        s = self.settings
        if not s.server:
            raise DdnsError("config", "provider rfc2136 needs server (the primary DNS server of the zone); set server")
        self.base_url = "dns://%s" % s.server  # not used for HTTP; satisfies the base checks
        zone = self.zone_name()
        if not zone:
            raise DdnsError("config", "provider rfc2136 needs zone (the zone to update); set zone")
        if self.hostname != zone and not self.hostname.endswith("." + zone):
            raise DdnsError("config", "hostname %s is not inside zone %s; set zone to the zone that holds the name" % (self.hostname, zone))
        if bool(s.tsig_key_name) != bool(s.tsig_key_secret):
            raise DdnsError("config", "tsig_key_name and tsig_key_secret go together; set both, or neither for an unsigned update")
        if s.tsig_algorithm not in ALGORITHMS:
            raise DdnsError("config", "tsig_algorithm: %r is not supported; choose one of %s" % (s.tsig_algorithm, ", ".join(ALGORITHMS)))
        if s.tsig_key_secret:
            try:
                base64.b64decode(s.tsig_key_secret, validate=True)
            except (binascii.Error, ValueError):
                raise DdnsError("config", "tsig_key_secret is not valid base64 (value not shown); paste the secret exactly as the key file holds it") from None
        self._server_ip = self._resolve_server(s.server)

    def _resolve_server(self, server):
        try:
            return ipaddress.ip_address(server).compressed
        except ValueError:
            pass
        try:
            self.counter.add("lookups")
            return socket.getaddrinfo(server, None, proto=socket.IPPROTO_UDP)[0][4][0]
        except (OSError, IndexError) as exc:
            raise DdnsError(RETRYABLE, "could not resolve server %s: %s" % (server, exc)) from None

    def _keyring(self):
        s = self.settings
        if not s.tsig_key_name:
            return None, None
        name = dns.name.from_text(s.tsig_key_name)
        return dns.tsigkeyring.from_text({s.tsig_key_name: s.tsig_key_secret}), name

    def read_current(self, record_type):
        query = dns.message.make_query(self.hostname, dns.rdatatype.from_text(record_type))
        port = self.settings.server_port
        try:
            self.counter.add("reads")
            response = dns.query.udp(query, self._server_ip, port=port, timeout=self.settings.timeout)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(query, self._server_ip, port=port, timeout=self.settings.timeout)
        except (dns.exception.Timeout, OSError) as exc:
            raise DdnsError(RETRYABLE, "no DNS answer from %s for %s %s: %s" % (self.where, self.hostname, record_type, exc or "timed out")) from None
        except dns.exception.DNSException as exc:
            raise DdnsError(RETRYABLE, "bad DNS answer from %s: %s" % (self.where, exc)) from None
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None
        if rcode == dns.rcode.REFUSED:
            raise DdnsError(
                "config",
                "%s refused the query for %s %s; set server to the zone's primary, which must answer queries for the zone"
                % (self.where, self.hostname, record_type),
            )
        if rcode != dns.rcode.NOERROR:
            raise DdnsError(RETRYABLE, "%s answered %s to the query for %s %s" % (self.where, dns.rcode.to_text(rcode), self.hostname, record_type))
        wanted = dns.rdatatype.from_text(record_type)
        found = []
        for rrset in response.answer:
            if rrset.rdtype == wanted and rrset.name == dns.name.from_text(self.hostname):
                self._ttl[record_type] = rrset.ttl
                found.extend(canonical_ip(r.address) for r in rrset)
        return single(sorted(set(found)))

    def update(self, record_type, address):
        return self.update_many({record_type: address})

    def _message(self):
        keyring, keyname = self._keyring()
        kwargs = {}
        if keyring is not None:
            kwargs = dict(keyring=keyring, keyname=keyname, keyalgorithm=dns.name.from_text(self.settings.tsig_algorithm))
        return dns.update.UpdateMessage(self.settings.zone, **kwargs), keyring is not None

    def update_many(self, changes, desired=None):
        update, signed = self._message()
        types = tuple(t for t in ("A", "AAAA") if t in changes)
        for rtype in types:
            update.replace(self.hostname + ".", self._ttl.get(rtype, DEFAULT_TTL), rtype, changes[rtype])
        return self._send(update, signed, types)

    def delete(self, record_type):
        return self.delete_many([record_type])

    def delete_many(self, record_types):
        update, signed = self._message()
        types = tuple(t for t in ("A", "AAAA") if t in record_types)
        for rtype in types:
            update.delete(self.hostname + ".", rtype)
        return self._send(update, signed, types)

    def _send(self, update, signed, types):
        try:
            self.counter.add("updates")
            response = dns.query.tcp(update, self._server_ip, port=self.settings.server_port, timeout=self.settings.timeout)
        except dns.tsig.PeerError as exc:
            raise DdnsError(
                "auth",
                "%s rejected the TSIG signature (%s); check tsig_key_name, tsig_key_secret and tsig_algorithm"
                % (self.where, type(exc).__name__),
            ) from None
        except dns.tsig.BadSignature:
            raise DdnsError("auth", "the answer from %s failed TSIG verification; check tsig_key_secret and tsig_algorithm" % self.where) from None
        except (dns.exception.Timeout, OSError) as exc:
            raise DdnsError(RETRYABLE, "no answer from %s to the update: %s" % (self.where, exc or "timed out")) from None
        except dns.exception.DNSException as exc:
            raise DdnsError("protocol", "bad answer from %s to the update: %s" % (self.where, type(exc).__name__)) from None
        rcode = response.rcode()
        text = dns.rcode.to_text(rcode)
        if rcode == dns.rcode.NOERROR:
            return UpdateResult(types, "NOERROR")
        if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            signed = "a signed" if signed else "an unsigned"
            raise DdnsError(
                "auth",
                "%s answered %s to %s update of %s; check tsig_key_name, tsig_key_secret and tsig_algorithm, and that the server's "
                "update policy allows this key to change %s records of %s" % (self.where, text, signed, self.settings.zone, "/".join(types), self.hostname),
            )
        if rcode == dns.rcode.NOTZONE:
            raise DdnsError("config", "%s answered NOTZONE: %s is not in zone %s there; check zone" % (self.where, self.hostname, self.settings.zone))
        if rcode == dns.rcode.SERVFAIL:
            raise DdnsError(RETRYABLE, "%s answered SERVFAIL to the update; the server has a problem; run the task again later" % self.where)
        raise DdnsError("protocol", "%s answered %s to the update" % (self.where, text))
