# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor role's read-only probe (roles/doctor/files/probe.py), run as the role runs it
(`python3 -c SOURCE ARGS_JSON`): systemctl and tailscale are stubs on PATH that answer as the
real tools do; certificates are real (made here) and read by the host's real openssl."""

from __future__ import annotations

import datetime
import json
import os
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import loopback_http, run_probe, stub_command

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROBE = os.path.join(REPO, "roles", "doctor", "files", "probe.py")
SYSTEMCTL = r'''# systemctl show --property Id,LoadState,ActiveState -- UNIT...
shift 4
first=1
for u in "$@"; do
  [ $first = 1 ] || echo
  first=0
  case "$u" in
    nginx.service) printf 'Id=%s\nLoadState=loaded\nActiveState=active\n' "$u";;
    ddclient.service) printf 'Id=%s\nLoadState=loaded\nActiveState=failed\n' "$u";;
    *) printf 'Id=%s\nLoadState=not-found\nActiveState=inactive\n' "$u";;
  esac
done
'''


def certificate(path, not_after):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jf.example.org")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(not_after - datetime.timedelta(days=90)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def bindir(tmp_path):
    path = tmp_path / "bin"
    path.mkdir()
    stub_command(path, "systemctl", SYSTEMCTL)
    os.symlink(shutil.which("openssl"), path / "openssl")
    return path


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_probe_reads_units_certificates_tailscale_and_ddclient(tmp_path, bindir):
    stub_command(bindir, "tailscale", '[ "$1 $2" = "status --json" ] && echo \'{"BackendState": "NeedsLogin", '
                 '"Self": {"Online": false}}\'\n')
    lineage = tmp_path / "live" / "jf.example.org" / "cert.pem"
    certificate(lineage, datetime.datetime(2027, 3, 7, 12, 0, 0, tzinfo=datetime.timezone.utc))
    caddy = tmp_path / "caddy" / "acme" / "jf.example.org" / "jf.example.org.crt"
    certificate(caddy, datetime.datetime(2026, 12, 9, 8, 30, 0, tzinfo=datetime.timezone.utc))
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    conf = tmp_path / "ddclient.conf"
    conf.write_text("# Written by the homelab.jellyfin_remote ddns role (ddns_state: absent removes it).\n")
    _, out = run_probe(PROBE, {
        "units": ["nginx.service", "ddclient.service", "caddy.service"],
        "certificates": [{"name": "jf.example.org", "path": str(lineage)},
                         {"name": "gone", "path": str(tmp_path / "missing.pem")},
                         {"name": "bad", "path": str(tmp_path / "bad.pem")}],
        "certificate_globs": [str(tmp_path / "caddy" / "*" / "*" / "*.crt")],
        "tailscale": True, "ddclient_config": str(conf)}, str(bindir))
    assert out["units"] == {"nginx.service": {"load": "loaded", "active": "active"},
                            "ddclient.service": {"load": "loaded", "active": "failed"},
                            "caddy.service": {"load": "not-found", "active": "inactive"}}
    certs = {c["name"]: c for c in out["certificates"]}
    assert certs["jf.example.org"]["not_after"] == "2027-03-07T12:00:00Z"
    assert certs["jf.example.org.crt"]["not_after"] == "2026-12-09T08:30:00Z"
    assert certs["gone"]["error"] == "the file is missing"
    assert certs["bad"]["error"].startswith("openssl cannot read it")
    assert out["tailscale"] == {"BackendState": "NeedsLogin", "Online": False, "serve": [], "funnel": []}
    assert out["ddclient_ours"] is True


def test_probe_without_tailscale_and_a_foreign_ddclient(tmp_path, bindir):
    conf = tmp_path / "ddclient.conf"
    conf.write_text("protocol=dyndns2\n")
    _, out = run_probe(PROBE, {"units": [], "tailscale": True, "ddclient_config": str(conf)}, str(bindir))
    assert out["tailscale"] == {"error": "tailscale is not installed"}
    assert out["ddclient_ours"] is False and out["units"] == {} and out["certificates"] == []


