# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 22: Jellyfin behind CGNAT, reached through a VPS relay (the cgnat_relay lab).

From the internet host, as a viewer: https://<name>/ served by the relay with pebble's chain,
Jellyfin logging and classifying the viewer's own address; from the relay, as an attacker who
took the VPS: nothing at home but Jellyfin's port; the tunnel coming back after the home's
WireGuard restarts and after the relay restarts; removal closing both sides. Last in the file:
the removal.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import subprocess
import time

import pytest
import testinfra

from conftest import (REPO, classified, curl, denied_login_address, flat, host_record_section, listener, playbook,
                      recap)

DOMAIN = "jellyfin.ddns.lab.test"
CONVERGE = os.path.join(REPO, "tests", "lab", "playbooks", "site.yml")
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")
RELAY_TUNNEL, HOME_TUNNEL = "10.87.0.1", "10.87.0.2"
URL = "https://%s" % DOMAIN


@pytest.fixture(scope="session")
def relay(lab):
    return testinfra.get_host("podman://%s" % lab["hosts"]["relay"]["container"])


@pytest.fixture(scope="session")
def summary():
    with open(os.path.join(EPHEMERAL, "reports", "server-summary.json"), encoding="utf-8") as handle:
        return json.load(handle)


def served(internet, pebble_root, timeout=0):
    """GET /System/Info/Public through the relay, polling up to timeout seconds for a 200."""
    deadline = time.time() + timeout
    while True:
        out = internet.run("curl -sS -m 5 --cacert %s -o /tmp/.info -w '%%{http_code}' %s/System/Info/Public"
                           % (pebble_root, URL))
        if (out.rc == 0 and out.stdout == "200") or time.time() >= deadline:
            return out.rc, out.stdout, internet.run("cat /tmp/.info").stdout
        time.sleep(0.5)


def test_auto_chose_the_relay_and_the_summary_says_so(summary):
    assert summary["method"] == "vps_relay", summary
    assert summary["urls"] == ["https://%s/ (through the relay relay)" % DOMAIN], summary["urls"]
    assert any("transfer quota" in w for w in summary["warnings"]), summary["warnings"]
    assert not [o for o in summary["opened"] if o.startswith("router")], summary["opened"]


