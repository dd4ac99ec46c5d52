from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._advice import (
    METHODS,
    PREFERENCE_DEFAULTS,
    rank_methods,
)

FORWARDING = ("port_forward", "reverse_proxy", "wireguard")


def advice(classification, ipv6_global=False, **preferences):
    facts = {"classification": classification, "ipv6_global": ipv6_global}
    return rank_methods(facts, preferences)


def by_method(result):
    return {entry["method"]: entry for entry in result}


def order(result):
    return [entry["method"] for entry in result]


def text(entry):
    return " ".join(entry["reasons"])


@pytest.mark.parametrize("classification", ["public", "nat", "cgnat", "double_nat", "unknown", "offline"])
def test_shape_every_method_once_ranked_in_order(classification):
    result = advice(classification)
    assert sorted(order(result)) == sorted(METHODS)
    assert [e["rank"] for e in result] == list(range(1, len(METHODS) + 1))
    for entry in result:
        assert set(entry) == {"method", "rank", "suitable", "reasons", "needs"}
        assert isinstance(entry["suitable"], bool)
        assert entry["reasons"] and all(isinstance(r, str) and r for r in entry["reasons"])
    # Suitable ones come first.
    flags = [e["suitable"] for e in result]
    assert flags == sorted(flags, reverse=True)


@pytest.mark.parametrize("classification", ["cgnat", "double_nat"])
def test_cgnat_and_double_nat_rule_out_forwarding(classification):
    result = by_method(advice(classification))
    for method in FORWARDING:
        assert result[method]["suitable"] is False
    assert result["tailscale"]["suitable"] is True
    assert result["tailscale"]["rank"] == 1
    assert "1080p" in text(result["tailscale"])


def test_double_nat_says_two_routers():
    result = by_method(advice("double_nat"))
    assert "both routers" in text(result["port_forward"])


def test_vps_brings_back_proxy_and_wireguard_behind_cgnat():
    result = by_method(advice("cgnat", has_vps=True))
    assert result["reverse_proxy"]["suitable"] and result["wireguard"]["suitable"]
    assert "VPS" in text(result["reverse_proxy"])
    assert any("VPS" in need for need in result["wireguard"]["needs"])
    assert result["port_forward"]["suitable"] is False


def test_global_ipv6_brings_back_forwarding_for_ipv6_clients():
    result = by_method(advice("cgnat", ipv6_global=True))
    for method in FORWARDING:
        assert result[method]["suitable"] is True
        assert "IPv6" in text(result[method])
    assert result["tailscale"]["rank"] == 1


@pytest.mark.parametrize("classification", ["cgnat", "double_nat"])
def test_global_ipv6_asks_for_an_ipv6_firewall_opening_not_a_forward(classification):
    result = by_method(advice(classification, ipv6_global=True))
    assert "an IPv6 firewall opening on the router" in result["port_forward"]["needs"]
    assert "an IPv6 firewall opening for the WireGuard port" in result["wireguard"]["needs"]
    assert any("only clients with IPv6" in r for r in result["port_forward"]["reasons"])
    assert any("IPv6 clients only" in r for r in result["reverse_proxy"]["reasons"])
    # Without it the same line rules them out.
    without = by_method(advice(classification))
    assert not any(without[m]["suitable"] for m in FORWARDING)


def test_global_ipv6_changes_nothing_where_ipv4_forwards():
    assert advice("nat", ipv6_global=True) == advice("nat")


@pytest.mark.parametrize("classification", ["public", "nat"])
def test_forwarding_possible_everything_but_the_tunnel_is_suitable(classification):
    result = by_method(advice(classification))
    for method in FORWARDING + ("tailscale",):
        assert result[method]["suitable"] is True
    assert result["cloudflare_tunnel"]["suitable"] is False


def test_public_host_needs_no_router_forward():
    result = by_method(advice("public"))
    assert not any("router" in need for need in result["port_forward"]["needs"])
    assert any("host firewall" in need for need in result["port_forward"]["needs"])


@pytest.mark.parametrize(
    "classification, preferences",
    [
        ("nat", {}),
        ("cgnat", {}),
        ("cgnat", {"has_cloudflare_account": True, "has_domain": True, "skill": "beginner"}),
        ("double_nat", {"has_cloudflare_account": True, "has_tailscale_account": False}),
        ("offline", {"has_cloudflare_account": True}),
    ],
)
def test_cloudflare_never_first_and_always_warns(classification, preferences):
    result = advice(classification, **preferences)
    assert result[0]["method"] != "cloudflare_tunnel"
    tunnel = by_method(result)["cloudflare_tunnel"]
    assert tunnel["suitable"] is False
    assert "terms" in text(tunnel) and "web UI" in text(tunnel)
    assert any("acknowledgement" in need for need in tunnel["needs"])


