"""LocalNetworkSubnets for a VPN: the LAN first (given or detected), then the VPN ranges."""

from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._local_subnets import (
    LocalSubnetsError,
    detected_lan,
    local_network_subnets,
)

HOME = {"address": "192.168.1.20", "network": "192.168.1.0", "netmask": "255.255.255.0", "interface": "eth0"}

# ansible_facts with the network subset, as on a home server with Docker and a WireGuard interface.
FACTS = {
    "default_ipv4": HOME,
    "interfaces": ["lo", "eth0", "docker0", "wg0", "br-3f1c"],
    "lo": {"ipv4": {"network": "127.0.0.0", "netmask": "255.0.0.0"}},
    "eth0": {"ipv4": HOME, "ipv4_secondaries": [{"network": "192.168.7.0", "netmask": "255.255.255.0"}]},
    "docker0": {"ipv4": {"network": "172.17.0.0", "netmask": "255.255.0.0"}},
    "wg0": {"ipv4": {"network": "10.13.13.0", "netmask": "255.255.255.0"}},
    "br_3f1c": {"ipv4": {"network": "172.18.0.0", "netmask": "255.255.0.0"}},
}
# The lab server: its default route leaves by the uplink, the home LAN is its other interface.
LAB = {
    "default_ipv4": {"network": "10.88.0.0", "netmask": "255.255.0.0", "interface": "eth1"},
    "interfaces": ["eth0", "eth1", "lo"],
    "eth0": {"ipv4": {"network": "10.89.3.0", "netmask": "255.255.255.0"}},
    "eth1": {"ipv4": {"network": "10.88.0.0", "netmask": "255.255.0.0"}},
}


@pytest.mark.parametrize("vpn, lan, facts, expected", [
    (["10.13.13.0/24"], ["192.168.1.0/24"], None, ["192.168.1.0/24", "10.13.13.0/24"]),
    # The LAN is detected from the host's networks when it is not given.
    (["10.13.13.0/24"], [], {"default_ipv4": HOME}, ["192.168.1.0/24", "10.13.13.0/24"]),
    (["10.13.13.0/24"], [], HOME, ["192.168.1.0/24", "10.13.13.0/24"]),
    (["10.8.0.0/24", ""], None, {"network": "10.0.0.0", "prefix": "16"}, ["10.0.0.0/16", "10.8.0.0/24"]),
    (["10.13.13.0/24"], [], FACTS,
     ["192.168.1.0/24", "172.18.0.0/16", "172.17.0.0/16", "192.168.7.0/24", "10.13.13.0/24"]),
    (["10.89.9.0/24"], [], LAB, ["10.88.0.0/16", "10.89.3.0/24", "10.89.9.0/24"]),
    # Given wins over detected; normalized; no repeats; IPv6 VPN ranges kept in order.
    (["10.13.13.5/24", "fd13:13:13::/64", "10.13.13.0/24"], ["192.168.2.7/24", "192.168.2.0/24"], FACTS,
     ["192.168.2.0/24", "10.13.13.0/24", "fd13:13:13::/64"]),
    # A VPN range inside the given LAN is not repeated.
    (["192.168.1.0/24"], ["192.168.1.0/24"], None, ["192.168.1.0/24"]),
    # No VPN range: nothing to add, no LAN needed.
    ([], [], None, []),
])
def test_local_network_subnets(vpn, lan, facts, expected):
    assert local_network_subnets(vpn, lan, facts) == expected


def test_the_vpn_interface_is_not_taken_for_the_lan():
    facts = {"interfaces": ["wg0"], "wg0": {"ipv4": {"network": "10.20.0.0", "netmask": "255.255.255.0"}}}
    with pytest.raises(LocalSubnetsError):
        local_network_subnets(["10.13.13.0/24"], [], facts, exclude_interfaces=["wg0"])
    assert local_network_subnets(["10.13.13.0/24"], [], facts) == ["10.20.0.0/24", "10.13.13.0/24"]


@pytest.mark.parametrize("facts", [
    None,
    {},
    # A VPS: its network is public, not a home LAN.
    {"default_ipv4": {"network": "203.0.113.0", "netmask": "255.255.255.0"}},
    # Behind CGNAT the carrier's 100.64/10 is no home LAN either.
    {"network": "100.64.0.0", "netmask": "255.192.0.0"},
    # Only the VPN's own network.
    {"interfaces": ["wg0"], "wg0": {"ipv4": {"network": "10.13.13.0", "netmask": "255.255.255.0"}}},
])
def test_no_lan_found_is_a_clear_error_naming_the_option(facts):
    with pytest.raises(LocalSubnetsError) as err:
        local_network_subnets(["10.13.13.0/24"], [], facts, "wireguard_lan_subnets", "wireguard_manage_jellyfin")
    assert str(err.value) == (
        "wireguard_lan_subnets is empty and no home LAN (an RFC 1918 network such as 192.168.1.0/24) was found on "
        "the host's interfaces. Adding only the VPN range to Jellyfin's LocalNetworkSubnets would turn every LAN "
        "client remote: set wireguard_lan_subnets to the LAN, for example [192.168.1.0/24], or set "
        "wireguard_manage_jellyfin to false.")


def test_a_bad_lan_value_names_the_option():
    with pytest.raises(LocalSubnetsError, match=r"openvpn_lan_subnets: 'home' is not an IP network"):
        local_network_subnets(["10.8.0.0/24"], ["home"], None, "openvpn_lan_subnets")


@pytest.mark.parametrize("facts, expected", [
    (HOME, ["192.168.1.0/24"]),
    ({"network": "172.16.5.0", "netmask": "255.255.255.0"}, ["172.16.5.0/24"]),
    ({"network": "192.168.1.5", "netmask": "255.255.255.255"}, []),  # a point-to-point /32
    ({"network": "127.0.0.0", "netmask": "255.0.0.0"}, []),
    ({"network": "nonsense", "netmask": "255.0.0.0"}, []),
    ("eth0", []),
])
def test_detected_lan(facts, expected):
    assert detected_lan(facts) == expected
