# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 22: the vps_relay method in the site's decisions (choice, plan, summary, closing)."""

from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site, _vps_relay
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._advice import rank_methods

# The lab's inventory (tests/lab/vars/site.yml): a domain, a Tailscale key, four viewers.
INPUTS = {"domain": "jellyfin.ddns.lab.test", "wireguard_peers": 1, "tailscale_key": True,
          "cloudflare_token": False, "cloudflare_terms": False}


def ranked(classification="cgnat", has_vps=False):
    return rank_methods({"classification": classification},
                        {"has_domain": True, "has_tailscale_account": True, "remote_users": 4, "has_vps": has_vps})


def test_auto_takes_the_relay_under_cgnat_when_the_inventory_has_one():
    choice = _site.choose(ranked(has_vps=True), dict(INPUTS, relay_hosts=1))
    assert choice["method"] == "vps_relay"
    assert choice["rank"] == 1


def test_auto_keeps_tailscale_under_cgnat_without_a_relay():
    # What the default_cgnat scenario relies on.
    assert _site.choose(ranked(has_vps=False), dict(INPUTS, relay_hosts=0))["method"] == "tailscale"


def test_a_vps_without_a_relay_host_says_what_is_missing():
    choice = _site.choose(ranked(has_vps=True), dict(INPUTS, relay_hosts=0))
    assert choice["method"] != "vps_relay"
    lacking = [b for b in choice["better"] if b["method"] == "vps_relay"]
    assert lacking and "jellyfin_relay" in lacking[0]["missing"][0]


def test_the_relay_needs_a_domain_and_a_relay_host():
    missing = _site.missing_inputs({"domain": "", "relay_hosts": 0})["vps_relay"]
    assert len(missing) == 2 and "jellyfin_relay" in missing[0] and "jellyfin_remote_domain" in missing[1]
    with pytest.raises(_site.SiteError, match="relay_hosts must be a number"):
        _site.missing_inputs({"relay_hosts": "two"})
    with pytest.raises(_site.SiteError, match="vps_relay, which needs .*jellyfin_relay"):
        _site.plan("vps_relay", {"inputs": dict(INPUTS, relay_hosts=0)})


def test_the_plan_opens_nothing_at_home_and_tells_jellyfin_the_relay_address():
    planned = _site.plan("vps_relay", {"inputs": dict(INPUTS, relay_hosts=1)})
    assert planned["ports"] == [] and planned["local_network_subnets"] == []
    assert planned["known_proxies"] == ["10.87.0.1"]
    assert _site.plan("vps_relay", {"relay_network": "10.99.0.0/29"})["known_proxies"] == ["10.99.0.1"]
    with pytest.raises(_site.SiteError, match="vps_relay_network"):
        _site.plan("vps_relay", {"relay_network": "8.8.8.0/30"})


def test_the_summary_gives_the_url_and_warns_about_the_quota():
    out = _site.summary("vps_relay", {"domain": "media.example.org", "relay_host": "vps", "base_url": "/jf"})
    assert out["urls"] == ["https://media.example.org/jf/ (through the relay vps)"]
    assert any("transfer quota" in w for w in out["warnings"])
    relay_line = [o for o in out["opened"] if o.startswith("on the relay vps")]
    assert relay_line and "80/tcp, 443/tcp, 51820/udp, 22/tcp" in relay_line[0]
    assert not any(o.startswith("router") for o in out["opened"])


def test_switching_away_closes_the_relay_first():
    recorded = _site.site_record("vps_relay", False, _site.plan("vps_relay"), {})
    plan = _site.closing(recorded, "port_forward", True, _site.plan("port_forward", {"https": True, "https_domain": "m.example"}))
    assert plan["roles"][0] == "vps_relay"
    assert "known_proxies" in plan["restore"]
    assert _site.closing(None)["roles"][0] == "vps_relay"


@pytest.mark.parametrize("network, relay, home", [("10.87.0.0/30", "10.87.0.1", "10.87.0.2"),
                                                  ("192.168.200.8/29", "192.168.200.9", "192.168.200.10")])
def test_tunnel_addresses(network, relay, home):
    plan = _vps_relay.plan(network)
    assert (plan["relay"], plan["home"]) == (relay, home)
    assert plan["relay_cidr"].endswith("/%d" % plan["prefix"])
    assert plan["nft"]["forward_sysctls"] == [] and plan["nft"]["forward"] == {"ipv4": [], "ipv6": []}


