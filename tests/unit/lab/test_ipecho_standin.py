"""Unit tests for the IP-echo stand-in (tests/lab/standins/ipecho/ipecho_standin.py).

Every server runs as a subprocess bound to loopback only (127.0.0.1, and ::1 when the host
has it), on free high ports, with its log and control file in a temporary directory.
dnspython is the DNS client where it can be; raw packets where the wire format itself is
under test.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.request

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from harness import free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "ipecho", "ipecho_standin.py")


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_V6 = _has_ipv6()
needs_v6 = pytest.mark.skipif(not HAS_V6, reason="no IPv6 loopback")


def _free_port(udp_too=False):
    """A port free on 127.0.0.1 and ::1, for TCP (and UDP when asked)."""
    return free_port(udp=udp_too, ipv6=HAS_V6)


class Standin:
    def __init__(self, tmp, *extra, https=None):
        self.dns_port = _free_port(udp_too=True)
        self.http_port = _free_port()
        self.https_port = _free_port() if https else 0
        self.log_path = str(tmp / "queries.log")
        self.control = str(tmp / "control.json")
        cmd = [sys.executable, STANDIN, "--listen", "127.0.0.1", "--dns-port", str(self.dns_port),
               "--http-port", str(self.http_port), "--https-port", str(self.https_port),
               "--log", self.log_path, "--control", self.control]
        if HAS_V6:
            cmd += ["--listen", "::1"]
        if https:
            cmd += ["--cert", https[0], "--key", https[1]]
        self.proc = subprocess.Popen(cmd + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if not line.startswith(b"ipecho stand-in ready"):
            self.proc.wait(5)
            raise RuntimeError("stand-in did not start: %r %r" % (line, self.proc.stderr.read()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(10)
        else:
            rc = self.proc.returncode
        if not self.proc.stderr.closed:
            self.stderr_text = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
        return rc

    # DNS ------------------------------------------------------------------
    def udp(self, name, rdtype, host="127.0.0.1", **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        return q, dns.query.udp(q, host, port=self.dns_port, timeout=3)

    def tcp(self, name, rdtype, host="127.0.0.1"):
        q = dns.message.make_query(name, rdtype)
        return dns.query.tcp(q, host, port=self.dns_port, timeout=3)

    def raw_udp(self, packet, host="127.0.0.1", timeout=2.0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect((host, self.dns_port))
            s.send(packet)
            return s.recv(4096)

    # HTTP -----------------------------------------------------------------
    def get(self, path="/", host="127.0.0.1", timeout=3):
        url = "http://%s:%d%s" % ("[%s]" % host if ":" in host else host, self.http_port, path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def log_lines(self):
        try:
            with open(self.log_path, encoding="utf-8") as f:
                return [line.rstrip("\n").split("\t") for line in f]
        except FileNotFoundError:
            return []

    def set_control(self, data):
        tmp = self.control + ".tmp"
        with open(tmp, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))
        os.replace(tmp, self.control)


@pytest.fixture
def make(tmp_path):
    started = []

    def factory(*extra, https=None):
        s = Standin(tmp_path, *extra, https=https)
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


def _raw_query(qid, name, qtype, flags=0x0100, qclass=1, tail=b""):
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if tail else 0) + wire + struct.pack("!HH", qtype, qclass) + tail


# ----------------------------------------------------------------------------- DNS


def test_myip_a_echoes_client_with_opendns_flags(make):
    s = make()
    q, r = s.udp("myip.opendns.com", "A", use_edns=0)
    assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.QR and r.flags & dns.flags.AA and r.flags & dns.flags.RD and r.flags & dns.flags.RA
    assert r.question == q.question
    (rrset,) = r.answer
    assert rrset.rdtype == dns.rdatatype.A and rrset.ttl == 0
    assert [rd.address for rd in rrset] == ["127.0.0.1"]
    assert r.edns == 0 and r.payload == 1232 and not r.options
    # Without EDNS in the query, none in the answer.
    _q, r = s.udp("myip.opendns.com", "A", use_edns=False)
    assert r.edns == -1 and r.answer[0][0].address == "127.0.0.1"


@needs_v6
def test_myip_aaaa_over_ipv6_and_nodata_across_families(make):
    s = make()
    _q, r = s.udp("myip.opendns.com", "AAAA", host="::1")
    assert r.rcode() == dns.rcode.NOERROR and [rd.address for rd in r.answer[0]] == ["::1"]
    assert r.answer[0].rdtype == dns.rdatatype.AAAA
    for rdtype, host in (("AAAA", "127.0.0.1"), ("A", "::1")):
        _q, r = s.udp("myip.opendns.com", rdtype, host=host)
        assert (rdtype, r.rcode(), r.answer) == (rdtype, dns.rcode.NOERROR, [])
        assert r.authority and r.authority[0].rdtype == dns.rdatatype.SOA


def test_google_txt_echoes_source_address(make):
    s = make()
    q, r = s.udp("o-o.myaddr.l.google.com", "TXT")
    assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA and not r.flags & dns.flags.RA
    (rrset,) = r.answer
    assert rrset.rdtype == dns.rdatatype.TXT and rrset.ttl == 60
    assert [rd.strings for rd in rrset] == [(b"127.0.0.1",)]
    if HAS_V6:
        _q, r = s.udp("o-o.myaddr.l.google.com", "TXT", host="::1")
        assert [rd.strings for rd in r.answer[0]] == [(b"::1",)]


def test_nxdomain_refused_and_nodata(make):
    s = make()
    _q, r = s.udp("www.opendns.com", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.answer == [] and r.flags & dns.flags.AA
    assert str(r.authority[0].name) == "opendns.com." and r.authority[0].rdtype == dns.rdatatype.SOA
    _q, r = s.udp("x.l.google.com", "TXT")
    assert r.rcode() == dns.rcode.NXDOMAIN and str(r.authority[0].name) == "l.google.com."
    _q, r = s.udp("example.com", "A")
    assert r.rcode() == dns.rcode.REFUSED and r.answer == [] and not r.flags & dns.flags.AA
    _q, r = s.udp("notopendns.com", "A")
    assert r.rcode() == dns.rcode.REFUSED
    # Types without data, the empty non-terminal, a class other than IN.
    for name, rdtype in (("myip.opendns.com", "TXT"), ("o-o.myaddr.l.google.com", "A"), ("myaddr.l.google.com", "TXT")):
        _q, r = s.udp(name, rdtype)
        assert (name, r.rcode(), r.answer) == (name, dns.rcode.NOERROR, [])
    q = dns.message.make_query("myip.opendns.com", "A", rdclass=dns.rdataclass.CH)
    assert dns.query.udp(q, "127.0.0.1", port=s.dns_port, timeout=3).rcode() == dns.rcode.REFUSED


def test_wire_format_case_kept_and_compression_pointer(make):
    s = make()
    packet = _raw_query(0xBEEF, "MyIp.OpenDNS.com", 1, flags=0x0000)  # RD clear
    question = packet[12:]
    reply = s.raw_udp(packet)
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
    assert (qid, qd, an, ns, ar) == (0xBEEF, 1, 1, 0, 0)
    assert flags == 0x8000 | 0x0400 | 0x0080  # QR AA RA, RD echoed as clear, NOERROR
    assert reply[12:12 + len(question)] == question
    assert reply[12 + len(question):] == bytes.fromhex("c00c 0001 0001 00000000 0004 7f000001")
    # EDNS version 1 -> BADVERS (extended RCODE 16) with an OPT of our own.
    opt = b"\x00" + struct.pack("!HHIH", 41, 4096, 1 << 16, 0)
    r = dns.message.from_wire(s.raw_udp(_raw_query(7, "myip.opendns.com", 1, tail=opt)))
    assert r.rcode() == dns.rcode.BADVERS and r.edns == 0
    # Opcode other than QUERY (NOTIFY=4) -> NOTIMP.
    reply = s.raw_udp(_raw_query(8, "myip.opendns.com", 1, flags=4 << 11))
    assert struct.unpack("!H", reply[2:4])[0] & 0x000F == 4


def test_malformed_packets_ignored_server_alive(make):
    s = make()
    good = _raw_query(0x4242, "myip.opendns.com", 1)
    junk = [
        b"",
        b"\x12\x34\x01",
        _raw_query(1, "myip.opendns.com", 1, flags=0x8100),  # QR set: a response
        good[:4] + b"\x00\x02" + good[6:],  # QDCOUNT 2 but one question
        good[:12] + b"\x3fmyip\x00\x00\x01\x00\x01",  # label longer than the packet
        good[:12] + b"\xc0\x0c\x00\x01\x00\x01",  # pointer (to itself) in the question
        good + b"\x00",  # trailing byte
        good[:6] + b"\x00\x01" + good[8:],  # ANCOUNT 1, no record
        os.urandom(3),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.connect(("127.0.0.1", s.dns_port))
        for packet in junk:
            sock.send(packet)
        sock.send(good)
        reply = sock.recv(4096)  # the first (and only) answer is the good query's
        assert reply[:2] == b"\x42\x42"
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(4096)
    assert s.proc.poll() is None
    lines = s.log_lines()
    assert sum(1 for line in lines if line[5] == "MALFORMED") == len(junk)
    assert [line[4:] for line in lines if line[5] != "MALFORMED"] == [["myip.opendns.com A", "NOERROR A 127.0.0.1"]]


def test_tcp_dns_length_prefix_several_queries(make):
    s = make()
    with socket.create_connection(("127.0.0.1", s.dns_port), timeout=3) as sock:
        for qid, name, qtype in ((1, "myip.opendns.com", 1), (2, "o-o.myaddr.l.google.com", 16)):
            packet = _raw_query(qid, name, qtype)
            sock.sendall(struct.pack("!H", len(packet)) + packet)
            (length,) = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))
            r = dns.message.from_wire(sock.recv(length, socket.MSG_WAITALL))
            assert r.id == qid and r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
    r = s.tcp("o-o.myaddr.l.google.com", "TXT")
    assert [rd.strings for rd in r.answer[0]] == [(b"127.0.0.1",)]
    assert [line[1] for line in s.log_lines()] == ["dns-tcp"] * 3


def test_collection_client_accepts_the_answers(make):
    """The public_ip module's own DNS clients (built-in and dnspython) read these answers."""
    s = make()
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _public_ip as mod

    for client in ("builtin", "dnspython"):
        for spec_ in ({"name": "o", "server": "127.0.0.1", "port": s.dns_port, "query": "myip.opendns.com", "rdtype": "A"},
                      {"name": "g", "server": "127.0.0.1", "port": s.dns_port, "query": "o-o.myaddr.l.google.com", "rdtype": "TXT"}):
            src = mod.dns_source(spec_)
            assert mod.query_dns(src, time.monotonic() + 3, client=client) == "127.0.0.1"


