# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loopback network stand-ins for the unit tests (importable as standins.network).

DnsStandIn (UDP DNS answering A/AAAA/TXT), HttpEcho (HTTP or HTTPS with a test CA),
TcpBlackHole (accepts and never answers); DnsStandIn(mode="silent") is the UDP one;
make_test_ca() writes a CA and a server certificate for 127.0.0.1 and ::1.
They listen on loopback only; the network guard (tests/unit/harness.py, autouse through
tests/unit/conftest.py) refuses everything else.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import struct
import threading

_QTYPES = {1: "A", 28: "AAAA", 16: "TXT"}


# --------------------------------------------------------------------------------------
# DNS
# --------------------------------------------------------------------------------------


class DnsStandIn:
    """A UDP DNS server on loopback.

    records: {(name, "A"|"AAAA"|"TXT"): [text, ...]}; a TXT text becomes one record.
    mode: "answer" (default), "silent" (black hole: reads and never answers),
    "servfail", "nxdomain", "truncated", "garbage" (one TXT "nonsense" for every type),
    "drop_first" (the first query is lost, as UDP may lose it; later ones are answered).
    """

    def __init__(self, records=None, mode="answer", host="127.0.0.1"):
        self.records = {(n.lower().rstrip("."), t): v for (n, t), v in (records or {}).items()}
        self.mode = mode
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                qid, name, qtype, question = _parse_query(data)
            except (ValueError, struct.error, IndexError):
                continue
            self.queries.append((name, _QTYPES.get(qtype, qtype)))
            if self.mode == "silent" or (self.mode == "drop_first" and len(self.queries) == 1):
                continue
            reply = self._reply(qid, name, qtype, question)
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                return

    def _reply(self, qid, name, qtype, question):
        rcode = {"servfail": 2, "nxdomain": 3}.get(self.mode, 0)
        flags = 0x8180 | rcode | (0x0200 if self.mode == "truncated" else 0)
        answers = []
        if self.mode == "garbage":  # a TXT record whatever the type, like a confused echo
            answers.append(_record(16, "nonsense"))
        elif not rcode:
            for text in self.records.get((name, _QTYPES.get(qtype)), []):
                answers.append(_record(qtype, text))
        header = struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 0)
        return header + question + b"".join(answers)

    def close(self):
        self.sock.close()


def _parse_query(data):
    qid = struct.unpack("!H", data[:2])[0]
    offset = 12
    labels = []
    while data[offset]:
        length = data[offset]
        labels.append(data[offset + 1 : offset + 1 + length].decode("ascii"))
        offset += 1 + length
    offset += 1
    qtype = struct.unpack("!H", data[offset : offset + 2])[0]
    question = data[12 : offset + 4]
    return qid, ".".join(labels).lower(), qtype, question


def _record(qtype, text):
    if qtype == 1:
        rdata = socket.inet_pton(socket.AF_INET, text)
    elif qtype == 28:
        rdata = socket.inet_pton(socket.AF_INET6, text)
    else:
        raw = text.encode("ascii")
        rdata = b"".join(bytes([len(raw[i : i + 255])]) + raw[i : i + 255] for i in range(0, max(len(raw), 1), 255))
    # Name as a compression pointer to the question (offset 12), class IN, TTL 0.
    return struct.pack("!HHHIH", 0xC00C, qtype, 1, 0, len(rdata)) + rdata


# --------------------------------------------------------------------------------------
# HTTP(S)
# --------------------------------------------------------------------------------------


class HttpEcho:
    """An HTTP (or, with tls=(cert, key), HTTPS) server answering body with status."""

    def __init__(self, body="203.0.113.7\n", status=200, tls=None, host="127.0.0.1"):
        echo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                echo.requests.append(self.headers.get("User-Agent"))  # before answering: no race
                payload = echo.body.encode("utf-8")
                self.send_response(echo.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        server_class = http.server.ThreadingHTTPServer
        if ":" in host:

            class server_class(http.server.ThreadingHTTPServer):  # noqa: N801
                address_family = socket.AF_INET6

        self.body = body
        self.status = status
        self.requests = []
        self.server = server_class((host, 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        port = self.server.server_address[1]
        self.url = "%s://%s:%d/" % (scheme, "[%s]" % host if ":" in host else host, port)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TcpBlackHole:
    """Accepts TCP connections and never answers (a black-holed HTTP source)."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://%s:%d/" % (host, self.port)
        self.held = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def make_test_ca(directory):
    """A CA and a server certificate for 127.0.0.1 and ::1. Returns (ca_pem, (cert, key))."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "public_ip test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_pem = directory / "server.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = directory / "server.key"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(ca_pem), (str(cert_pem), str(key_pem))
