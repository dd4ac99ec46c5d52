"""What a user of the wireguard role would check: the phone's exported configuration works
from outside, Jellyfin sees the phone's VPN address, secrets stay private, peers come and go
without touching the others, and no key reaches the log.

The internet host plays the phone: its image has wireguard-tools and wireguard-go, and the
lab gives it /dev/net/tun and NET_ADMIN. Tests run in file order; the peer test and the log
test re-run the converge playbook with ansible-playbook and the scenario's own inventory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re

import pytest
import segno

from conftest import (assert_vpn_closed, copy_to, curl, denied_login_address, doctor, fingerprint, fingerprint_diff,
                      flat, host_record_section, recap_changed, udp_port)
from conftest import converge as run_converge
from conftest import lan_and_vpn_local_internet_remote, lan_listed_before_vpn, vpn_reaches_only_jellyfin

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_VPN = "10.13.13.1"
PHONE_VPN = "10.13.13.2"
JELLYFIN_VPN_URL = "http://%s:8096" % SERVER_VPN
KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}=$")

# Every secret read from the server during the run (the log test scans for all of them).
SECRETS: dict[str, str] = {}
OUTPUTS: list[tuple[str, str]] = []


def _ephemeral():
    return os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


def _export_dir():
    return os.path.join(_ephemeral(), "wireguard-clients")


def converge(log_name, extra_vars=None, *args):
    """Run the scenario's converge playbook at -vvv; return its output (kept for the leak test)."""
    proc = run_converge(SCENARIO, extra_vars, "-vvv", *args, log=log_name)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    OUTPUTS.append((log_name, output))
    return output


def _secret(server, path):
    text = server.check_output("cat %s" % path).strip()
    assert KEY_RE.match(text), "%s does not hold a key" % path
    SECRETS[path] = text
    return text


def _fingerprint(text):
    return hashlib.sha256(base64.b64decode(text)).hexdigest()[:16]


def _wg_peers(server):
    out = server.check_output("wg show wg0 peers")
    return set(out.split())



@pytest.fixture(scope="module")
def tunnel(lab, internet):
    """The exported phone.conf, copied into the internet host and brought up there."""
    internet.run("wg-quick down wg0")
    copy_to(lab, "internet", os.path.join(_export_dir(), "phone.conf"), "/etc/wireguard/wg0.conf")
    internet.check_output("chmod 0600 /etc/wireguard/wg0.conf")
    up = internet.run("wg-quick up wg0")
    assert up.rc == 0, up.stderr
    yield
    internet.run("wg-quick down wg0")


# -- files and service ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "path, mode",
    [
        ("/etc/wireguard", 0o700),
        ("/etc/wireguard/clients", 0o700),
        ("/etc/wireguard/wg0.conf", 0o600),
        ("/etc/wireguard/wg0.key", 0o600),
        ("/etc/wireguard/clients/phone.key", 0o600),
        ("/etc/wireguard/clients/phone.psk", 0o600),
    ],
)
def test_secret_files_are_private_on_the_server(server, path, mode):
    f = server.file(path)
    assert (f.exists, f.user, f.group, f.mode) == (True, "root", "root", mode)


def test_exported_files_are_private_on_the_controller():
    directory = _export_dir()
    assert os.stat(directory).st_mode & 0o777 == 0o700
    for name in ("phone.conf", "phone.png", "phone.txt"):
        assert os.stat(os.path.join(directory, name)).st_mode & 0o777 == 0o600, name


def test_qr_code_encodes_the_client_configuration():
    with open(os.path.join(_export_dir(), "phone.conf"), encoding="utf-8") as handle:
        conf = handle.read()
    with open(os.path.join(_export_dir(), "phone.png"), "rb") as handle:
        png = handle.read()
    expected = segno.make(conf, error="m", micro=False, boost_error=False)
    buf = io.BytesIO()
    expected.save(buf, kind="png", scale=6, border=4)
    assert png == buf.getvalue()