# ----------------------------------------------------------------------------- HTTP(S)


def test_http_text_json_head_and_404(make):
    s = make()
    assert s.get("/") == (200, "text/plain; charset=utf-8", b"127.0.0.1\n")
    status, ctype, body = s.get("/?format=json")
    assert (status, ctype, json.loads(body)) == (200, "application/json", {"ip": "127.0.0.1"})
    assert s.get("/ip")[0] == 404 and s.get("/favicon.ico")[0] == 404
    req = urllib.request.Request("http://127.0.0.1:%d/" % s.http_port, method="HEAD")
    with urllib.request.urlopen(req, timeout=3) as r:
        assert r.status == 200 and r.headers["Content-Length"] == "10" and r.read() == b""
    if HAS_V6:
        assert s.get("/", host="::1")[2] == b"::1\n"


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ipecho.lab")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ipecho.lab"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_with_self_signed_cert(make, tmp_path):
    cert, key = _self_signed(tmp_path)
    s = make(https=(cert, key))
    ctx = ssl.create_default_context(cafile=cert)
    url = "https://127.0.0.1:%d/" % s.https_port
    with urllib.request.urlopen(url, context=ctx, timeout=3) as r:
        assert r.read() == b"127.0.0.1\n"
    with urllib.request.urlopen(url + "?format=json", context=ctx, timeout=3) as r:
        assert json.loads(r.read()) == {"ip": "127.0.0.1"}
    # A client that does not trust the certificate fails the handshake; the server lives on.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=3)
    # A client that connects and says nothing blocks nobody else.
    with socket.create_connection(("127.0.0.1", s.https_port)):
        with urllib.request.urlopen(url, context=ctx, timeout=3) as r:
            assert r.status == 200
    assert [line[1] for line in s.log_lines()] == ["https"] * 3
    assert s.stop() == 0 and s.stderr_text == b""  # failed handshakes leave no traceback


