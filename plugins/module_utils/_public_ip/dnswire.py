# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small DNS client (used when dnspython is missing), and the query through either client."""

from __future__ import annotations

import os
import socket
import struct
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

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._addresses import parse_ip as _parse_ip
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.sources import RDTYPES, RETRY_INTERVAL, SourceError, _remaining


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