FAKE_MINIUPNPC = '''
class UPnP:
    """Stands in for python3-miniupnpc's UPnP object: one router holding tcp/8096."""
    def __init__(self, multicastif=None):
        self.discoverdelay = 0
    def discover(self):
        return 1
    def selectigd(self):
        return "http://192.168.1.1:5000/rootDesc.xml"
    def getspecificportmapping(self, port, proto):
        if (port, proto) == (8096, "TCP"):
            return ("192.168.1.10", 8096, "homelab.jellyfin_remote Jellyfin HTTP", True, 3000)
        return None
'''


def test_probe_asks_the_router_for_each_mapping_of_the_renewal_file(tmp_path, bindir, monkeypatch):
    fake = tmp_path / "pylib"
    fake.mkdir()
    (fake / "miniupnpc.py").write_text(FAKE_MINIUPNPC)
    monkeypatch.setenv("PYTHONPATH", str(fake))
    config = tmp_path / "upnp-mappings.json"
    config.write_text(json.dumps({"discovery_delay_ms": 200, "multicast_interface": "", "mappings": [
        {"external_port": 8096, "protocol": "tcp", "internal_client": "192.168.1.10", "internal_port": 8096,
         "description": "homelab.jellyfin_remote Jellyfin HTTP", "lease_duration": 3600},
        {"external_port": 8920, "protocol": "tcp", "internal_client": "192.168.1.10", "internal_port": 8920,
         "description": "homelab.jellyfin_remote Jellyfin HTTPS", "lease_duration": 3600}]}))
    _, out = run_probe(PROBE, {"upnp_config": str(config)}, str(bindir))
    found = {m["external_port"]: m["found"] for m in out["upnp"]["mappings"]}
    assert found == {8096: {"internal_client": "192.168.1.10", "internal_port": 8096,
                            "description": "homelab.jellyfin_remote Jellyfin HTTP", "lease_remaining": 3000},
                     8920: None}
    _, out = run_probe(PROBE, {"upnp_config": str(tmp_path / "none.json")}, str(bindir))
    assert out["upnp"] is None


WG_PHONE = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
WG_OWN_KEY = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
FAIL2BAN_STATUS = r'''Status for the jail: jellyfin
|- Filter
|  |- Currently failed:	2
|  |- Total failed:	9
|  `- File list:	/var/log/caddy/jellyfin-access.log
`- Actions
   |- Currently banned:	2
   |- Total banned:	4
   `- Banned IP list:	203.0.113.7 2001:db8::7
'''
# Version 2 of OpenVPN's status file, as openvpn-server@.service has the server write it.
OPENVPN_STATUS = """TITLE,OpenVPN 2.6.3 x86_64-pc-linux-gnu
TIME,2026-12-07 12:00:00,1796644800
HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received,Bytes Sent,\
Connected Since,Connected Since (time_t),Username,Client ID,Peer ID,Data Channel Cipher
CLIENT_LIST,phone,203.0.113.7:51234,10.8.0.2,fd42:42::2,5120,9216,2026-12-07 11:00:00,1796641200,UNDEF,0,0,AES-256-GCM
HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)
ROUTING_TABLE,10.8.0.2,phone,203.0.113.7:51234,2026-12-07 11:59:58,1796644798
GLOBAL_STATS,Max bcast/mcast queue length,0
END
"""


