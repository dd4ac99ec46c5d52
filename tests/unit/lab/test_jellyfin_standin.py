"""Unit tests for the Jellyfin stand-in (tests/lab/standins/jellyfin/jellyfin_standin.py).

Every server runs as a subprocess bound to loopback only, with temporary directories.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import importlib.util
import ipaddress
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

import pytest

from harness import free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "jellyfin", "jellyfin_standin.py")
MEDIA_SIZE = 2 * 1024 * 1024
AUTH = 'MediaBrowser Client="test", Device="pytest", DeviceId="dev1", Version="1.0"'


def _network_xml(port, base_url="", known=(), bind=("127.0.0.1",), ipv6=False, extra=""):
    arr = lambda name, items: "<%s>%s</%s>" % (name, "".join("<string>%s</string>" % i for i in items), name)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<NetworkConfiguration>"
            "<BaseUrl>%s</BaseUrl><InternalHttpPort>%d</InternalHttpPort>"
            "<EnableIPv6>%s</EnableIPv6>%s%s%s</NetworkConfiguration>\n"
            % (base_url, port, "true" if ipv6 else "false",
               arr("LocalNetworkAddresses", bind), arr("KnownProxies", known), extra))


def _system_xml(wizard=True, limit=None):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<ServerConfiguration>'
            "<IsStartupWizardCompleted>%s</IsStartupWizardCompleted>%s</ServerConfiguration>"
            % ("true" if wizard else "false",
               "" if limit is None else "<RemoteClientBitrateLimit>%d</RemoteClientBitrateLimit>" % limit))


class Standin:
    """A stand-in with its own directories. system.xml: a set-up server (wizard completed)
    unless system=None (no file: the stand-in writes its defaults) or another text."""

    def __init__(self, root, system=_system_xml(), **net):
        self.root = root
        self.port = free_port()
        self.dirs = {k: os.path.join(root, k) for k in ("config", "data", "cache", "log")}
        os.makedirs(self.dirs["config"], exist_ok=True)
        with open(os.path.join(self.dirs["config"], "network.xml"), "w") as f:
            f.write(_network_xml(self.port, **net))
        if system is not None:
            with open(os.path.join(self.dirs["config"], "system.xml"), "w") as f:
                f.write(system)
        users = os.path.join(root, "users.json")
        with open(users, "w") as f:
            json.dump({"Alice": "secret"}, f)
        self.env = dict(os.environ, JELLYFIN_STANDIN_MEDIA_MIB="2", JELLYFIN_STANDIN_USERS=users,
                        JELLYFIN_STANDIN_SERVER_NAME="labbox")
        self.proc = None

    def start(self, host="127.0.0.1"):
        d = self.dirs
        self.proc = subprocess.Popen(
            [sys.executable, STANDIN, "--configdir", d["config"], "--datadir", d["data"],
             "--cachedir", d["cache"], "--logdir", d["log"]],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode())
            try:
                socket.create_connection((host, self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("stand-in did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(10)
            self.proc.stderr.close()
            return rc
        return None

    def request(self, method, path, headers=None, body=None, host="127.0.0.1"):
        conn = http.client.HTTPConnection(host, self.port, timeout=5)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def log_text(self):
        text = ""
        for name in sorted(os.listdir(self.dirs["log"])):
            with open(os.path.join(self.dirs["log"], name), encoding="utf-8") as f:
                text += f.read()
        return text

    def resolved_ip(self, headers):
        """The client address the server resolved, read from its DBG request line.

        Each probe asks for a path of its own, so a late log line of an earlier request
        can never be taken for this one's.
        """
        path = "/probe-%s" % uuid.uuid4().hex
        self.request("GET", path, headers=headers)
        deadline = time.time() + 3
        while time.time() < deadline:
            lines = [line for line in self.log_text().splitlines()
                     if "Jellyfin.StandIn.RequestLog" in line and '"%s"' % path in line]
            if lines:
                return re.search(r'to "([^"]+)"$', lines[-1]).group(1)
            time.sleep(0.02)
        raise AssertionError("no request line logged")


@pytest.fixture
def make(tmp_path):
    started = []

    def factory(name="s", **net):
        s = Standin(str(tmp_path / name), **net)
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()


def _module():
    spec = importlib.util.spec_from_file_location("jellyfin_standin", STANDIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_health_ping_and_clean_sigterm(make):
    s = make().start()
    resp, body = s.request("GET", "/health")
    assert (resp.status, body) == (200, b"Healthy")
    resp, body = s.request("GET", "/System/Ping")
    assert resp.status == 200 and json.loads(body) == "Jellyfin Server"
    assert s.stop() == 0


def test_public_info_fields_and_stable_id(make):
    s = make().start()
    resp, body = s.request("GET", "/System/Info/Public")
    info = json.loads(body)
    assert resp.status == 200
    assert info["ProductName"] == "Jellyfin Server" and info["ServerName"] == "labbox"
    assert info["Version"] == "10.11.10" and info["StartupWizardCompleted"] is True
    assert info["LocalAddress"] == "http://127.0.0.1:%d" % s.port
    assert re.fullmatch(r"[0-9a-f]{32}", info["Id"])
    assert "OperatingSystem" in info
    s.stop()
    s.start()
    assert json.loads(s.request("GET", "/System/Info/Public")[1])["Id"] == info["Id"]


def test_base_url_redirects(make):
    s = make(base_url="jellyfin/").start()
    cases = {"/": "jellyfin/web/", "/jellyfin": "jellyfin/web/", "/jellyfin/": "web/",
             "/other/page": "../jellyfin/web/", "/health": "/jellyfin/health"}
    for path, location in cases.items():
        resp, _ = s.request("GET", path)
        assert (path, resp.status, resp.getheader("Location")) == (path, 302, location)
    assert s.request("GET", "/jellyfin/health")[0].status == 200
    info = json.loads(s.request("GET", "/jellyfin/System/Info/Public")[1])
    assert info["LocalAddress"].endswith(":%d/jellyfin" % s.port)


def test_no_base_url_only_root_redirects(make):
    s = make().start()
    resp, _ = s.request("GET", "/")
    assert resp.status == 302 and resp.getheader("Location") == "web/"
    assert s.request("GET", "/health")[0].status == 200


def test_ranges(make):
    s = make().start()
    resp, body = s.request("GET", "/Videos/0123456789abcdef0123456789abcdef/stream.mkv?static=true")
    assert resp.status == 200 and len(body) == MEDIA_SIZE and resp.getheader("Accept-Ranges") == "bytes"
    assert body[:1024 * 1024] == body[1024 * 1024:] and body.count(0) < len(body) // 100
    resp, part = s.request("GET", "/Videos/x/stream", {"Range": "bytes=10-19"})
    assert resp.status == 206 and part == body[10:20]
    assert resp.getheader("Content-Range") == "bytes 10-19/%d" % MEDIA_SIZE
    resp, _ = s.request("GET", "/Videos/x/stream", {"Range": "bytes=%d-" % MEDIA_SIZE})
    assert resp.status == 416 and resp.getheader("Content-Range") == "bytes */%d" % MEDIA_SIZE
    lm = resp.getheader("Last-Modified")
    resp, part = s.request("GET", "/Videos/x/stream", {"Range": "bytes=0-3", "If-Range": lm})
    assert resp.status == 206 and len(part) == 4
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    resp, full = s.request("GET", "/Videos/x/stream", {"Range": "bytes=0-3", "If-Range": old})
    assert resp.status == 200 and len(full) == MEDIA_SIZE
    resp, none = s.request("HEAD", "/Videos/x/stream", {"Range": "bytes=-5"})
    assert resp.status == 206 and none == b"" and resp.getheader("Content-Length") == "5"


def _ws_frame(opcode, payload):
    mask = os.urandom(4)
    return (struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _ws_read(sock):
    hdr = sock.recv(2, socket.MSG_WAITALL)
    n = hdr[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))[0]
    return hdr[0] & 0x0F, sock.recv(n, socket.MSG_WAITALL) if n else b""


def test_websocket(make):
    s = make().start()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert head.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Accept: " + expected in head
    op, data = _ws_read(sock)
    assert op == 1 and json.loads(data)["MessageType"] == "ForceKeepAlive" and json.loads(data)["Data"] == 60
    sock.sendall(_ws_frame(1, b'{"MessageType":"KeepAlive"}'))
    op, data = _ws_read(sock)
    assert op == 1 and json.loads(data)["MessageType"] == "KeepAlive"
    sock.sendall(_ws_frame(9, b"abc"))
    assert _ws_read(sock) == (10, b"abc")
    sock.sendall(_ws_frame(8, struct.pack("!H", 1000)))
    assert _ws_read(sock) == (8, struct.pack("!H", 1000))
    sock.close()


def test_xff_ignored_without_known_proxies(make):
    s = make().start()
    assert s.resolved_ip({"X-Forwarded-For": "203.0.113.7"}) == "127.0.0.1"


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "localhost"])
def test_xff_used_when_peer_is_known(make, entry):
    s = make(known=(entry,)).start()
    assert s.resolved_ip({"X-Forwarded-For": "203.0.113.7"}) == "203.0.113.7"


def test_multi_hop_chain(make):
    s = make(known=("127.0.0.1", "198.51.100.2")).start()
    # Right to left: 127.0.0.1 trusted -> 198.51.100.2 trusted -> 203.0.113.9 (stop there).
    assert s.resolved_ip({"X-Forwarded-For": "10.0.0.1, 203.0.113.9, 198.51.100.2"}) == "203.0.113.9"
    # 192.0.2.50 is not a known proxy: the hop before it is not believed.
    assert s.resolved_ip({"X-Forwarded-For": "10.0.0.1, 203.0.113.9, 192.0.2.50"}) == "192.0.2.50"


def test_forwarding_rules_unit():
    mod = _module()
    cfg = mod.NetworkConfig()
    cfg.known_proxies = ["192.0.2.10", "10.1.0.0/16"]
    trust = mod.ProxyTrust(cfg)
    hdrs = http.client.HTTPMessage()
    hdrs["X-Forwarded-For"] = "203.0.113.1"
    hdrs["X-Forwarded-Proto"] = "https"
    ip = ipaddress.ip_address
    # A peer that is not listed: headers ignored, scheme untouched.
    assert mod.apply_forwarders(trust, ip("192.0.2.99"), hdrs, "http", "h") == (ip("192.0.2.99"), "http", "h")
    assert mod.apply_forwarders(trust, ip("192.0.2.10"), hdrs, "http", "h") == (ip("203.0.113.1"), "https", "h")
    assert mod.apply_forwarders(trust, ip("::ffff:10.1.2.3"), hdrs, "http", "h")[0] == ip("203.0.113.1")
    # Loopback stays trusted once any proxy is listed (ASP.NET Core defaults kept by Jellyfin).
    assert mod.apply_forwarders(trust, ip("127.0.0.5"), hdrs, "http", "h")[0] == ip("203.0.113.1")
    assert mod.apply_forwarders(mod.ProxyTrust(mod.NetworkConfig()), ip("127.0.0.1"), hdrs, "http", "h")[0] == ip("127.0.0.1")
    assert mod._path_difference("/a/b", "/jf/web/") == "../jf/web/"


def test_authentication_denied_log_line(make):
    s = make(known=("127.0.0.1",)).start()
    hdr = {"Authorization": AUTH, "Content-Type": "application/json", "X-Forwarded-For": "198.51.100.23"}
    resp, body = s.request("POST", "/Users/AuthenticateByName", hdr, json.dumps({"Username": "mallory", "Pw": "x"}))
    assert resp.status == 401 and body == b"Error processing request."
    resp, body = s.request("POST", "/Users/AuthenticateByName", hdr, json.dumps({"Username": "alice", "Pw": "bad"}))
    assert resp.status == 401
    resp, body = s.request("POST", "/Users/AuthenticateByName", hdr, json.dumps({"Username": "alice", "Pw": "secret"}))
    assert resp.status == 200 and json.loads(body)["User"]["Name"] == "Alice"
    log = s.log_text()
    pat = (r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d\] \[INF\] \[\d+\] "
           r"Jellyfin\.Server\.Implementations\.Users\.UserManager: ")
    assert re.search(pat + re.escape('Authentication request for "mallory" has been denied (IP: "198.51.100.23").') + "$",
                     log, re.M)
    assert re.search(pat + re.escape('Authentication request for "Alice" has been denied (IP: "198.51.100.23").') + "$",
                     log, re.M)
    assert log.count("has been denied") == 2


def test_bind_local_network_addresses(make):
    s = make(bind=("127.0.0.1",)).start()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", s.port), timeout=1).close()
    s2 = make("v6", bind=("::1",), ipv6=True).start(host="::1")
    resp, _ = s2.request("GET", "/health", host="::1")
    assert resp.status == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s2.port), timeout=1).close()


def test_bad_flag_and_port_in_use(make, tmp_path):
    r = subprocess.run([sys.executable, STANDIN, "--no-such-flag"], capture_output=True, timeout=10)
    assert r.returncode != 0 and b"usage" in r.stderr.lower()
    s = make().start()
    s2 = Standin(str(tmp_path / "dup"))
    s2.port = s.port
    with open(os.path.join(s2.dirs["config"], "network.xml"), "w") as f:
        f.write(_network_xml(s.port))
    d = s2.dirs
    r = subprocess.run([sys.executable, STANDIN, "-c", d["config"], "-d", d["data"], "-C", d["cache"], "-l", d["log"]],
                       env=s2.env, capture_output=True, timeout=10)
    assert r.returncode != 0 and b"cannot listen" in r.stderr


def test_missing_network_xml_is_written_with_defaults(make):
    """First start without network.xml: the defaults are saved, then served (port 8096)."""
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", 8096))
        except OSError:
            pytest.skip("port 8096 is busy on this machine")
    s = make()
    written = os.path.join(s.dirs["config"], "network.xml")
    os.unlink(written)
    s.port = 8096
    s.start()
    with open(written, encoding="utf-8") as f:
        text = f.read()
    assert text == _module().DEFAULT_NETWORK_XML
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<NetworkConfiguration ')
    assert "<KnownProxies />" in text and not text.endswith("\n")
    resp, body = s.request("GET", "/health")
    assert (resp.status, body) == (200, b"Healthy")


# ----------------------------------------------------------------------------- HTTPS


def _pkcs12(directory, password, name="localhost", serial=None):
    """A CA and a leaf for name/127.0.0.1 in a PKCS#12 file; returns (p12 path, CA PEM path, leaf)."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = datetime.now(timezone.utc)

    def cert(subject, issuer, key, sign_key, ca, sans=None, number=None):
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(number or x509.random_serial_number())
             .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             # Python 3.13 (Debian 13) verifies with VERIFY_X509_STRICT: a CA needs keyUsage and
             # its subject key identifier, a leaf the authority key identifier.
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(sign_key.public_key()), critical=False))
        if ca:
            b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(sign_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("stand-in test CA", "stand-in test CA", ca_key, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert(name, "stand-in test CA", key, ca_key, False,
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], serial)
    p12 = os.path.join(directory, "jellyfin.pfx")
    with open(p12, "wb") as f:
        f.write(pkcs12.serialize_key_and_certificates(b"jellyfin", key, leaf, [ca],
                                                      serialization.BestAvailableEncryption(password.encode())))
    ca_pem = os.path.join(directory, "ca.pem")
    with open(ca_pem, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    return p12, ca_pem, leaf


def _https_xml(p12, password, https_port, require=False, enable=True):
    return ("<EnableHttps>%s</EnableHttps><RequireHttps>%s</RequireHttps><CertificatePath>%s</CertificatePath>"
            "<CertificatePassword>%s</CertificatePassword><InternalHttpsPort>%d</InternalHttpsPort>"
            % (str(enable).lower(), str(require).lower(), p12, password, https_port))


def _https_get(port, ca_pem, path="/System/Info/Public", host="127.0.0.1", headers=None):
    import ssl

    ctx = ssl.create_default_context(cafile=ca_pem)
    conn = http.client.HTTPSConnection(host, port, timeout=5, context=ctx)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    peer = conn.sock.getpeercert(binary_form=True)
    conn.close()
    return resp, data, peer


def test_https_from_pkcs12(make, tmp_path):
    """EnableHttps with a PKCS#12 file: HTTPS on InternalHttpsPort with that certificate, HTTP still on."""
    from cryptography.hazmat.primitives import serialization

    password = "p12-Pass-7d1e"
    p12, ca_pem, leaf = _pkcs12(str(tmp_path), password)
    https_port = free_port()
    s = make(extra=_https_xml(p12, password, https_port)).start()
    resp, data, peer = _https_get(https_port, ca_pem)
    assert resp.status == 200 and json.loads(data)["ProductName"] == "Jellyfin Server"
    assert peer == leaf.public_bytes(serialization.Encoding.DER)
    assert "Strict-Transport-Security" not in resp.headers  # only with RequireHttps
    resp, _ = s.request("GET", "/health")
    assert resp.status == 200  # without RequireHttps plain HTTP still answers
    # Plain HTTP on the HTTPS port gets no HTTP answer.
    with pytest.raises((http.client.HTTPException, OSError)):
        conn = http.client.HTTPConnection("127.0.0.1", https_port, timeout=3)
        conn.request("GET", "/health")
        conn.getresponse()
    assert password not in s.log_text()


def test_require_https_redirects_plain_http(make, tmp_path):
    password = "p12-Pass-0b9c"
    p12, ca_pem, _ = _pkcs12(str(tmp_path), password)
    https_port = free_port()
    s = make(extra=_https_xml(p12, password, https_port, require=True), base_url="/jf").start()
    resp, _ = s.request("GET", "/jf/System/Info/Public?x=1", headers={"Host": "media.example.test:8096"})
    assert resp.status == 307
    assert resp.headers["Location"] == "https://media.example.test:%d/jf/System/Info/Public?x=1" % https_port
    # Every client is redirected, loopback included (Startup.cs: UseHttpsRedirection for all).
    resp, _ = s.request("GET", "/jf/health", headers={"Host": "127.0.0.1:%d" % s.port})
    assert resp.status == 307 and resp.headers["Location"] == "https://127.0.0.1:%d/jf/health" % https_port
    resp, data, _ = _https_get(https_port, ca_pem, "/jf/System/Info/Public", host="localhost")
    assert resp.status == 200
    # Jellyfin sends no HSTS header, for any name (no UseHsts in Startup.cs).
    resp, _, _ = _https_get(https_port, ca_pem, "/jf/health", headers={"Host": "media.example.test:%d" % https_port})
    assert resp.status == 200 and "Strict-Transport-Security" not in resp.headers


@pytest.mark.parametrize("case", ["wrong password", "missing file", "not pkcs12"])
def test_certificate_that_does_not_load_leaves_http_only(make, tmp_path, case):
    password = "p12-Pass-51aa"
    p12, _, _ = _pkcs12(str(tmp_path), password)
    given = password
    if case == "wrong password":
        given = "not-the-password"
    elif case == "missing file":
        p12 = str(tmp_path / "nowhere.pfx")
    else:
        with open(p12, "w") as f:
            f.write("-----BEGIN NOTHING-----\n")
    https_port = free_port()
    s = make(extra=_https_xml(p12, given, https_port, require=True)).start()
    resp, _ = s.request("GET", "/health")
    assert resp.status == 200  # no HTTPS listening: RequireHttps does not redirect
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
    log = s.log_text()
    assert "Failed to load certificate from" in log and given not in log


# ----------------------------------------------------------------------------- LAN, remote access, wizard


def _lan(subnets=(), ipv4=True, ipv6=False, remote_access=True, remote_filter=(), blacklist=False):
    mod = _module()
    cfg = mod.NetworkConfig()
    cfg.local_network_subnets = list(subnets)
    cfg.enable_ipv4, cfg.enable_ipv6 = ipv4, ipv6
    cfg.enable_remote_access = remote_access
    cfg.remote_ip_filter, cfg.is_remote_ip_filter_blacklist = list(remote_filter), blacklist
    return mod.LanPolicy(cfg)


@pytest.mark.parametrize("address, local", [
    ("10.13.13.2", True), ("172.31.255.1", True), ("192.168.1.20", True), ("127.0.0.1", True),
    ("127.8.9.10", True), ("::ffff:192.168.1.20", True), ("::1", True),
    ("172.32.0.1", False), ("100.64.0.5", False), ("203.0.113.9", False), ("169.254.1.1", False),
    # IPv6 private ranges are LAN only while IPv6 is enabled (here it is not).
    ("fd7a:115c:a1e0::1", False), ("fe80::1", False), ("2001:db8::1", False),
])
def test_lan_fallback_while_local_network_subnets_is_empty(address, local):
    assert _lan().is_in_local_network(ipaddress.ip_address(address)) is local


@pytest.mark.parametrize("address, local", [
    ("fd7a:115c:a1e0::1", True), ("fe80::1", True), ("::1", True), ("2001:db8::1", False), ("192.168.1.20", True),
])
def test_lan_fallback_with_ipv6_enabled(address, local):
    assert _lan(ipv6=True).is_in_local_network(ipaddress.ip_address(address)) is local


@pytest.mark.parametrize("address, local", [
    # Once anything is listed, only the list is LAN: the home LAN turns remote.
    ("10.13.13.2", True), ("192.168.1.20", False), ("172.16.0.1", False),
    ("10.13.13.66", False),  # excluded with "!"
    ("127.0.0.1", True), ("::1", True),  # loopback stays local whatever the list says
    ("198.51.100.9", True),  # a single address, no prefix: /32
    ("10.0.0.7", False),  # "10.0.0.0/33" does not parse and is skipped
])
def test_lan_is_only_the_listed_subnets(address, local):
    lan = _lan(subnets=["10.13.13.0/24", "!10.13.13.64/27", "198.51.100.9", "10.0.0.0/33", "junk"])
    assert lan.is_in_local_network(ipaddress.ip_address(address)) is local


def test_unparseable_subnets_only_fall_back_to_private_ranges():
    assert _lan(subnets=["junk", ""]).is_in_local_network(ipaddress.ip_address("192.168.1.20")) is True


def test_server_access_policy():
    ip = ipaddress.ip_address
    assert _lan(remote_access=False).server_access(ip("203.0.113.9")) == "RejectDueToRemoteAccessDisabled"
    assert _lan(remote_access=False).server_access(ip("192.168.1.20")) == "Allow"
    assert _lan().server_access(ip("203.0.113.9")) == "Allow"
    allow = _lan(remote_filter=["198.51.100.0/24", "203.0.113.9"])
    assert allow.server_access(ip("203.0.113.9")) == "Allow"
    assert allow.server_access(ip("203.0.113.10")) == "RejectDueToNotAllowlistedRemoteIP"
    deny = _lan(remote_filter=["203.0.113.9"], blacklist=True)
    assert deny.server_access(ip("203.0.113.9")) == "RejectDueToIPBlocklist"
    assert deny.server_access(ip("203.0.113.10")) == "Allow"


LINE = r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d\] \[%s\] \[\d+\] %s: %s$"


def _wait_for(s, pattern):
    deadline = time.time() + 3
    while time.time() < deadline:
        found = re.findall(pattern, s.log_text(), re.M)
        if found:
            return found
        time.sleep(0.02)
    return []


def test_playback_decision_line(make):
    """MediaInfoHelper logs the decision when a remote limit is set (system.xml), per client."""
    s = make(known=("127.0.0.1",), extra="<LocalNetworkSubnets><string>192.168.50.0/24</string></LocalNetworkSubnets>",
             system=_system_xml(limit=8000000)).start()
    for client in ("192.168.50.7", "10.1.1.1"):
        resp, body = s.request("POST", "/Items/0123456789abcdef0123456789abcdef/PlaybackInfo",
                               {"Authorization": AUTH, "X-Forwarded-For": client})
        assert resp.status == 200 and json.loads(body)["MediaSources"][0]["Id"] == "0123456789abcdef0123456789abcdef"
    category = re.escape("Jellyfin.Api.Helpers.MediaInfoHelper")
    assert _wait_for(s, LINE % ("INF", category, re.escape(
        "RemoteClientBitrateLimit: 8000000, RemoteIP: 192.168.50.7, IsInLocalNetwork: True")))
    # 10.1.1.1 is private, but LocalNetworkSubnets lists only 192.168.50.0/24.
    assert _wait_for(s, LINE % ("INF", category, re.escape(
        "RemoteClientBitrateLimit: 8000000, RemoteIP: 10.1.1.1, IsInLocalNetwork: False")))


def test_no_decision_line_without_a_remote_limit(make):
    s = make(system=_system_xml()).start()
    resp, _ = s.request("POST", "/Items/abc/PlaybackInfo", {"Authorization": AUTH})
    assert resp.status == 200
    s.resolved_ip({})  # a later request's line is written: the playback one would be there by now
    assert "RemoteClientBitrateLimit" not in s.log_text()


def test_remote_access_disabled_answers_503_to_remote_clients(make):
    s = make(known=("127.0.0.1",), extra="<EnableRemoteAccess>false</EnableRemoteAccess>").start()
    resp, body = s.request("GET", "/System/Info/Public", {"X-Forwarded-For": "203.0.113.9"})
    assert (resp.status, body, resp.getheader("Content-Length")) == (503, b"", "0")
    assert s.request("GET", "/health", {"X-Forwarded-For": "203.0.113.9"})[0].status == 503
    # LAN (private ranges, LocalNetworkSubnets empty) and the server itself are served.
    assert s.request("GET", "/System/Info/Public", {"X-Forwarded-For": "192.168.1.9"})[0].status == 200
    assert s.request("GET", "/System/Info/Public")[0].status == 200
    assert _wait_for(s, LINE % ("WRN", re.escape("Jellyfin.Api.Middleware.IpBasedAccessValidationMiddleware"), re.escape(
        'Blocking request to "%2fSystem%2fInfo%2fPublic" by 203.0.113.9 due to IP filtering rule, '
        "reason: RejectDueToRemoteAccessDisabled")))


def test_remote_access_disabled_with_listed_subnets_turns_the_lan_away(make):
    s = make(known=("127.0.0.1",), extra="<EnableRemoteAccess>false</EnableRemoteAccess>"
             "<LocalNetworkSubnets><string>10.13.13.0/24</string></LocalNetworkSubnets>").start()
    assert s.request("GET", "/health", {"X-Forwarded-For": "192.168.1.9"})[0].status == 503
    assert s.request("GET", "/health", {"X-Forwarded-For": "10.13.13.2"})[0].status == 200


def test_startup_wizard_state_from_system_xml(make):
    s = make(system=None).start()
    written = os.path.join(s.dirs["config"], "system.xml")
    info = json.loads(s.request("GET", "/System/Info/Public")[1])
    assert info["StartupWizardCompleted"] is False  # a fresh server
    with open(written, encoding="utf-8") as f:
        assert "<IsStartupWizardCompleted>false</IsStartupWizardCompleted>" in f.read()
    s.stop()
    with open(written, "w", encoding="utf-8") as f:
        f.write(_system_xml(wizard=True))
    s.start()
    assert json.loads(s.request("GET", "/System/Info/Public")[1])["StartupWizardCompleted"] is True


def test_system_xml_that_does_not_load_is_replaced_by_defaults(make):
    s = make(system=_system_xml(wizard=True).replace(">true<", ">True<")).start()
    assert json.loads(s.request("GET", "/System/Info/Public")[1])["StartupWizardCompleted"] is False
    with open(os.path.join(s.dirs["config"], "system.xml"), encoding="utf-8") as f:
        assert f.read() == _module().system_xml_text(False, 0)


@pytest.mark.parametrize("text, value", [("true", True), ("1", True), (" false\n", False), ("0", False)])
def test_booleans_are_xmlconvert(text, value):
    assert _module().xml_bool(text) is value


@pytest.mark.parametrize("text", ["True", "FALSE", "yes", "", "t"])
def test_booleans_xmlconvert_rejects(text):
    mod = _module()
    with pytest.raises(mod.ConfigLoadError):
        mod.xml_bool(text)


@pytest.mark.parametrize("bad", ["<EnableIPv6>True</EnableIPv6>", "<InternalHttpsPort>8920x</InternalHttpsPort>",
                                 "<EnableRemoteAccess />", "<InternalHttpsPort>2147483648</InternalHttpsPort>"])
def test_network_xml_with_a_bad_value_runs_on_the_defaults(make, bad):
    """One value XmlSerializer cannot convert: Jellyfin logs the error and runs on every default
    (port 8096, KnownProxies empty); the file on disk is left as it was; /health is green."""
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", 8096))
        except OSError:
            pytest.skip("port 8096 is busy on this machine")
    s = make(known=("127.0.0.1",), extra=bad)
    path = os.path.join(s.dirs["config"], "network.xml")
    with open(path, "rb") as f:
        before = f.read()
    s.port = 8096
    s.start()
    assert s.request("GET", "/health")[0].status == 200
    assert s.resolved_ip({"X-Forwarded-For": "203.0.113.7"}) == "127.0.0.1"  # KnownProxies lost
    with open(path, "rb") as f:
        assert f.read() == before
    assert _wait_for(s, LINE % ("ERR", re.escape("Emby.Server.Implementations.AppBase.BaseConfigurationManager"),
                                re.escape('Error loading configuration file: "%s"' % path)))


def test_network_xml_booleans_one_and_zero_are_read(make):
    s = make(known=("127.0.0.1",), extra="<EnableRemoteAccess>0</EnableRemoteAccess>").start()
    assert s.request("GET", "/health", {"X-Forwarded-For": "203.0.113.9"})[0].status == 503


# ---------------------------------------------------------------- remote bitrate limit (PlaybackInfo decides, stream obeys)
ITEM = "0123456789abcdef0123456789abcdef"
LAN_ONLY = "<LocalNetworkSubnets><string>192.168.50.0/24</string></LocalNetworkSubnets>"


def _playback(s, client, query="", body=None):
    headers = {"Authorization": AUTH, "X-Forwarded-For": client}
    if body is not None:
        headers["Content-Type"] = "application/json"
    resp, data = s.request("POST", "/Items/%s/PlaybackInfo%s" % (ITEM, query), headers,
                           None if body is None else json.dumps(body))
    assert resp.status == 200, data
    return json.loads(data)["MediaSources"][0]


def test_a_remote_client_is_sent_to_a_transcode_within_the_limit_and_a_lan_client_plays_directly(make):
    s = make(known=("127.0.0.1",), extra=LAN_ONLY, system=_system_xml(limit=8000000)).start()
    remote = _playback(s, "10.1.1.1")
    assert (remote["Bitrate"], remote["SupportsDirectPlay"], remote["SupportsDirectStream"]) == (20000000, False, False)
    assert remote["TranscodingUrl"] == (
        "/videos/%s/stream.mp4?MediaSourceId=%s&VideoCodec=h264&AudioCodec=aac&VideoBitrate=7808000"
        "&AudioBitrate=192000" % (ITEM, ITEM))
    local = _playback(s, "192.168.50.7")
    assert (local["SupportsDirectPlay"], "TranscodingUrl" in local) == (True, False)
    # The transcode the remote client is sent to carries 8 of the source's 20 Mbit/s.
    resp, data = s.request("GET", remote["TranscodingUrl"], {"X-Forwarded-For": "10.1.1.1"})
    assert (resp.status, resp.getheader("Accept-Ranges"), resp.getheader("Content-Length")) == (200, "none", None)
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert len(data) == MEDIA_SIZE * 8000000 // 20000000
    # The LAN client's direct play is the whole file.
    resp, data = s.request("GET", "/Videos/%s/stream?static=true" % ITEM, {"X-Forwarded-For": "192.168.50.7"})
    assert (resp.status, len(data)) == (200, MEDIA_SIZE)
    category = re.escape("Jellyfin.Api.Helpers.MediaInfoHelper")
    assert _wait_for(s, LINE % ("INF", category, re.escape(
        "RemoteClientBitrateLimit: 8000000, RemoteIP: 10.1.1.1, IsInLocalNetwork: False")))
    assert _wait_for(s, LINE % ("DBG", re.escape("MediaBrowser.Model.Dlna.StreamBuilder"), re.escape(
        "Bitrate exceeds limit: media bitrate: 20000000, max bitrate: 8000000")))


def test_the_stream_endpoint_itself_caps_nothing_as_upstream(make):
    """A remote client that asks for static=true (or a higher VideoBitrate) gets it: Jellyfin
    enforces the remote limit only through the PlaybackInfo decision."""
    s = make(known=("127.0.0.1",), extra=LAN_ONLY, system=_system_xml(limit=8000000)).start()
    resp, data = s.request("GET", "/Videos/%s/stream.mp4?Static=True" % ITEM, {"X-Forwarded-For": "10.1.1.1"})
    assert (resp.status, len(data), resp.getheader("Accept-Ranges")) == (200, MEDIA_SIZE, "bytes")
    resp, data = s.request("GET", "/Videos/%s/stream.mp4?videoBitRate=15808000" % ITEM, {"X-Forwarded-For": "10.1.1.1"})
    assert len(data) == MEDIA_SIZE * 16000000 // 20000000
    resp, data = s.request("GET", "/Videos/%s/stream.mp4?VideoBitrate=90000000&AudioBitrate=320000" % ITEM)
    assert len(data) == MEDIA_SIZE  # never more than the source
    resp, data = s.request("HEAD", "/Videos/%s/stream.mp4?VideoBitrate=1000000" % ITEM)
    assert (resp.status, data) == (200, b"")


def test_the_clients_own_maximum_counts_and_the_limit_only_lowers_it_for_remote_clients(make):
    s = make(known=("127.0.0.1",), extra=LAN_ONLY, system=_system_xml(limit=8000000)).start()
    lower = _playback(s, "10.1.1.1", "?maxStreamingBitrate=4000000")
    assert "VideoBitrate=3808000&" in lower["TranscodingUrl"]
    body = _playback(s, "10.1.1.1", body={"MaxStreamingBitrate": 60000000})
    assert "VideoBitrate=7808000&" in body["TranscodingUrl"]  # the limit wins over a higher ask
    lan = _playback(s, "192.168.50.7", "?MaxStreamingBitrate=4000000")
    assert "VideoBitrate=3808000&" in lan["TranscodingUrl"]  # the client's own choice, limit not applied
    assert _playback(s, "192.168.50.7", "?MaxStreamingBitrate=40000000")["SupportsDirectPlay"] is True


def test_a_source_within_the_limit_or_no_limit_plays_directly_from_outside(make):
    s = make(known=("127.0.0.1",), extra=LAN_ONLY, system=_system_xml(limit=8000000))
    s.env["JELLYFIN_STANDIN_MEDIA_BITRATE"] = "6000000"
    s.start()
    assert _playback(s, "10.1.1.1")["SupportsDirectPlay"] is True
    unlimited = make("u", known=("127.0.0.1",), extra=LAN_ONLY, system=_system_xml()).start()
    assert _playback(unlimited, "10.1.1.1")["SupportsDirectPlay"] is True


def test_a_media_bitrate_that_is_not_positive_stops_the_start(make):
    s = make()
    s.env["JELLYFIN_STANDIN_MEDIA_BITRATE"] = "0"
    with pytest.raises(RuntimeError, match="JELLYFIN_STANDIN_MEDIA_BITRATE must be bits per second above 0"):
        s.start()
