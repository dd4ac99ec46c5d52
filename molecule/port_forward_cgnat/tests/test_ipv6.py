"""The second stage: the site playbook with auto on the CGNAT line with IPv6. Before IPv6 was
considered, auto found nothing to choose here (no domain, no Tailscale key, no VPN client);
now it takes port forwarding with Jellyfin's own HTTPS over IPv6 only, and the internet host
reaches it over IPv6 through the router's IPv6 firewall, while IPv4 stays closed."""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, curl, playbook, router_chain

DOMAIN = "jellyfin.ddns.lab.test"
SITE = os.path.join(REPO, "tests", "lab", "playbooks", "site.yml")


@pytest.fixture(scope="module")
def summary():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", "server-summary.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def server6(lab):
    return lab["hosts"]["server"]["addresses6"]["lan"]


def test_auto_chose_port_forward_over_ipv6(summary):
    assert summary["method"] == "port_forward"
    assert any("IPv6 ONLY" in w and "Viewers need IPv6 themselves" in w for w in summary["warnings"]), summary
    assert summary["urls"] == ["https://%s:8920/" % DOMAIN], summary


def test_summary_says_what_to_open_by_hand(summary, server6):
    # The router refused port 80 (IGDv2: no unauthenticated pinhole below 1024); 8920 it opened.
    notes = [n for n in summary["notes"] if "router's IPv6 firewall" in n]
    assert notes and "tcp 80 to %s" % server6 in notes[0] and "8920" not in notes[0], summary["notes"]


def test_https_from_the_internet_over_ipv6_with_a_pebble_chain(internet, server6, pebble_root):
    status, body = curl(internet, "https://%s:8920/System/Info/Public" % DOMAIN, "-6", "--cacert", pebble_root,
                        "--resolve", "%s:8920:[%s]" % (DOMAIN, server6))
    assert status == 200, body
    assert json.loads(body)["ProductName"] == "Jellyfin Server"


def test_jellyfin_listens_on_ipv6(server):
    root = ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)
    assert root.findtext("EnableIPv6") == "true"
    assert root.findtext("EnableHttps") == "true"


def test_the_pinhole_for_8920_is_the_routers_own_upnp_one(lab, server6):
    chain = router_chain(lab, "miniupnpd")
    assert "dport 8920" in chain, chain
    assert "0x" + ipaddress.IPv6Address(server6).exploded.replace(":", "") in chain, chain
    assert "dport 80 " not in chain and "dport 8096" not in chain, chain


def test_a_port_without_a_pinhole_stays_closed_over_ipv6(internet, server, server6):
    # Jellyfin listens on [::]:8096 too (EnableIPv6), and the host firewall accepts it from the
    # LAN; from the internet the router's IPv6 firewall drops it.
    assert server.run("curl -s -o /dev/null -m 5 http://[::1]:8096/health").rc == 0
    out = internet.run("curl -s -o /dev/null -m 4 http://[%s]:8096/health" % server6)
    assert out.rc == 28, (out.rc, out.stderr)  # timed out: dropped, not refused


def test_ipv4_stays_closed(internet, lab):
    # The internet sees the carrier's address; nothing there leads to the home.
    carrier = lab["hosts"]["carrier"]["addresses"]["wan"]
    out = internet.run("curl -sk -o /dev/null -m 4 https://%s:8920/" % carrier)
    assert out.rc != 0, out.stdout
    assert "dnat" not in router_chain(lab, "prerouting_miniupnpd")


def test_only_the_aaaa_record_is_published(server, lab, server6):
    # The DDNS stand-in's DNS (on the internet host's second address) holds what was published:
    # the server's IPv6 address, and no A record (the carrier's shared IPv4 is not this home's).
    resolver = lab["hosts"]["internet"]["addresses"]["wan_alt"]
    script = ("import dns.resolver,sys; r=dns.resolver.Resolver(configure=False); r.nameservers=[sys.argv[1]]\n"
              "for t in ('AAAA','A'):\n"
              "    try: print(t, ' '.join(x.to_text() for x in r.resolve(sys.argv[2], t)))\n"
              "    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN): print(t, '-')\n")
    out = server.check_output("python3 -c %s %s %s" % (shlex.quote(script), resolver, DOMAIN))
    assert out.splitlines() == ["AAAA %s" % server6, "A -"], out


DDNS_TIMER = "jellyfin-remote-ddns"


def aaaa_at_the_provider(server, lab):
    resolver = lab["hosts"]["internet"]["addresses"]["wan_alt"]
    script = ("import dns.resolver,sys; r=dns.resolver.Resolver(configure=False); r.nameservers=[sys.argv[1]]\n"
              "print(' '.join(x.to_text() for x in r.resolve(sys.argv[2], 'AAAA')))")
    return server.check_output("python3 -c %s %s %s" % (shlex.quote(script), resolver, DOMAIN))


def test_a_timer_keeps_the_aaaa_record_current(server, lab):
    # ddclient cannot serve an AAAA record: the ddns role's own timer does (ddns_timer auto).
    assert server.service(DDNS_TIMER + ".timer").is_enabled
    assert server.service(DDNS_TIMER + ".timer").is_running
    credentials = server.file("/etc/jellyfin-remote-ddns.json")
    assert (credentials.mode, credentials.user, credentials.group) == (0o600, "root", "root")
    password = lab_secret(lab)
    assert password in credentials.content_string
    for path in ("/etc/systemd/system/%s.service" % DDNS_TIMER, "/usr/local/lib/%s/config.json" % DDNS_TIMER):
        assert password not in server.file(path).content_string, path