def test_interface_runs_under_systemd(server):
    service = server.service("wg-quick@wg0")
    assert service.is_enabled and service.is_running


def test_interface_runs_with_the_managed_key(server):
    live = server.check_output("wg show wg0 public-key").strip()
    assert live == server.file("/etc/wireguard/wg0.pub").content_string.strip()


# -- from the outside, through the tunnel ----------------------------------------------------

def test_jellyfin_answers_through_the_tunnel(internet, tunnel):
    status, body = curl(internet, JELLYFIN_VPN_URL + "/System/Info/Public")
    assert status == 200
    assert '"Version"' in body and '"Id"' in body


def test_jellyfin_sees_the_phones_vpn_address(internet, server, tunnel):
    assert denied_login_address(internet, server, JELLYFIN_VPN_URL) == PHONE_VPN


def test_the_handshake_happened_with_the_exported_key(server, internet, tunnel):
    phone_public = server.file("/etc/wireguard/clients/phone.pub").content_string.strip()
    assert internet.check_output("wg show wg0 public-key").strip() == phone_public
    handshakes = dict(line.split() for line in server.check_output("wg show wg0 latest-handshakes").splitlines())
    assert int(handshakes[phone_public]) > 0


def test_the_doctor_names_the_peer_in_touch(server, tunnel):
    """Issue 26: the doctor reads each peer's latest handshake (named by its key file), and
    changes nothing."""
    proc, output = doctor(server, "doctor-wireguard.log")
    text = flat(proc)
    assert proc.returncode == 0, output[-3000:]
    assert re.search(r"OK wireguard wg0 1 of 1 peers in touch in the last 3 min: phone in touch, \d+ s ago", text), \
        text[-3000:]
    assert "OK unit wg-quick@wg0.service wg-quick@wg0.service is active" in text and ", 0 FAIL; looked in" in text


def test_a_lan_host_is_reached_through_the_tunnel_and_masquerade(internet, lab, tunnel):
    router_lan = lab["hosts"]["router"]["addresses"]["lan"]
    # The route goes through wg0 (AllowedIPs), not through the lab's own route to the lan.
    assert "dev wg0" in internet.check_output("ip route get %s" % router_lan)
    assert internet.run("ping -c 1 -W 3 %s" % router_lan).rc == 0


def test_the_server_forwards_only_to_allowed_destinations(internet, server, lab, tunnel):
    # The phone is made to send the router's wan address into the tunnel too; the server
    # could route it (via the router) but its firewall table forwards only AllowedIPs.
    router = lab["hosts"]["router"]["addresses"]
    server_public = server.file("/etc/wireguard/wg0.pub").content_string.strip()
    allowed = "%s/32,%s/32" % (SERVER_VPN, router["lan"])
    internet.check_output("wg set wg0 peer %s allowed-ips %s,%s/32" % (server_public, allowed, router["wan"]))
    internet.check_output("ip route replace %s/32 dev wg0" % router["wan"])
    try:
        assert internet.run("ping -c 1 -W 2 %s" % router["lan"]).rc == 0
        assert internet.run("ping -c 1 -W 2 %s" % router["wan"]).rc != 0
    finally:
        internet.run("ip route del %s/32 dev wg0" % router["wan"])
        internet.run("wg set wg0 peer %s allowed-ips %s" % (server_public, allowed))


def test_vpn_clients_reach_jellyfin_but_no_other_port_of_the_server(internet, server, tunnel):
    vpn_reaches_only_jellyfin(internet, server, JELLYFIN_VPN_URL, SERVER_VPN)


def test_jellyfin_counts_the_lan_and_the_vpn_as_local(server, lab):
    lan_listed_before_vpn(server, lab["subnets"]["lan"], "10.13.13.0/24")


def test_jellyfin_classifies_the_lan_and_the_phone_as_local_and_the_internet_as_remote(server, internet, lab, tunnel):
    lan_and_vpn_local_internet_remote(server, internet, lab, JELLYFIN_VPN_URL, PHONE_VPN)