@pytest.mark.parametrize("network", ["10.87.0.0/31", "10.87.0.1/30", "100.64.0.0/30x", "fd00::/64", "8.8.8.0/30"])
def test_tunnel_ranges_refused_by_name(network):
    with pytest.raises(_vps_relay.VpsRelayError, match="vps_relay_network"):
        _vps_relay.plan(network)


KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="


@pytest.mark.parametrize("settings, option", [
    ({"vps_relay_interface": "wg relay"}, "vps_relay_interface"),
    ({"vps_relay_endpoint_host": ""}, "vps_relay_endpoint_host is empty"),
    ({"vps_relay_endpoint_host": "relay.example.org\nPostUp = id"}, "vps_relay_endpoint_host"),
    ({"vps_relay_home_public_key": KEY + "\nPostUp = id"}, "vps_relay_home_public_key"),
    ({"vps_relay_relay_public_key": ""}, "vps_relay_relay_public_key"),
    ({"vps_relay_mtu": 9000}, "vps_relay_mtu"),
    ({"vps_relay_keepalive": 0}, "vps_relay_keepalive"),
    ({"vps_relay_listen_port": True}, "vps_relay_listen_port"),
])
def test_bad_values_are_refused_by_name(settings, option):
    with pytest.raises(_vps_relay.VpsRelayError, match=option):
        _vps_relay.check(settings)


def test_a_key_is_never_quoted():
    secretish = KEY[:-2] + "!="
    with pytest.raises(_vps_relay.VpsRelayError) as info:
        _vps_relay.check({"vps_relay_home_public_key": secretish})
    assert secretish not in str(info.value)


def test_good_values_pass():
    assert _vps_relay.check({"vps_relay_interface": "wg-relay", "vps_relay_endpoint_host": "203.0.113.7",
                             "vps_relay_home_public_key": KEY, "vps_relay_relay_public_key": KEY,
                             "vps_relay_mtu": 1420, "vps_relay_keepalive": 25, "vps_relay_listen_port": "51820",
                             "vps_relay_jellyfin_port": 8096})


def test_jellyfin_lists_the_lan_so_that_the_tunnel_is_not_local():
    given = _site.plan("vps_relay", {"lan_subnets": ["192.168.1.0/24", "10.87.0.0/30"]})
    assert given["local_network_subnets"] == ["192.168.1.0/24"]
    facts = {"default_ipv4": {"interface": "eth0", "network": "192.168.7.0", "netmask": "255.255.255.0"},
             "interfaces": ["eth0", "wg-relay"],
             "eth0": {"ipv4": {"network": "192.168.7.0", "netmask": "255.255.255.0"}},
             "wg_relay": {"ipv4": {"network": "10.87.0.0", "netmask": "255.255.255.252"}}}
    assert _site.plan("vps_relay", {"host_facts": facts})["local_network_subnets"] == ["192.168.7.0/24"]
    assert _site.plan("vps_relay", {})["local_network_subnets"] == []


def test_the_summary_gives_the_relays_measured_ceiling():
    ceiling = {"mbps": 409.87, "server": "10.87.0.1", "measured_at": "2026-12-07T22:10:00Z", "runs_mbps": [409.87]}
    out = _site.summary("vps_relay", {"domain": "media.example.org", "relay_host": "vps", "relay_ceiling": ceiling})
    assert "relay ceiling: 409.87 Mbit/s home -> relay (measured 2026-12-07)" in out["notes"]
    assert "relay ceiling: 410 Mbit/s home -> relay (measured 2026-12-07)" in _site.summary(
        "vps_relay", {"relay_ceiling": dict(ceiling, mbps=410.0)})["notes"]
    off = _site.summary("vps_relay", {"relay_measure": False})["notes"]
    assert "relay ceiling: not measured (jellyfin_remote_relay_measure_ceiling is false)" in off
    assert "relay ceiling: not measured yet (check mode measures nothing)" in _site.summary("vps_relay", {})["notes"]
    assert not [n for n in _site.summary("reverse_proxy", {"relay_ceiling": ceiling})["notes"] if "relay" in n]