def test_high_security_prefers_a_vpn():
    result = advice("nat", security_priority="high", has_domain=True)
    assert order(result)[:2] == ["wireguard", "tailscale"]
    assert "weakest" in text(by_method(result)["port_forward"])


def test_high_security_beginner_gets_tailscale():
    assert order(advice("nat", security_priority="high", skill="beginner"))[0] == "tailscale"


def test_many_users_with_a_domain_prefer_the_reverse_proxy():
    result = advice("nat", has_domain=True, remote_users=10)
    assert result[0]["method"] == "reverse_proxy"
    assert "many remote users" in text(result[0])


def test_reverse_proxy_needs_a_domain_and_ports():
    without = by_method(advice("nat"))["reverse_proxy"]
    assert any("domain" in need for need in without["needs"])
    assert any("443" in need for need in without["needs"])
    with_domain = by_method(advice("nat", has_domain=True))["reverse_proxy"]
    assert not any(need.startswith("a domain") for need in with_domain["needs"])


def test_port_80_blocked_needs_dns01():
    proxy = by_method(advice("nat", has_domain=True, blocked_ports=[80]))["reverse_proxy"]
    assert proxy["suitable"] is True
    assert any("DNS-01" in need for need in proxy["needs"])


def test_port_443_blocked_behind_a_router_keeps_the_proxy_on_another_external_port():
    proxy = by_method(advice("nat", has_domain=True, blocked_ports=[443]))["reverse_proxy"]
    assert proxy["suitable"] is True
    assert "8443" in text(proxy)
    assert any(need.startswith("an external port other than 443") and "jellyfin_remote_external_port" in need
               for need in proxy["needs"])
    # 80 is still open: HTTP-01 works, so no DNS-01 is asked for, and 80 is forwarded.
    assert not any("DNS-01" in need for need in proxy["needs"])
    assert "that external port and port 80 forwarded to the proxy host" in proxy["needs"]
    assert not any("443 and 80" in need for need in proxy["needs"])


def test_ports_80_and_443_blocked_need_dns01_and_another_port_not_a_rejection():
    result = advice("nat", has_domain=True, blocked_ports=[80, 443], remote_users=5)
    proxy = by_method(result)["reverse_proxy"]
    assert proxy["suitable"] is True
    needs = " | ".join(proxy["needs"])
    assert "a DNS-01 provider" in needs and "an external port other than 443" in needs
    assert "that external port forwarded to the proxy host" in proxy["needs"]
    assert "80" not in needs.replace("8443", "")
    # Less than with nothing blocked, but still the first advice for many remote users.
    open_line = by_method(advice("nat", has_domain=True, remote_users=5))["reverse_proxy"]
    assert order(result)[0] == "reverse_proxy" == order(advice("nat", has_domain=True, remote_users=5))[0]
    assert proxy["rank"] == open_line["rank"] == 1


def test_port_443_blocked_on_a_host_with_the_public_address_rules_out_the_home_proxy_unless_vps():
    proxy = by_method(advice("public", has_domain=True, blocked_ports=[443]))["reverse_proxy"]
    assert proxy["suitable"] is False and "no router" in text(proxy)
    proxy = by_method(advice("nat", blocked_ports=[443], has_vps=True))["reverse_proxy"]
    assert proxy["suitable"] is True and "VPS" in text(proxy)
    assert not any("external port" in need for need in proxy["needs"])
    assert not any("forwarded to the proxy host" in need for need in proxy["needs"])


def test_blocked_jellyfin_port_suggests_another_external_port():
    forward = by_method(advice("nat", blocked_ports=["8096"]))["port_forward"]
    assert forward["suitable"] is True
    assert "8096" in text(forward)


def test_unknown_and_offline_keep_forwarding_but_say_unknown():
    for classification, words in (("unknown", "wan_source=value"), ("offline", "offline")):
        result = by_method(advice(classification))
        assert result["port_forward"]["suitable"] is True
        assert words in text(result["port_forward"])


@pytest.mark.parametrize(
    "upload, users, expected",
    [(20, 1, "below what one 4K remux needs"), (100, 4, "shared by 4 remote users"), (200, 2, None), (None, 5, None)],
)
def test_upload_bandwidth_note(upload, users, expected):
    result = advice("nat", upload_mbps=upload, remote_users=users)
    notes = [r for e in result for r in e["reasons"] if "Mbit/s" in r]
    if expected is None:
        assert notes == []
    else:
        suitable = [e for e in result if e["suitable"]]
        assert len(notes) == len(suitable)
        assert all(expected in n and "50-128 Mbit/s" in n for n in notes)