# -- peers come and go -------------------------------------------------------------------------

def test_a_second_peer_leaves_existing_keys_alone_and_can_be_removed(server, internet, tunnel):
    before = {
        "server": _fingerprint(_secret(server, "/etc/wireguard/wg0.key")),
        "phone": _fingerprint(_secret(server, "/etc/wireguard/clients/phone.key")),
        "phone_psk": _fingerprint(_secret(server, "/etc/wireguard/clients/phone.psk")),
    }
    phone_public = server.file("/etc/wireguard/clients/phone.pub").content_string.strip()

    converge("converge-two-peers.log", {"wireguard_peers": [{"name": "phone", "persistent_keepalive": 25},
                                                            {"name": "laptop"}]})
    laptop_public = server.file("/etc/wireguard/clients/laptop.pub").content_string.strip()
    _secret(server, "/etc/wireguard/clients/laptop.key")
    _secret(server, "/etc/wireguard/clients/laptop.psk")
    assert _wg_peers(server) == {phone_public, laptop_public}
    assert "10.13.13.3/32" in server.check_output("wg show wg0 allowed-ips")
    assert os.path.exists(os.path.join(_export_dir(), "laptop.conf"))
    after = {
        "server": _fingerprint(_secret(server, "/etc/wireguard/wg0.key")),
        "phone": _fingerprint(_secret(server, "/etc/wireguard/clients/phone.key")),
        "phone_psk": _fingerprint(_secret(server, "/etc/wireguard/clients/phone.psk")),
    }
    assert after == before
    # wg syncconf kept the phone's session: it still reaches Jellyfin without a new handshake setup.
    assert curl(internet, JELLYFIN_VPN_URL + "/System/Ping")[0] == 200

    # Issue 20: the laptop switches to its own key pair and drops its PSK. The keys the role had
    # made for it and its exported files go; the interface takes the new key, without a PSK.
    own_public = internet.check_output("wg genkey | wg pubkey").strip()
    converge("converge-own-key.log", {"wireguard_peers": [
        {"name": "phone", "persistent_keepalive": 25}, {"name": "laptop", "public_key": own_public, "psk": False}]})
    for suffix in ("key", "pub", "psk"):
        assert not server.file("/etc/wireguard/clients/laptop.%s" % suffix).exists, suffix
    for suffix in ("conf", "png", "txt"):
        assert not os.path.exists(os.path.join(_export_dir(), "laptop.%s" % suffix)), suffix
    assert _wg_peers(server) == {phone_public, own_public}
    # Which peers have a PSK, without reading one out.
    psk_set = dict(line.split() for line in server.check_output(
        "wg show wg0 preshared-keys | awk '{print $1, ($2 == \"(none)\") ? \"no\" : \"yes\"}'").splitlines())
    assert psk_set == {phone_public: "yes", own_public: "no"}
    assert laptop_public not in server.file("/etc/wireguard/wg0.conf").content_string

    converge("converge-one-peer.log")
    assert _wg_peers(server) == {phone_public}
    assert not server.file("/etc/wireguard/clients/laptop.key").exists
    assert not server.file("/etc/wireguard/clients/laptop.psk").exists
    assert not os.path.exists(os.path.join(_export_dir(), "laptop.conf"))
    assert not os.path.exists(os.path.join(_export_dir(), "laptop.png"))
    assert _fingerprint(_secret(server, "/etc/wireguard/clients/phone.key")) == before["phone"]
    assert curl(internet, JELLYFIN_VPN_URL + "/System/Ping")[0] == 200


# -- no secret in the log ------------------------------------------------------------------------