# ----------------------------------------------------------------------------- modes


def test_mode_garbage(make):
    s = make("--mode", "garbage")
    assert s.get("/")[::2] == (200, b"<html>not an ip</html>")
    assert s.get("/?format=json")[2] == b"<html>not an ip</html>"
    for name, rdtype in (("myip.opendns.com", "A"), ("o-o.myaddr.l.google.com", "TXT")):
        _q, r = s.udp(name, rdtype)
        assert r.rcode() == dns.rcode.NOERROR
        (rrset,) = r.answer
        assert rrset.rdtype == dns.rdatatype.TXT and [rd.strings for rd in rrset] == [(b"nonsense",)]


def test_mode_private(make):
    s = make("--mode", "private")
    assert s.get("/")[2] == b"10.0.0.1\n"
    assert json.loads(s.get("/?format=json")[2]) == {"ip": "10.0.0.1"}
    assert s.udp("myip.opendns.com", "A")[1].answer[0][0].address == "10.0.0.1"
    assert s.udp("o-o.myaddr.l.google.com", "TXT")[1].answer[0][0].strings == (b"10.0.0.1",)
    if HAS_V6:
        assert s.udp("myip.opendns.com", "AAAA", host="::1")[1].answer[0][0].address == "fd00::1"


def test_mode_blackhole(make):
    s = make("--mode", "blackhole")
    with pytest.raises(socket.timeout):
        s.raw_udp(_raw_query(9, "myip.opendns.com", 1), timeout=0.4)
    with socket.create_connection(("127.0.0.1", s.http_port), timeout=0.4) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(socket.timeout):
            sock.recv(1)  # no answer, and no close either (that would return b"")
    deadline = time.time() + 2
    while len(s.log_lines()) < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert sorted(line[5] for line in s.log_lines()) == ["DROPPED", "NO ANSWER"]
    assert {line[3] for line in s.log_lines()} == {"blackhole"}
    assert s.stop() == 0  # a held connection does not stop a clean exit