def test_the_summary_gives_the_relays_measured_ceiling(summary, server):
    """The site's last play measured home -> relay over the tunnel (iperf3) on the first converge;
    the idempotence run used the recorded figure (the recap's 0 changed covers the summary file)."""
    lines = [n for n in summary["notes"] if n.startswith("relay ceiling:")]
    found = re.fullmatch(r"relay ceiling: ([0-9.]+) Mbit/s home -> relay \(measured (\d{4}-\d\d-\d\d)\)", lines[0])
    assert found, summary["notes"]
    assert float(found.group(1)) > 0
    record = host_record_section(server, "relay_ceiling")
    assert (record["server"], record["port"], len(record["runs_mbps"])) == (RELAY_TUNNEL, 5201, 3), record
    assert found.group(2) == record["measured_at"][:10]
    measured = datetime.datetime.strptime(record["measured_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    assert datetime.timedelta(0) <= datetime.datetime.now(datetime.timezone.utc) - measured < datetime.timedelta(hours=1)


def test_the_relays_iperf3_port_is_closed_after_the_measurement(relay, internet, server, lab):
    """Open only while the one-time iperf3 server ran: now nothing listens there, the set that let the
    home in is empty, and even a listener on every address of the relay is reached neither from the
    internet nor from the home through the tunnel."""
    assert relay.run("systemctl is-active jellyfin-remote-iperf3.service").stdout.strip() != "active"
    assert "elements" not in relay.check_output("nft list set inet jellyfin_remote_vps_relay measure_from")
    with listener(relay, 5201):
        out = internet.run("curl -sS -m 3 -o /dev/null http://%s:5201/" % lab["hosts"]["relay"]["addresses"]["wan"])
        assert out.rc == 28, (out.rc, out.stderr)  # dropped
        out = server.run("curl -sS -m 3 -o /dev/null http://%s:5201/" % RELAY_TUNNEL)
        assert out.rc == 28, (out.rc, out.stderr)


def test_the_name_resolves_to_the_relay(internet, lab):
    assert internet.run("getent hosts %s" % DOMAIN).stdout.split()[0] == lab["hosts"]["relay"]["addresses"]["wan"]


def test_served_through_the_relay_with_pebbles_chain(internet, pebble_root):
    rc, code, body = served(internet, pebble_root)
    assert (rc, code) == (0, "200"), body
    assert json.loads(body)["StartupWizardCompleted"] is True


def test_nothing_is_opened_on_the_home_router(lab):
    router = testinfra.get_host("podman://%s" % lab["hosts"]["router"]["container"])
    assert router.run("nft list chain inet filter prerouting_miniupnpd").stdout.count("dnat") == 0


def test_jellyfin_sees_and_classifies_the_viewer(internet, server, lab, pebble_root):
    viewer = lab["hosts"]["internet"]["addresses"]["wan"]
    internet.run("printf 'cacert = %s\\n' > /root/.curlrc" % pebble_root)
    try:
        assert denied_login_address(internet, server, URL) == viewer
        classified(server, [(internet, URL)], {(viewer, "False")})
    finally:
        internet.run("rm -f /root/.curlrc")


def test_jellyfin_knows_the_relay_and_the_tunnel_is_not_local(server):
    xml = server.file("/etc/jellyfin/network.xml").content_string
    assert "<string>%s</string>" % RELAY_TUNNEL in xml.split("<KnownProxies>")[1].split("</KnownProxies>")[0]
    assert "10.87.0." not in xml.split("<KnownProxies>")[0] + xml.split("</KnownProxies>")[1]


def test_home_routes_only_the_relay_into_the_tunnel(server):
    conf = server.file("/etc/wireguard/wg-relay.conf")
    assert conf.mode == 0o600 and conf.user == "root"
    assert "AllowedIPs = %s/32" % RELAY_TUNNEL in conf.content_string
    assert "PrivateKey" not in conf.content_string and "PersistentKeepalive = 25" in conf.content_string
    assert server.file("/etc/wireguard/wg-relay.key").mode == 0o600
    assert server.run("ip route show default dev wg-relay").stdout.strip() == ""


def test_the_relay_reaches_only_jellyfin_at_home(relay, server, lab):
    assert curl(relay, "http://%s:8096/System/Ping" % HOME_TUNNEL)[0] == 200
    with listener(server, 22, 9999):
        for port in (22, 9999):
            out = relay.run("curl -sS -m 3 -o /dev/null http://%s:%d/" % (HOME_TUNNEL, port))
            assert out.rc == 28, (port, out.rc, out.stderr)  # dropped, not refused
    assert relay.run("ping -c 1 -W 2 %s" % HOME_TUNNEL).rc != 0


def test_a_compromised_relay_reaches_no_lan_host(relay, server, lab):
    """The relay's root routes the home LAN into the tunnel: the home drops it (its peer entry
    takes only the relay's address, and its table drops everything forwarded from the tunnel)."""
    lan, router_lan = lab["subnets"]["lan"], lab["hosts"]["router"]["addresses"]["lan"]
    home_key = server.check_output("cat /etc/wireguard/wg-relay.pub").strip()
    relay.check_output("wg set wg-relay peer %s allowed-ips %s/32,%s && ip route replace %s dev wg-relay"
                       % (shlex.quote(home_key), HOME_TUNNEL, lan, lan))
    try:
        assert relay.run("ping -c 1 -W 2 %s" % router_lan).rc != 0
        assert relay.run("curl -sS -m 3 -o /dev/null http://%s:5000/" % router_lan).rc == 28
    finally:
        relay.run("ip route del %s dev wg-relay; wg set wg-relay peer %s allowed-ips %s/32"
                  % (lan, shlex.quote(home_key), HOME_TUNNEL))


def test_the_relay_lets_in_only_its_public_ports(relay, internet, lab):
    address = lab["hosts"]["relay"]["addresses"]["wan"]
    with listener(relay, 9999):
        out = internet.run("curl -sS -m 3 -o /dev/null http://%s:9999/" % address)
        assert out.rc == 28, (out.rc, out.stderr)
    table = relay.check_output("nft list table inet jellyfin_remote_vps_relay")
    assert "tcp dport { 22, 80, 443 } accept" in table and "udp dport 51820 accept" in table


def test_the_tunnel_recovers_after_the_homes_wireguard_restarts(server, internet, pebble_root):
    server.check_output("systemctl restart wg-quick@wg-relay")
    start = time.time()
    rc, code, body = served(internet, pebble_root, timeout=60)
    assert (rc, code) == (0, "200"), (time.time() - start, body)


def test_the_tunnel_recovers_after_the_relay_restarts(lab, internet, pebble_root):
    subprocess.run(["podman", "restart", "-t", "10", lab["hosts"]["relay"]["container"]], check=True,
                   capture_output=True)
    start = time.time()
    rc, code, body = served(internet, pebble_root, timeout=90)
    assert (rc, code) == (0, "200"), (time.time() - start, body)


def test_removal_tears_down_both_sides(server, relay, internet, pebble_root):
    removal = playbook(CONVERGE, "-e", '{"jellyfin_remote_state": "absent"}', log="absent.log")
    text = flat(removal)
    assert removal.returncode == 0, text[-3000:]
    assert recap(removal.stdout, "relay")["failed"] == 0
    for host in (server, relay):
        assert not host.service("wg-quick@wg-relay").is_enabled
        assert host.run("ip link show wg-relay").rc != 0
        assert host.run("nft list table inet jellyfin_remote_vps_relay").rc != 0
        assert not host.file("/etc/wireguard/wg-relay.conf").exists
        assert host_record_section(host, "vps_relay") is None
    assert host_record_section(server, "relay_ceiling") is None
    assert "<string>%s</string>" % RELAY_TUNNEL not in server.file("/etc/jellyfin/network.xml").content_string
    assert not relay.file("/etc/caddy/Caddyfile").contains(DOMAIN)
    assert served(internet, pebble_root)[0] != 0
    again = playbook(CONVERGE, "-e", '{"jellyfin_remote_state": "absent"}', log="absent-again.log")
    assert recap(again.stdout)["changed"] == 0 and recap(again.stdout, "relay")["changed"] == 0
