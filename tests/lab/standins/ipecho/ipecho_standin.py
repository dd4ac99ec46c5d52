#!/usr/bin/python3
"""Stand-in for the internet's "what is my IP" services, for the test lab (Python 3.11 stdlib only).

The lab has no internet, so the public_ip module is pointed at this program on the lab's WAN
side. It answers the way the public services do when asked from outside, as seen from their
documented or observed behaviour (dig/curl transcripts); the behaviour was re-implemented
here, no upstream code was copied. One process plays all of them at once:

Implemented
  * OpenDNS resolvers (208.67.222.222 ...): `myip.opendns.com` A -> the querying client's
    source address, TTL 0, flags QR AA RD(echoed) RA. AAAA answers only when the query came
    over IPv6; the other family's type gets NOERROR with no answer (NODATA). Type ANY is
    answered like the client family's type.
  * Google's authoritative ns1.google.com (216.239.32.10 ...): `o-o.myaddr.l.google.com` TXT
    -> one TXT string, the address the query came from (either family), TTL 60, flags
    QR AA RD(echoed), no RA - as ns1.google.com answers.
  * Other names in the zones opendns.com and l.google.com: NXDOMAIN (the empty non-terminals
    myaddr.l.google.com and l.google.com, and the apex opendns.com: NODATA), with an
    invented SOA in the authority section. Any other name, or a class other than IN:
    REFUSED. Opcodes other than QUERY: NOTIMP.
  * DNS wire format (RFC 1035) written here: header ID echoed, question echoed byte for
    byte (case kept), answer owner names as compression pointers to the question. UDP and
    TCP (2-byte length prefix, several queries per connection) on the same port.
    EDNS0 (RFC 6891): an OPT record in the query is accepted and answered with a minimal
    OPT (version 0, UDP size 1232, no options); EDNS version > 0 -> BADVERS.
    Malformed packets (short header, QR set, QDCOUNT != 1, bad names or records, trailing
    bytes) are dropped without an answer and logged as MALFORMED.
  * HTTP and HTTPS echo (icanhazip.com / checkip.amazonaws.com / api.ipify.org):
    GET or HEAD `/` -> the client address as text/plain with a trailing newline;
    `/?format=json` -> {"ip": "..."} as application/json (ipify). Any other path: 404.
    Threaded; HTTPS only when --cert and --key (PEM) are given, TLS handshake done in the
    connection's thread so a silent client blocks nobody.
  * Client address: the packet's source address (an IPv6 scope id dropped). IPv6 sockets are
    IPv6-only, so an IPv4 client is always seen as IPv4, never as ::ffff:a.b.c.d.

Behaviour switches (for tests of the client)
  --mode normal|garbage|blackhole|private and --delay-ms N set the start values. At run
  time they come from the control file (--control FILE), a JSON object such as
  {"mode": "garbage", "delay_ms": 500}; missing keys (or a missing file) fall back to the
  command-line values. The file is stat()ed before every answer and re-read when its inode,
  size or mtime changed; write it atomically (write a temporary file, then rename) so a
  reader never sees half a file. SIGHUP forces a re-read (systemctl reload). A file that
  is not valid JSON or has unknown values is reported on stderr and the last good
  settings stay.
    normal     the client's own address.
    garbage    HTTP: 200 "<html>not an ip</html>" (text/html); DNS: every query for the
               two echo names gets NOERROR with one TXT record "nonsense" (whatever the type).
    blackhole  DNS: the query is read and dropped. HTTP(S): the connection is accepted and
               the request read, then nothing is written until the client goes away.
    private    10.0.0.1 instead of the address of an IPv4 client; fd00::1 (ULA) for an IPv6
               client, as an AAAA record cannot carry 10.0.0.1.
  --delay-ms N waits N ms before each answer (each query has its own thread, so a delay
  does not hold up other clients).

Query log (--log FILE): one line per query, tab-separated, appended and flushed at once:
  TIME  PROTO  CLIENT  MODE  QUESTION  ANSWER
  TIME is ISO 8601 local time with milliseconds and offset; PROTO is dns-udp, dns-tcp, http
  or https; QUESTION is "NAME TYPE" (e.g. "myip.opendns.com A", unknown types as TYPE65)
  or "GET /?format=json" ("-" for a malformed packet); ANSWER is e.g. "NOERROR A 192.0.2.7",
  "NOERROR TXT 192.0.2.7", "NOERROR NODATA", "NXDOMAIN", "REFUSED", "NOTIMP", "BADVERS",
  "DROPPED", "MALFORMED", "200 192.0.2.7", "404", "NO ANSWER". The file is opened for each
  line, so it can be rotated or truncated under the running server.

Listening: --listen ADDRESS (repeatable). Default: 0.0.0.0, plus :: when the host has IPv6
(IPv6 sockets are IPv6-only, so 0.0.0.0 and :: coexist). Ports: --dns-port 53,
--http-port 80, --https-port 443; 0 turns that service off. A port that cannot be bound
is fatal (exit 1, "cannot listen" on stderr). SIGTERM or SIGINT: clean exit, status 0.
A line "ipecho stand-in ready: ..." on stdout tells that every socket is bound.

Not implemented
  Recursion (every other name is REFUSED), DNSSEC (no signatures, DO bit ignored, AD never
  set), EDNS Client Subnet (Google adds a second TXT string "edns0-client-subnet ..." when
  a query carries ECS; ignored here), EDNS options and cookies, truncation (TC) and UDP size
  limits (the answers are tiny), DNS over TLS/HTTPS, zone transfers, NOTIFY/UPDATE, real SOA
  or NS data, the OpenDNS filtering/"block page" behaviour, rate limiting, ipify's
  format=jsonp and the per-family host names (api6.ipify.org, ipv4.icanhazip.com ...):
  one listener answers every Host header, so the family of the answer is the family the
  client connected over. With a wildcard listen address on a multi-homed host, UDP answers
  leave from whatever source address the kernel picks; listen on specific addresses in
  the lab.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.server
import ipaddress
import json
import os
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import urllib.parse

MODES = ("normal", "garbage", "blackhole", "private")
PRIVATE_V4 = "10.0.0.1"
PRIVATE_V6 = "fd00::1"
GARBAGE_HTML = "<html>not an ip</html>"
GARBAGE_TXT = "nonsense"

MYIP_NAME = "myip.opendns.com"
GOOGLE_NAME = "o-o.myaddr.l.google.com"
# zone apex -> (echo name in it, TTL of the echo answer, RA flag of that service)
ZONES = {
    "opendns.com": (MYIP_NAME, 0, True),
    "l.google.com": (GOOGLE_NAME, 60, False),
}

T_A, T_NS, T_SOA, T_TXT, T_AAAA, T_OPT, T_ANY = 1, 2, 6, 16, 28, 41, 255
TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
              33: "SRV", 41: "OPT", 65: "HTTPS", 255: "ANY"}
C_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
BADVERS = 16
EDNS_UDP_SIZE = 1232

STOP = threading.Event()


def _err(text: str) -> None:
    try:
        sys.stderr.write("ipecho-standin: %s\n" % text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


# ----------------------------------------------------------------------------- settings


class Behaviour:
    """Mode and delay: command-line values, overridden by the control file when present."""

    def __init__(self, mode: str, delay_ms: int, control: str | None):
        self.base = {"mode": mode, "delay_ms": delay_ms}
        self.control = control
        self.current = dict(self.base)
        self._key = None
        self.lock = threading.Lock()

    def force_reload(self) -> None:
        with self.lock:
            self._key = ("force",)

    def get(self) -> tuple[str, int]:
        with self.lock:
            if self.control:
                self._refresh()
            return self.current["mode"], self.current["delay_ms"]

    def _refresh(self) -> None:
        try:
            st = os.stat(self.control)
        except FileNotFoundError:
            if self._key is not None:
                self._key = None
                self.current = dict(self.base)
            return
        except OSError as exc:
            _err("cannot stat control file: %s" % exc)
            return
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        if key == self._key:
            return
        self._key = key
        try:
            with open(self.control, encoding="utf-8") as f:
                data = json.load(f)
            self.current = self.parse(data, self.base)
        except (OSError, ValueError) as exc:
            _err("control file %s ignored, keeping mode=%s delay_ms=%s: %s"
                 % (self.control, self.current["mode"], self.current["delay_ms"], exc))

    @staticmethod
    def parse(data, base: dict) -> dict:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        unknown = set(data) - {"mode", "delay_ms"}
        if unknown:
            raise ValueError("unknown keys %s" % sorted(unknown))
        new = dict(base)
        if "mode" in data:
            if data["mode"] not in MODES:
                raise ValueError("mode must be one of %s" % ", ".join(MODES))
            new["mode"] = data["mode"]
        if "delay_ms" in data:
            d = data["delay_ms"]
            if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                raise ValueError("delay_ms must be an integer >= 0")
            new["delay_ms"] = d
        return new


class QueryLog:
    def __init__(self, path: str | None):
        self.path = path
        self.lock = threading.Lock()

    def write(self, proto: str, client: str, mode: str, question: str, answer: str) -> None:
        if not self.path:
            return
        now = _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
        line = "\t".join((now, proto, client, mode, question, answer)) + "\n"
        with self.lock:
            try:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
            except OSError as exc:
                _err("cannot write log: %s" % exc)


def client_ip(addr) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(addr[0].split("%")[0])


def echo_address(ip, mode: str) -> str:
    if mode == "private":
        return PRIVATE_V4 if ip.version == 4 else PRIVATE_V6
    return str(ip)


def _sleep(delay_ms: int) -> None:
    if delay_ms > 0:
        STOP.wait(delay_ms / 1000.0)


# ----------------------------------------------------------------------------- DNS wire format


class Malformed(Exception):
    pass


class Query:
    __slots__ = ("id", "flags", "qname", "labels", "label_offsets", "qtype", "qclass", "qwire", "edns")


def _read_labels(data: bytes, off: int, allow_pointers: bool):
    """Labels of the name at off and the offset after it. Pointers only when allowed."""
    labels: list[bytes] = []
    offsets: list[int] = []
    total = 0
    end = None
    hops = 0
    while True:
        if off >= len(data):
            raise Malformed("name runs past the end")
        length = data[off]
        if length & 0xC0 == 0xC0:
            if not allow_pointers or off + 1 >= len(data):
                raise Malformed("compression pointer not allowed here")
            hops += 1
            if hops > 32:
                raise Malformed("pointer loop")
            if end is None:
                end = off + 2
            off = ((length & 0x3F) << 8) | data[off + 1]
            continue
        if length & 0xC0:
            raise Malformed("unknown label type")
        if length == 0:
            return labels, offsets, (end if end is not None else off + 1)
        label = data[off + 1:off + 1 + length]
        if len(label) != length:
            raise Malformed("label runs past the end")
        total += length + 1
        if total > 254:
            raise Malformed("name longer than 255 bytes")
        labels.append(label)
        offsets.append(off)
        off += 1 + length


def parse_query(data: bytes) -> Query:
    if len(data) < 12:
        raise Malformed("short header")
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    if flags & 0x8000:
        raise Malformed("QR set: a response, not a query")
    if qd != 1:
        raise Malformed("QDCOUNT %d" % qd)
    q = Query()
    q.id, q.flags = qid, flags
    labels, offsets, off = _read_labels(data, 12, allow_pointers=False)
    if off + 4 > len(data):
        raise Malformed("question runs past the end")
    q.qtype, q.qclass = struct.unpack("!HH", data[off:off + 4])
    q.labels, q.label_offsets = labels, offsets
    try:
        q.qname = b".".join(labels).decode("ascii")
    except UnicodeDecodeError:
        q.qname = b".".join(labels).decode("ascii", "backslashreplace")
    off += 4
    q.qwire = data[12:off]
    q.edns = None
    for index in range(an + ns + ar):
        rlabels, _o, off = _read_labels(data, off, allow_pointers=True)
        if off + 10 > len(data):
            raise Malformed("record runs past the end")
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
        off += 10 + rdlen
        if off > len(data):
            raise Malformed("record data runs past the end")
        if rtype == T_OPT:
            if index < an + ns or rlabels or q.edns is not None:
                raise Malformed("misplaced or repeated OPT record")
            q.edns = {"udp": rclass, "version": (ttl >> 16) & 0xFF}
    if off != len(data):
        raise Malformed("trailing bytes")
    return q


def _rr(name_ptr: int, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return struct.pack("!HHHIH", 0xC000 | name_ptr, rtype, C_IN, ttl, len(rdata)) + rdata


def _soa(zone_ptr: int) -> bytes:
    ptr = struct.pack("!H", 0xC000 | zone_ptr)
    rdata = (b"\x03ns1" + ptr + b"\x09dns-admin" + ptr
             + struct.pack("!IIIII", 1, 900, 900, 1800, 0))
    return _rr(zone_ptr, T_SOA, 0, rdata)


def build_response(q: Query, rcode: int, answers=(), authority=(), aa=True, ra=False) -> bytes:
    flags = 0x8000 | (q.flags & 0x7800) | (q.flags & 0x0100)  # QR, opcode, RD echoed
    if aa:
        flags |= 0x0400
    if ra:
        flags |= 0x0080
    flags |= rcode & 0x0F
    additional = b""
    if q.edns is not None:
        ext = (rcode >> 4) & 0xFF
        additional = b"\x00" + struct.pack("!HHIH", T_OPT, EDNS_UDP_SIZE, ext << 24, 0)
    head = struct.pack("!HHHHHH", q.id, flags, 1, len(answers), len(authority), 1 if additional else 0)
    return head + q.qwire + b"".join(answers) + b"".join(authority) + additional


def _txt(text: str) -> bytes:
    raw = text.encode("ascii")[:255]
    return bytes([len(raw)]) + raw


def answer_dns(q: Query, ip, mode: str):
    """The response for q from client ip, and the log text of the answer."""
    if (q.flags >> 11) & 0x0F != 0:
        return build_response(q, NOTIMP, aa=False), "NOTIMP"
    if q.edns is not None and q.edns["version"] > 0:
        return build_response(q, BADVERS, aa=False), "BADVERS"
    if q.qclass != C_IN:
        return build_response(q, REFUSED, aa=False), "REFUSED"
    name = q.qname.lower()
    for zone, (echo, ttl, ra) in ZONES.items():
        if name == zone or name.endswith("." + zone):
            break
    else:
        return build_response(q, REFUSED, aa=False), "REFUSED"
    zone_index = len(q.labels) - zone.count(".") - 1
    zone_ptr = q.label_offsets[zone_index]
    if name == echo:
        if mode == "garbage":
            return build_response(q, NOERROR, [_rr(12, T_TXT, ttl, _txt(GARBAGE_TXT))], ra=ra), \
                "NOERROR TXT " + GARBAGE_TXT
        text = echo_address(ip, mode)
        if echo == GOOGLE_NAME and q.qtype in (T_TXT, T_ANY):
            return build_response(q, NOERROR, [_rr(12, T_TXT, ttl, _txt(text))], ra=ra), "NOERROR TXT " + text
        if echo == MYIP_NAME:
            want = {4: T_A, 6: T_AAAA}[ip.version]
            if q.qtype in (want, T_ANY):
                packed = ipaddress.ip_address(text).packed
                return build_response(q, NOERROR, [_rr(12, want, ttl, packed)], ra=ra), \
                    "NOERROR %s %s" % (TYPE_NAMES[want], text)
        return build_response(q, NOERROR, [], [_soa(zone_ptr)], ra=ra), "NOERROR NODATA"
    if echo.endswith("." + name) or name == zone:
        return build_response(q, NOERROR, [], [_soa(zone_ptr)], ra=ra), "NOERROR NODATA"
    return build_response(q, NXDOMAIN, [], [_soa(zone_ptr)], ra=ra), "NXDOMAIN"


def handle_dns(app: "App", proto: str, data: bytes, addr):
    """Answer bytes for one DNS message, or None when nothing is to be sent."""
    ip = client_ip(addr)
    mode, delay = app.behaviour.get()
    try:
        q = parse_query(data)
    except Malformed:
        app.log.write(proto, str(ip), mode, "-", "MALFORMED")
        return None
    question = "%s %s" % (q.qname or ".", TYPE_NAMES.get(q.qtype, "TYPE%d" % q.qtype))
    if mode == "blackhole":
        app.log.write(proto, str(ip), mode, question, "DROPPED")
        return None
    response, text = answer_dns(q, ip, mode)
    _sleep(delay)
    app.log.write(proto, str(ip), mode, question, text)
    return response


# ----------------------------------------------------------------------------- servers


class _Family:
    """Mixin: address family from the bind address; IPv6 sockets are IPv6-only."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, handler, app):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        super().__init__(address, handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ValueError)):
            return
        super().handle_error(request, client_address)


class DnsUdpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        response = handle_dns(self.server.app, "dns-udp", data, self.client_address)
        if response is not None:
            sock.sendto(response, self.client_address)


class DnsTcpHandler(socketserver.BaseRequestHandler):
    def _read(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def handle(self):
        self.request.settimeout(30)
        while not STOP.is_set():
            head = self._read(2)
            if head is None:
                return
            (length,) = struct.unpack("!H", head)
            data = self._read(length)
            if data is None:
                return
            response = handle_dns(self.server.app, "dns-tcp", data, self.client_address)
            if response is not None:
                self.request.sendall(struct.pack("!H", len(response)) + response)


class DnsUdpServer(_Family, socketserver.ThreadingUDPServer):
    # No SO_REUSEADDR on UDP: on Linux it would let a second server share the port.
    allow_reuse_address = False
    max_packet_size = 65535


class DnsTcpServer(_Family, socketserver.ThreadingTCPServer):
    pass


class EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ipecho-standin"
    sys_version = ""
    timeout = 30

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _reply(self, head_only: bool):
        app = self.server.app
        proto = self.server.proto
        ip = client_ip(self.client_address)
        mode, delay = app.behaviour.get()
        question = "%s %s" % (self.command, self.path)
        url = urllib.parse.urlsplit(self.path)
        if mode == "blackhole":
            app.log.write(proto, str(ip), mode, question, "NO ANSWER")
            self._swallow()
            return
        _sleep(delay)
        if url.path != "/":
            status, ctype, body, text = 404, "text/plain; charset=utf-8", b"404 page not found\n", "404"
        elif mode == "garbage":
            status, ctype, body, text = 200, "text/html; charset=utf-8", GARBAGE_HTML.encode(), "200 " + GARBAGE_HTML
        else:
            addr = echo_address(ip, mode)
            fmt = urllib.parse.parse_qs(url.query).get("format", [""])[-1]
            if fmt == "json":
                ctype, body = "application/json", json.dumps({"ip": addr}, separators=(",", ":")).encode()
            else:
                ctype, body = "text/plain; charset=utf-8", (addr + "\n").encode()
            status, text = 200, "200 " + addr
        app.log.write(proto, str(ip), mode, question, text)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _swallow(self):
        """Blackhole: keep reading, write nothing, until the client closes or we stop."""
        self.close_connection = True
        self.connection.settimeout(0.5)
        while not STOP.is_set():
            try:
                if not self.connection.recv(4096):
                    return
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return

    def do_GET(self):
        self._reply(False)

    def do_HEAD(self):
        self._reply(True)


class HttpServer(_Family, http.server.ThreadingHTTPServer):
    def __init__(self, address, handler, app, proto="http", tls: ssl.SSLContext | None = None):
        self.proto = proto
        self.tls = tls
        super().__init__(address, handler, app)

    def server_bind(self):
        # HTTPServer.server_bind would call getfqdn(), a DNS lookup the lab may not answer.
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class App:
    def __init__(self, behaviour: Behaviour, log: QueryLog):
        self.behaviour = behaviour
        self.log = log


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(prog="ipecho_standin.py",
                                description="Lab stand-in for public IP echo services (DNS and HTTP).")
    p.add_argument("--listen", action="append", default=None, metavar="ADDRESS",
                   help="address to listen on (repeatable; default 0.0.0.0 and :: when IPv6 exists)")
    p.add_argument("--dns-port", type=int, default=53, help="DNS port, UDP and TCP (0: off)")
    p.add_argument("--http-port", type=int, default=80, help="HTTP port (0: off)")
    p.add_argument("--https-port", type=int, default=443, help="HTTPS port (0: off; needs --cert/--key)")
    p.add_argument("--cert", help="PEM certificate (chain) for HTTPS")
    p.add_argument("--key", help="PEM private key for HTTPS")
    p.add_argument("--mode", choices=MODES, default="normal")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--control", metavar="FILE", help="JSON control file re-read at run time")
    p.add_argument("--log", metavar="FILE", help="query log, one line per query")
    args = p.parse_args(argv)
    for name in ("dns_port", "http_port", "https_port"):
        if not 0 <= getattr(args, name) <= 65535:
            p.error("--%s must be between 0 and 65535" % name.replace("_", "-"))
    if args.delay_ms < 0:
        p.error("--delay-ms must be >= 0")
    if bool(args.cert) != bool(args.key):
        p.error("--cert and --key go together")
    if args.listen:
        for a in args.listen:
            try:
                ipaddress.ip_address(a)
            except ValueError:
                p.error("--listen %r is not an IP address" % a)
    return args


def _ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    behaviour = Behaviour(args.mode, args.delay_ms, args.control)
    app = App(behaviour, QueryLog(args.log))
    listen = args.listen or (["0.0.0.0", "::"] if _ipv6_available() else ["0.0.0.0"])

    tls = None
    if args.cert and args.https_port:
        try:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            tls.load_cert_chain(args.cert, args.key)
        except (OSError, ssl.SSLError) as exc:
            _err("cannot load certificate/key: %s" % exc)
            return 1

    servers = []
    labels = []
    try:
        for host in listen:
            if args.dns_port:
                servers.append(DnsUdpServer((host, args.dns_port), DnsUdpHandler, app))
                servers.append(DnsTcpServer((host, args.dns_port), DnsTcpHandler, app))
                labels.append("dns %s:%d" % (host, args.dns_port))
            if args.http_port:
                servers.append(HttpServer((host, args.http_port), EchoHandler, app))
                labels.append("http %s:%d" % (host, args.http_port))
            if tls is not None:
                servers.append(HttpServer((host, args.https_port), EchoHandler, app, "https", tls))
                labels.append("https %s:%d" % (host, args.https_port))
    except OSError as exc:
        for s in servers:
            s.server_close()
        _err("cannot listen on %s: %s" % (host, exc))
        return 1
    if not servers:
        _err("nothing to serve: every port is 0")
        return 1

    def on_stop(_signum, _frame):
        STOP.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, lambda _s, _f: behaviour.force_reload())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    try:
        sys.stdout.write("ipecho stand-in ready: %s\n" % ", ".join(labels))
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    while not STOP.wait(0.5):
        pass
    stoppers = [threading.Thread(target=s.shutdown) for s in servers]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join(5)
    for s in servers:
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