def test_delay(make):
    s = make("--delay-ms", "300")
    t0 = time.monotonic()
    assert s.get("/")[2] == b"127.0.0.1\n"
    t1 = time.monotonic()
    s.udp("myip.opendns.com", "A")
    t2 = time.monotonic()
    assert t1 - t0 >= 0.3 and t2 - t1 >= 0.3
    s.set_control({"delay_ms": 0})
    t3 = time.monotonic()
    s.get("/")
    assert time.monotonic() - t3 < 0.25


def test_control_file_and_sighup(make):
    s = make()
    assert s.get("/")[2] == b"127.0.0.1\n"
    s.set_control({"mode": "garbage"})
    assert s.get("/")[2] == b"<html>not an ip</html>"
    s.set_control({"mode": "private"})
    assert s.udp("myip.opendns.com", "A")[1].answer[0][0].address == "10.0.0.1"
    # A bad file is reported and the last good settings stay.
    s.set_control("{not json")
    assert s.get("/")[2] == b"10.0.0.1\n"
    s.set_control({"mode": "loud"})
    assert s.get("/")[2] == b"10.0.0.1\n"
    # Removing the file restores the command-line values.
    os.unlink(s.control)
    assert s.get("/")[2] == b"127.0.0.1\n"
    # An in-place rewrite that stat() cannot see (same inode, size, mtime) needs SIGHUP.
    s.set_control(json.dumps({"mode": "normal"}).ljust(40))
    assert s.get("/")[2] == b"127.0.0.1\n"
    st = os.stat(s.control)
    with open(s.control, "w") as f:
        f.write(json.dumps({"mode": "garbage"}).ljust(40))
    os.utime(s.control, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert s.get("/")[2] == b"127.0.0.1\n"
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.1)
    assert s.get("/")[2] == b"<html>not an ip</html>"
    assert s.stop() == 0
    assert s.stderr_text.count(b"control file") == 2


def test_log_lines(make):
    s = make()
    s.udp("myip.opendns.com", "A")
    s.udp("example.com", "MX")
    s.udp("foo.opendns.com", "TYPE65")
    s.tcp("o-o.myaddr.l.google.com", "TXT")
    s.get("/?format=json")
    s.get("/nope")
    lines = s.log_lines()
    assert [line[1:] for line in lines] == [
        ["dns-udp", "127.0.0.1", "normal", "myip.opendns.com A", "NOERROR A 127.0.0.1"],
        ["dns-udp", "127.0.0.1", "normal", "example.com MX", "REFUSED"],
        ["dns-udp", "127.0.0.1", "normal", "foo.opendns.com HTTPS", "NXDOMAIN"],
        ["dns-tcp", "127.0.0.1", "normal", "o-o.myaddr.l.google.com TXT", "NOERROR TXT 127.0.0.1"],
        ["http", "127.0.0.1", "normal", "GET /?format=json", "200 127.0.0.1"],
        ["http", "127.0.0.1", "normal", "GET /nope", "404"],
    ]
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", line[0])


# ----------------------------------------------------------------------------- process


def test_sigterm_clean_exit_bad_flags_and_busy_port(make, tmp_path):
    s = make()
    r = subprocess.run([sys.executable, STANDIN, "--listen", "127.0.0.1", "--dns-port", str(s.dns_port),
                        "--http-port", "0"], capture_output=True, timeout=10)
    assert r.returncode == 1 and b"cannot listen" in r.stderr
    r = subprocess.run([sys.executable, STANDIN, "--cert", "x.pem"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"usage" in r.stderr.lower()
    r = subprocess.run([sys.executable, STANDIN, "--mode", "weird"], capture_output=True, timeout=10)
    assert r.returncode == 2
    assert s.stop() == 0