def test_converge_at_vvv_logs_no_private_key_or_psk(server):
    # Also: a firewall table that something flushed is loaded again.
    server.check_output("nft delete table inet jellyfin_remote_wireguard")
    converge("converge-vvv.log")
    assert server.run("nft list table inet jellyfin_remote_wireguard").rc == 0
    for path in ("/etc/wireguard/wg0.key", "/etc/wireguard/clients/phone.key", "/etc/wireguard/clients/phone.psk"):
        _secret(server, path)
    assert len(SECRETS) >= 5  # server, phone key and PSK, and the laptop's while it existed
    for log, text in OUTPUTS:  # the -vvv run above and the peer test's runs
        assert "PLAY RECAP" in text
        leaked = [path for path, secret in SECRETS.items() if secret in text or secret[:43] in text]
        assert not leaked, "%s contains the secrets of %s" % (log, leaked)


# -- closing (wireguard_state absent): last, as it takes the server down ---------------------------

KEYS = ("/etc/wireguard/wg0.key", "/etc/wireguard/wg0.pub", "/etc/wireguard/clients/phone.key",
        "/etc/wireguard/clients/phone.psk")


def test_absent_in_check_mode_changes_nothing_and_lists_what_it_would_close(server):
    before = fingerprint(server)
    output = converge("absent-check.log", {"wireguard_state": "absent"}, "--check")
    assert fingerprint_diff(before, fingerprint(server)) == {}
    assert "wireguard: closed on server (check mode: would close):" in output, output[-3000:]
    for line in ("unit wg-quick@wg0.service (stopped, disabled)", "interface wg0",
                 "nftables table inet jellyfin_remote_wireguard", "file /etc/wireguard/wg0.conf",
                 "file /etc/wireguard/wg0.nft", "file /etc/sysctl.d/90-jellyfin-remote-wireguard.conf",
                 "Jellyfin LocalNetworkSubnets entry 10.13.13.0/24"):
        assert line in output, line


def test_absent_closes_the_server_and_keeps_the_keys(server, internet, lab, tunnel):
    lan = lab["hosts"]["server"]["addresses"]["lan"]
    assert curl(internet, JELLYFIN_VPN_URL + "/System/Ping")[0] == 200
    assert udp_port(internet, lan, 51820) == "silent"  # WireGuard drops what it cannot authenticate
    record = host_record_section(server, "wireguard")
    assert record and record["interface"] == "wg0" and "net.ipv4.ip_forward" in record["sysctl_before"], record
    assert "10.13.13.0/24" in record["jellyfin_local_subnets_added"], record
    keys = {path: server.file(path).sha256sum for path in KEYS}

    output = converge("absent.log", {"wireguard_state": "absent"})

    assert "wireguard: closed on server:" in output, output[-3000:]
    assert_vpn_closed(server, internet, lan, "wireguard", record, port=51820, units=["wg-quick@wg0"], interface="wg0",
                      table="jellyfin_remote_wireguard", vpn_url=JELLYFIN_VPN_URL,
                      files=["/etc/wireguard/wg0.conf", "/etc/wireguard/wg0.nft",
                             "/etc/sysctl.d/90-jellyfin-remote-wireguard.conf"])
    # The keys stay (and the client files on the controller).
    assert {path: server.file(path).sha256sum for path in KEYS} == keys
    assert os.path.exists(os.path.join(_export_dir(), "phone.conf"))


def test_absent_again_changes_nothing():
    output = converge("absent-again.log", {"wireguard_state": "absent"})
    assert recap_changed(output) == 0
    assert "nothing was open" in output


def test_absent_with_wipe_keys_deletes_the_keys_and_the_client_files(server):
    # The record is gone by now: the names come from the current variables.
    output = converge("absent-wipe.log", {"wireguard_state": "absent", "wireguard_wipe_keys": True})
    for path in KEYS + ("/etc/wireguard/clients",):
        assert not server.file(path).exists, path
    for path in ("/etc/wireguard/wg0.key", "/etc/wireguard/wg0.pub", "/etc/wireguard/clients"):
        assert "key material %s" % path in output, path
    for suffix in ("conf", "png", "txt"):
        assert not os.path.exists(os.path.join(_export_dir(), "phone." + suffix)), suffix