def test_probe_reads_wireguard_handshakes_openvpn_clients_and_bans(tmp_path, bindir):
    # wg show IF latest-handshakes: "public key<TAB>seconds since the epoch" per peer, 0 for never.
    stub_command(bindir, "wg", '[ "$1 $2 $3" = "show wg0 latest-handshakes" ] || { echo "Unable to access '
                 'interface: No such device" >&2; exit 1; }\nprintf "%s\\t1796644760\\n%s\\t0\\n"' + ' "%s" "%s"\n'
                 % (WG_PHONE, WG_OWN_KEY))
    stub_command(bindir, "fail2ban-client", '[ "$1 $2" = "status jellyfin" ] || { echo "Sorry but the jail '
                 "'$2' does not exist\" >&2; exit 255; }\nprintf '%s' '" + FAIL2BAN_STATUS + "'\n")
    clients = tmp_path / "clients"
    clients.mkdir()
    (clients / "phone.pub").write_text(WG_PHONE + "\n")
    status = tmp_path / "status-jellyfin.log"
    status.write_text(OPENVPN_STATUS)
    _, out = run_probe(PROBE, {"wireguard": {"interface": "wg0", "clients_dir": str(clients)},
                               "openvpn": {"instance": "jellyfin", "status_file": str(status)},
                               "fail2ban_jail": "jellyfin"}, str(bindir))
    assert out["wireguard"] == {"interface": "wg0", "peers": [
        {"name": "peer TrMvSoP4...", "latest_handshake": 0}, {"name": "phone", "latest_handshake": 1796644760}]}
    assert out["openvpn"] == {"instance": "jellyfin", "clients": [{"name": "phone", "since": "2026-12-07 11:00:00"}]}
    assert out["fail2ban"] == {"jail": "jellyfin", "banned_now": 2, "banned_total": 4,
                               "banned": ["203.0.113.7", "2001:db8::7"]}
    _, out = run_probe(PROBE, {"wireguard": {"interface": "wg9"},
                               "openvpn": {"instance": "x", "status_file": str(tmp_path / "none.log")},
                               "fail2ban_jail": "other"}, str(bindir))
    assert out["wireguard"] == {"interface": "wg9", "error": "Unable to access interface: No such device"}
    assert out["openvpn"]["error"].startswith("cannot read %s" % (tmp_path / "none.log"))
    assert out["fail2ban"] == {"jail": "other", "error": "Sorry but the jail 'other' does not exist"}


def test_probe_reads_what_tailscale_serve_publishes(tmp_path, bindir):
    serve = {"TCP": {"443": {"HTTPS": True}},
             "Web": {"jf.tail1.ts.net:443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:8096"}}}},
             "AllowFunnel": {"jf.tail1.ts.net:443": True}}
    stub_command(bindir, "tailscale", 'case "$1 $2" in\n"status --json") echo \'{"BackendState": "Running", '
                 '"Self": {"Online": true}}\';;\n"serve status") echo \'%s\';;\n*) exit 1;;\nesac\n' % json.dumps(serve))
    _, out = run_probe(PROBE, {"tailscale": True}, str(bindir))
    assert out["tailscale"] == {"BackendState": "Running", "Online": True,
                                "serve": ["https://jf.tail1.ts.net:443/ -> http://127.0.0.1:8096"],
                                "funnel": ["jf.tail1.ts.net:443"]}


OBSERVE = os.path.join(REPO, "roles", "doctor", "files", "observe.py")


def _signed(tmp_path, days):
    """A CA and a certificate for localhost it signed, valid for days, with the extensions a
    public CA's carry; returns ((ca_file, cert, key), the certificate's end)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test observer CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=90))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            # Python 3.13's default context verifies strictly (VERIFY_X509_STRICT): a leaf needs
            # the Authority Key Identifier, as every public CA's certificates carry it.
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [tmp_path / name for name in ("ca.pem", "leaf.pem", "leaf.key")]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return [str(p) for p in paths], leaf.not_valid_after_utc


@pytest.fixture
def https_jellyfin(tmp_path):
    import ssl

    (ca_file, cert, key), not_after = _signed(tmp_path, 30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    routes = {"/jf/System/Info/Public": (200, json.dumps({"Id": "f00d", "Version": "10.11.11"}).encode())}
    with loopback_http(routes, context) as port:
        yield port, ca_file, not_after


def test_observe_fetches_the_url_and_reads_the_certificate(https_jellyfin, bindir):
    port, ca_file, not_after = https_jellyfin
    _, out = run_probe(OBSERVE, {"url": "https://localhost:%d/jf/" % port, "ca_file": ca_file}, str(bindir))
    assert (out["status"], out["server_id"], out["error"]) == (200, "f00d", None)
    assert out["not_after"] == not_after.strftime("%Y-%m-%dT%H:%M:%SZ") and out["seconds"] > 0
    # Without the CA the observer's trust store refuses it, as a viewer's browser would.
    _, out = run_probe(OBSERVE, {"url": "https://localhost:%d/jf/" % port, "ca_file": ""}, str(bindir))
    assert out["status"] is None and out["error"].startswith("the certificate does not verify"), out
    _, out = run_probe(OBSERVE, {"url": "http://127.0.0.1:9/", "ca_file": ""}, str(bindir))
    assert out["status"] is None and "refused" in out["error"], out