def test_facts_can_be_the_whole_module_result():
    result = {
        "changed": False,
        "classification": "cgnat",
        "port_forwarding_possible": False,
        "ipv6_global": False,
        "ipv4": "198.51.100.7",
        "sources": [],
    }
    assert rank_methods(result, {}) == advice("cgnat")


def test_deterministic():
    prefs = {"has_domain": True, "blocked_ports": [443, 80], "upload_mbps": 30.5, "remote_users": 2}
    first = rank_methods({"classification": "nat"}, prefs)
    for _ in range(5):
        assert rank_methods({"classification": "nat"}, dict(prefs)) == first
    assert rank_methods({"classification": "nat"}, dict(prefs, blocked_ports=[80, 443])) == first


def test_defaults_cover_the_documented_preferences():
    assert set(PREFERENCE_DEFAULTS) == {
        "blocked_ports",
        "has_domain",
        "has_vps",
        "has_tailscale_account",
        "has_cloudflare_account",
        "security_priority",
        "skill",
        "upload_mbps",
        "remote_users",
    }


@pytest.mark.parametrize(
    "preferences, message",
    [
        ({"has_vpn": True}, "unknown preference 'has_vpn'"),
        ({"security_priority": "paranoid"}, "security_priority must be one of low, normal, high"),
        ({"skill": "expert"}, "skill must be one of beginner, intermediate, advanced"),
        ({"has_domain": "yes"}, "has_domain must be true or false"),
        ({"blocked_ports": [80, "https"]}, "blocked_ports: 'https' is not a port number"),
        ({"blocked_ports": [70000]}, "blocked_ports: 70000"),
        ({"blocked_ports": 443}, "blocked_ports must be a list"),
        ({"upload_mbps": -1}, "upload_mbps must be a number"),
        ({"upload_mbps": "fast"}, "upload_mbps must be a number"),
        ({"remote_users": 0}, "remote_users must be a whole number of 1 or more"),
        ({"remote_users": 2.5}, "remote_users must be a whole number"),
    ],
)
def test_bad_preferences(preferences, message):
    with pytest.raises(ValueError, match=message):
        rank_methods({"classification": "nat"}, preferences)


@pytest.mark.parametrize(
    "facts, message",
    [
        ("nat", "facts must be the dict"),
        ({}, "classification must be one of"),
        ({"classification": "behind_nat"}, "'behind_nat'"),
        ({"classification": "nat", "port_forwarding_possible": "maybe"}, "port_forwarding_possible"),
        ({"classification": "nat", "ipv6_global": None}, "ipv6_global"),
    ],
)
def test_bad_facts(facts, message):
    with pytest.raises(ValueError, match=message):
        rank_methods(facts, {})


def test_port_forwarding_possible_from_facts_wins():
    # A nat result whose forwarding was found impossible by other means is treated as such.
    result = by_method(rank_methods({"classification": "nat", "port_forwarding_possible": False}, {}))
    assert result["port_forward"]["suitable"] is False


# Issue 22: the VPS relay.
def test_cgnat_with_a_relay_ranks_the_vps_relay_first():
    result = advice("cgnat", has_vps=True, has_domain=True, has_tailscale_account=True, remote_users=4)
    assert order(result)[0] == "vps_relay"
    relay = by_method(result)["vps_relay"]
    assert relay["suitable"] and "nothing is opened on the home router" in text(relay)
    assert "transfer quota" in text(relay)


@pytest.mark.parametrize("classification", ["cgnat", "double_nat"])
def test_cgnat_without_a_relay_keeps_tailscale_first_and_says_what_the_relay_needs(classification):
    # The default_cgnat scenario's inventory: a domain, a Tailscale key, four viewers, no VPS.
    result = advice(classification, has_domain=True, has_tailscale_account=True, remote_users=4)
    suitable = [e["method"] for e in result if e["suitable"]]
    assert suitable[0] == "tailscale"
    relay = by_method(result)["vps_relay"]
    assert not relay["suitable"]
    assert "jellyfin_relay" in relay["needs"][0] and "VPS" in relay["needs"][0]


def test_a_relay_is_not_preferred_where_the_router_forwards():
    result = advice("nat", has_vps=True, has_domain=True, remote_users=4)
    assert order(result).index("reverse_proxy") < order(result).index("vps_relay")
    assert "only adds a hop" in text(by_method(result)["vps_relay"])
