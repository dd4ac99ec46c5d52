from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _vpn_plan as vp

WG = dict(ipv4_option="wireguard_network_ipv4", ipv6_option="wireguard_network_ipv6",
          routes_option="wireguard_client_allowed_ips")
OVPN = dict(ipv4_option="openvpn_network_ipv4", ipv6_option="openvpn_network_ipv6", routes_option="openvpn_client_routes")


def _nets(v4, v6=None):
    return vp.networks(v4, v6, "v4", "v6")


@pytest.mark.parametrize(
    "v4, v6, message",
    [
        ("nonsense", None, "wireguard_network_ipv4: 'nonsense' is not an IP network"),
        ("fd00::/64", None, "wireguard_network_ipv4: fd00::/64 is not an IPv4 network"),
        ("10.0.0.0/24", "10.1.0.0/24", "wireguard_network_ipv6: 10.1.0.0/24 is not an IPv6 network"),
        ("10.0.0.0/24", "fd00::/127", "wireguard_network_ipv6: fd00::/127 is too small"),
        ("10.0.0.0/31", None, "wireguard_network_ipv4: 10.0.0.0/31 is too small"),
    ],
)
def test_network_errors_name_the_option_given(v4, v6, message):
    with pytest.raises(vp.VpnPlanError, match=message):
        vp.networks(v4, v6, "wireguard_network_ipv4", "wireguard_network_ipv6")


def test_networks_are_normalized_and_ipv6_is_optional():
    assert _nets("10.13.13.7/24") == [ipaddress.ip_network("10.13.13.0/24")]
    assert [str(n) for n in _nets("10.13.13.0/24", "fd13::5/64")] == ["10.13.13.0/24", "fd13::/64"]


def test_server_addresses():
    assert vp.server_addresses(_nets("10.13.13.0/24", "fd13::/64")) == ["10.13.13.1/24", "fd13::1/64"]
    assert vp.server_hosts(_nets("10.13.13.7/24")) == ["10.13.13.1/32"]


@pytest.mark.parametrize(
    "routes, full, v6, expected",
    [
        ([], False, None, ["10.13.13.1/32"]),
        ([], False, "fd13::/64", ["10.13.13.1/32", "fd13::1/128"]),
        (["192.168.1.7/24"], False, None, ["192.168.1.0/24"]),
        # Full tunnel without an IPv6 VPN network still takes ::/0, so IPv6 cannot leak around it.
        ([], True, None, ["0.0.0.0/0", "::/0"]),
        ([], True, "fd13::/64", ["0.0.0.0/0", "::/0"]),
    ],
)
def test_client_routes(routes, full, v6, expected):
    assert vp.client_routes(routes, full, _nets("10.13.13.0/24", v6), "x") == expected


def test_a_bad_route_names_the_option_given():
    with pytest.raises(vp.VpnPlanError, match="openvpn_client_routes: 'bogus' is not an IP network"):
        vp.client_routes(["192.168.1.0/24", "bogus"], False, _nets("10.8.0.0/24"), "openvpn_client_routes")


def test_forward_destinations_leave_out_the_server():
    got = vp.forward_destinations(["10.13.13.1/32", "192.168.1.0/24", "fd13::1/128", "fd00:1::/64"],
                                  _nets("10.13.13.0/24", "fd13::/64"))
    assert got == {"ipv4": ["192.168.1.0/24"], "ipv6": ["fd00:1::/64"]}


V4, V6 = "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"


@pytest.mark.parametrize(
    "routes, full, v6, expected",
    [
        ([], False, None, []),
        ([], False, "fd13::/64", []),
        (["10.13.13.1/32"], False, None, []),
        (["192.168.1.0/24"], False, None, [V4]),
        (["192.168.1.0/24"], False, "fd13::/64", [V4]),
        (["fd00:1::/64"], False, "fd13::/64", [V6]),
        # No IPv6 VPN network: no client has an IPv6 source to forward.
        (["fd00:1::/64"], False, None, []),
        ([], True, None, [V4]),
        ([], True, "fd13::/64", [V4, V6]),
    ],
)
def test_forward_sysctls(routes, full, v6, expected):
    plan = vp.plan("10.13.13.0/24", v6, routes, full, **WG)
    assert plan["forward_sysctls"] == expected


def test_plan():
    assert vp.plan("10.8.0.0/24", "", ["10.8.0.1/32", "192.168.1.0/25"], False, **OVPN) == {
        "networks": {"ipv4": "10.8.0.0/24"},
        "server_addresses": ["10.8.0.1/24"],
        "server_hosts": ["10.8.0.1/32"],
        "client_allowed_ips": ["10.8.0.1/32", "192.168.1.0/25"],
        "forward": {"ipv4": ["192.168.1.0/25"], "ipv6": []},
        "forward_sysctls": [V4],
        "netmasks": {"10.8.0.0/24": "255.255.255.0", "192.168.1.0/25": "255.255.255.128"},
    }


@pytest.mark.parametrize("options, args, message", [
    (WG, ("10.13.13.0/33",), "wireguard_network_ipv4: "),
    (OVPN, ("10.8.0.0/33",), "openvpn_network_ipv4: "),
    (WG, ("10.13.13.0/24", "10.8.1.0/24"), "wireguard_network_ipv6: 10.8.1.0/24 is not an IPv6 network"),
    (OVPN, ("10.8.0.0/24", "10.8.1.0/24"), "openvpn_network_ipv6: 10.8.1.0/24 is not an IPv6 network"),
    (WG, ("10.13.13.0/24", "", ["bogus"]), "wireguard_client_allowed_ips: 'bogus' is not an IP network"),
    (OVPN, ("10.8.0.0/24", "", ["bogus"]), "openvpn_client_routes: 'bogus' is not an IP network"),
])
def test_plan_errors_name_the_callers_options(options, args, message):
    with pytest.raises(vp.VpnPlanError) as err:
        vp.plan(*args, **options)
    assert str(err.value).startswith(message)


def test_plan_needs_the_option_names():
    with pytest.raises(TypeError):
        vp.plan("10.8.0.0/24")  # pylint: disable=missing-kwoa
