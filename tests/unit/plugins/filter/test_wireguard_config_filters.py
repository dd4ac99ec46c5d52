from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter.wireguard_client_config import (
    FilterModule as ClientFilters,
    wireguard_client_config,
)
from ansible_collections.homelab.jellyfin_remote.plugins.filter.wireguard_peer_addresses import (
    FilterModule as AddressFilters,
    wireguard_peer_addresses,
)
from ansible_collections.homelab.jellyfin_remote.plugins.filter.wireguard_server_plan import (
    FilterModule as PlanFilters,
    vpn_server_plan,
    wireguard_server_plan,
)

KEY_A = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
KEY_B = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="


def test_filters_are_registered():
    assert "wireguard_client_config" in ClientFilters().filters()
    assert "wireguard_peer_addresses" in AddressFilters().filters()
    assert "wireguard_server_plan" in PlanFilters().filters()


def test_client_config_filter_renders():
    text = wireguard_client_config(dict(name="p", private_key=KEY_A, addresses=["10.13.13.2/32"],
                                        server_public_key=KEY_B, endpoint_host="h", endpoint_port=1,
                                        allowed_ips=["10.13.13.1/32"]))
    assert "Endpoint = h:1\n" in text


def test_client_config_filter_error_is_a_filter_error_without_the_key():
    with pytest.raises(AnsibleFilterError) as err:
        wireguard_client_config(dict(name="p", private_key=KEY_A[:-2], addresses=["10.13.13.2/32"],
                                     server_public_key=KEY_B, endpoint_host="h", endpoint_port=1,
                                     allowed_ips=["10.13.13.1/32"]))
    assert KEY_A[:-2] not in str(err.value)


def test_peer_addresses_filter():
    assert wireguard_peer_addresses([{"name": "a"}], None, "10.13.13.0/24", "") == {"a": ["10.13.13.2/32"]}
    with pytest.raises(AnsibleFilterError, match="unique"):
        wireguard_peer_addresses([{"name": "a"}, {"name": "a"}])


def test_server_plan_filter_names_the_wireguard_options():
    plan = wireguard_server_plan("10.13.13.0/24", "", ["10.13.13.1/32", "192.168.1.0/24"], False)
    assert plan == {
        "networks": {"ipv4": "10.13.13.0/24"},
        "server_addresses": ["10.13.13.1/24"],
        "server_hosts": ["10.13.13.1/32"],
        "client_allowed_ips": ["10.13.13.1/32", "192.168.1.0/24"],
        "forward": {"ipv4": ["192.168.1.0/24"], "ipv6": []},
        "forward_sysctls": ["net.ipv4.ip_forward"],
        "netmasks": {"10.13.13.0/24": "255.255.255.0", "192.168.1.0/24": "255.255.255.0"},
    }
    with pytest.raises(AnsibleFilterError, match="wireguard_server_plan: wireguard_client_allowed_ips: .*not an IP network"):
        wireguard_server_plan("10.13.13.0/24", "", ["bogus"])
    with pytest.raises(AnsibleFilterError, match="wireguard_server_plan: wireguard_network_ipv4: .*not an IP network"):
        wireguard_server_plan("10.13.13.0/33")
    with pytest.raises(AnsibleFilterError, match="wireguard_server_plan: wireguard_network_ipv6: 10.1.0.0/24 is not an IPv6"):
        wireguard_server_plan("10.13.13.0/24", "10.1.0.0/24")


OPENVPN = dict(ipv4_option="openvpn_network_ipv4", ipv6_option="openvpn_network_ipv6", routes_option="openvpn_client_routes")


def test_vpn_server_plan_names_the_options_it_is_given():
    assert "vpn_server_plan" in PlanFilters().filters()
    plan = vpn_server_plan("10.8.0.0/24", "", ["192.168.1.0/25"], False, **OPENVPN)
    assert plan["server_hosts"] == ["10.8.0.1/32"]
    assert plan["forward"] == {"ipv4": ["192.168.1.0/25"], "ipv6": []}
    assert plan["netmasks"] == {"10.8.0.0/24": "255.255.255.0", "192.168.1.0/25": "255.255.255.128"}
    with pytest.raises(AnsibleFilterError, match="vpn_server_plan: openvpn_network_ipv4: .*not an IP network"):
        vpn_server_plan("10.8.0.0/33", **OPENVPN)
    with pytest.raises(AnsibleFilterError, match="openvpn_network_ipv6: 10.8.1.0/24 is not an IPv6 network"):
        vpn_server_plan("10.8.0.0/24", "10.8.1.0/24", **OPENVPN)
    with pytest.raises(AnsibleFilterError, match="openvpn_client_routes: 'bogus' is not an IP network"):
        vpn_server_plan("10.8.0.0/24", "", ["bogus"], **OPENVPN)
    # Without names, the generic ones.
    with pytest.raises(AnsibleFilterError, match="vpn_server_plan: routes: 'bogus' is not an IP network"):
        vpn_server_plan("10.8.0.0/24", "", ["bogus"])


def test_vpn_filters_are_registered_and_raise_filter_errors():
    from ansible_collections.homelab.jellyfin_remote.plugins.filter import (
        local_network_subnets, vpn_settings_check, wireguard_stale_files)
    assert "local_network_subnets" in local_network_subnets.FilterModule().filters()
    assert "vpn_settings_check" in vpn_settings_check.FilterModule().filters()
    assert "wireguard_stale_files" in wireguard_stale_files.FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match="wireguard_lan_subnets is empty"):
        local_network_subnets.local_network_subnets(["10.13.13.0/24"], [], {}, "wireguard_lan_subnets")
    assert local_network_subnets.local_network_subnets(["10.13.13.0/24"], ["192.168.1.0/24"]) == [
        "192.168.1.0/24", "10.13.13.0/24"]
    with pytest.raises(AnsibleFilterError, match="openvpn_clients: 'ca' is the name of a file"):
        vpn_settings_check.vpn_settings_check({"openvpn_instance": "j", "openvpn_interface": "t",
                                               "openvpn_clients": ["ca"]}, "openvpn")
    assert wireguard_stale_files.wireguard_stale_files([], ["old", "../x"]) == {
        "server": ["old.key", "old.pub", "old.psk"], "controller": ["old.conf", "old.png", "old.txt"]}