def lab_secret(lab):
    # The lab's DDNS password, as the lab's vars give it to the inventory.
    with open(os.path.join(REPO, "tests", "lab", "vars", "services.yml"), encoding="utf-8") as handle:
        text = handle.read()
    value = [line.split(":", 1)[1].strip().strip('"') for line in text.splitlines() if line.startswith("lab_ddns_password:")]
    assert value and value[0], "lab_ddns_password not found"
    return value[0]


@pytest.fixture(scope="module")
def renumbered(lab, server, server6):
    """The ISP renumbered the home: the server's address moves within the lab's /64 (the prefix
    the lab counts as global) and the old one is gone. Returns the new address."""
    network = ipaddress.ip_network(lab["subnets6"]["lan"])
    new = str(network.network_address + 0xbeef)
    links = json.loads(server.check_output("ip -j -6 addr show"))
    interface = next(link["ifname"] for link in links for info in link["addr_info"] if info["local"] == server6)
    server.check_output("ip -6 addr add %s/%d dev %s nodad" % (new, network.prefixlen, interface))
    server.check_output("ip -6 addr del %s/%d dev %s" % (server6, network.prefixlen, interface))
    return new


def test_after_renumbering_the_timers_follow_the_new_address(lab, server, internet, server6, renumbered, pebble_root):
    # The services the timers start, started now rather than waited for.
    assert aaaa_at_the_provider(server, lab) == server6
    out = server.run("systemctl start %s.service" % DDNS_TIMER)
    assert out.rc == 0, server.run("journalctl -u %s.service -o cat --no-pager -n 30" % DDNS_TIMER).stdout
    journal = server.check_output("journalctl -u %s.service -o cat --no-pager" % DDNS_TIMER)
    assert "%s AAAA: %s -> %s at dyndns2, answer: good" % (DOMAIN, server6, renumbered) in journal, journal
    assert lab_secret(lab) not in journal
    assert aaaa_at_the_provider(server, lab) == renumbered
    out = server.run("systemctl start jellyfin-remote-upnp-pinholes.service")
    assert out.rc == 0, out.stderr
    chain = router_chain(lab, "miniupnpd")
    assert "0x" + ipaddress.IPv6Address(renumbered).exploded.replace(":", "") in chain, chain
    # miniupnpd lets only the address a pinhole was made for delete it (606 to the new one): the
    # old pinhole stays until its lease ends, for an address the home no longer holds, and the
    # renewal says so.
    renewal = json.loads(server.check_output(
        "journalctl -u jellyfin-remote-upnp-pinholes.service -o cat --no-pager | grep '^{' | tail -1"))
    assert [(e["port"], e["address"]) for e in renewal["expiring"]] == [(8920, server6)], renewal
    assert [p["port"] for p in renewal["pinholes"]] == [8920] and renewal["address"] == renumbered, renewal
    status, body = curl(internet, "https://%s:8920/System/Info/Public" % DOMAIN, "-6", "--cacert", pebble_root,
                        "--resolve", "%s:8920:[%s]" % (DOMAIN, renumbered))
    assert status == 200, body
    # A second run finds the record current: nothing is sent.
    assert server.run("systemctl start %s.service" % DDNS_TIMER).rc == 0
    last = server.check_output("journalctl -u %s.service -o cat --no-pager -n 20" % DDNS_TIMER).splitlines()
    assert "ddns: %s AAAA: unchanged (%s)" % (DOMAIN, renumbered) in last, last


def test_removal_closes_the_pinhole(lab, server, internet, renumbered, pebble_root):
    """Last: jellyfin_remote_state absent closes what the site playbook opened, the router's
    IPv6 pinhole included (its ID was kept on the host), and 8920 is dropped again; the DDNS
    timer, its runner and its credentials go too."""
    server6 = renumbered
    proc = playbook(SITE, "-e", "jellyfin_remote_state=absent", log="absent.log")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "router IPv6 pinhole of port 8920" in proc.stdout
    # No pinhole for the address the home holds now; the earlier address's one ends with its lease.
    chain = router_chain(lab, "miniupnpd")
    assert "0x" + ipaddress.IPv6Address(server6).exploded.replace(":", "") not in chain, chain
    assert chain.count("dport 8920") <= 1, chain
    assert not server.file("/etc/jellyfin-remote/upnp-pinholes.json").exists
    assert not server.file("/etc/systemd/system/jellyfin-remote-upnp-pinholes.timer").exists
    for path in ("/etc/systemd/system/%s.timer" % DDNS_TIMER, "/etc/systemd/system/%s.service" % DDNS_TIMER,
                 "/usr/local/lib/" + DDNS_TIMER, "/etc/jellyfin-remote-ddns.json"):
        assert not server.file(path).exists, path
    assert "timer %s (stopped, disabled)" % DDNS_TIMER in proc.stdout
    out = internet.run("curl -s -o /dev/null -m 4 --cacert %s --resolve %s:8920:[%s] https://%s:8920/health"
                       % (pebble_root, DOMAIN, server6, DOMAIN))
    assert out.rc == 28, (out.rc, out.stderr)  # dropped by the router again
