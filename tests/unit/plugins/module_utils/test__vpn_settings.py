"""Every value the VPN roles write into a configuration is checked, and errors name the option."""

from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _vpn_settings as vs

KEY = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="

WG = dict(wireguard_interface="wg0", wireguard_lan_interface="", wireguard_endpoint_host="vpn.example.org",
          wireguard_client_dns=[], wireguard_host_ports=[8096], wireguard_peers=[{"name": "phone"}])
OVPN = dict(openvpn_instance="jellyfin", openvpn_interface="ovpn-jellyfin", openvpn_lan_interface="",
            openvpn_endpoint_host="vpn.example.org", openvpn_client_dns=[], openvpn_host_ports=[8096],
            openvpn_server_extra_directives=[], openvpn_clients=["phone"])


def _wg(**over):
    return dict(WG, **over)


def _ovpn(**over):
    return dict(OVPN, **over)


def test_defaults_pass():
    assert vs.check_settings(WG, "wireguard") is True
    assert vs.check_settings(OVPN, "openvpn") is True


@pytest.mark.parametrize("value", [KEY, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="])
def test_public_keys_as_wg_prints_them(value):
    assert vs.check_settings(_wg(wireguard_peers=[{"name": "tablet", "public_key": value}]), "wireguard")


@pytest.mark.parametrize("value", [
    KEY + "\n",  # "$" would have accepted this trailing newline
    KEY + "\n[Interface]\nPostUp = touch /tmp/pwned",
    " " + KEY,
    KEY[:-1],
    KEY[:-2] + "B=",  # 32 bytes have 4 spare bits: a last character with them set is no key
    "x" * 44,
    12345,
])
def test_a_public_key_that_is_not_one_is_refused_without_echoing_it(value):
    with pytest.raises(vs.VpnSettingsError) as err:
        vs.check_settings(_wg(wireguard_peers=[{"name": "tablet", "public_key": value}]), "wireguard")
    text = str(err.value)
    assert "wireguard_peers: peer tablet has a public_key that is not a WireGuard public key" in text
    assert str(value).strip() not in text


@pytest.mark.parametrize("over, message", [
    (dict(wireguard_endpoint_host="vpn.example.org\nPostUp = x"), r"wireguard_endpoint_host: .* neither a DNS name"),
    (dict(wireguard_endpoint_host="-bad.example.org"), "wireguard_endpoint_host"),
    (dict(wireguard_client_dns=["1.1.1.1\nPostUp = x"]), r"wireguard_client_dns: .* not an IP address or a search domain"),
    (dict(wireguard_client_dns="1.1.1.1"), "wireguard_client_dns must be a list"),
    (dict(wireguard_lan_interface='eth0" accept'), "wireguard_lan_interface: .* is not an interface name"),
    (dict(wireguard_interface="wg0\n"), "wireguard_interface"),
    (dict(wireguard_host_ports=[8096, "22\n"]), "wireguard_host_ports: .* is not a TCP port"),
    (dict(wireguard_host_ports=[0]), "wireguard_host_ports"),
    (dict(wireguard_host_ports=[True]), "wireguard_host_ports"),
    (dict(wireguard_peers=[{"name": "phone\n"}]), r"wireguard_peers\[0\]: peer name"),
    (dict(wireguard_peers=[{"name": "../phone"}]), r"wireguard_peers\[0\]: peer name"),
    (dict(wireguard_peers=["phone"]), r"wireguard_peers\[0\] must be a dictionary"),
    (dict(wireguard_peers=[{"name": "p", "persistent_keepalive": "25\nPostUp=x"}]), "persistent_keepalive"),
    (dict(wireguard_peers=[{"name": "p", "persistent_keepalive": 70000}]), "persistent_keepalive"),
    (dict(wireguard_peers=[{"name": "p", "psk": "yes"}]), "psk"),
])
def test_wireguard_values_that_could_add_lines_are_refused(over, message):
    with pytest.raises(vs.VpnSettingsError, match=message):
        vs.check_settings(_wg(**over), "wireguard")


@pytest.mark.parametrize("over", [
    dict(wireguard_endpoint_host="203.0.113.7"), dict(wireguard_endpoint_host="2001:db8::1"),
    dict(wireguard_endpoint_host="[2001:db8::1]"), dict(wireguard_endpoint_host="home.example.org."),
    dict(wireguard_client_dns=["10.13.13.1", "fd13::1", "home.arpa"]), dict(wireguard_lan_interface="eth0.10"),
    dict(wireguard_host_ports=[8096, 8920]), dict(wireguard_peers=[{"name": "p", "persistent_keepalive": 25, "psk": False}]),
])
def test_wireguard_values_that_are_fine(over):
    assert vs.check_settings(_wg(**over), "wireguard")


@pytest.mark.parametrize("name", ["ca", "tls-crypt", "crl", "jellyfin-server", "CA"])
def test_openvpn_client_names_that_are_pki_files_are_refused(name):
    with pytest.raises(vs.VpnSettingsError) as err:
        vs.check_settings(_ovpn(openvpn_clients=["phone", name]), "openvpn")
    assert str(err.value) == (
        "openvpn_clients: %r is the name of a file of the server's PKI (reserved: ca, crl, jellyfin-server, "
        "tls-crypt); choose another client name" % name)


@pytest.mark.parametrize("over, message", [
    (dict(openvpn_clients=["phone", "phone"]), "listed twice"),
    (dict(openvpn_clients=["phone\n"]), "openvpn_clients: 'phone\\\\n' must be"),
    (dict(openvpn_clients=["../x"]), "openvpn_clients"),
    (dict(openvpn_clients="phone"), "openvpn_clients must be a list"),
    (dict(openvpn_client_dns=["home.arpa"]), r"openvpn_client_dns: .*OpenVPN pushes only addresses"),
    (dict(openvpn_client_dns=['1.1.1.1"\npush "route 0.0.0.0 0.0.0.0']), "openvpn_client_dns"),
    (dict(openvpn_endpoint_host="vpn.example.org 443\nremote evil.example 1194"), "openvpn_endpoint_host"),
    (dict(openvpn_server_extra_directives=["max-clients 10\nscript-security 2"]), "one directive on one line"),
    (dict(openvpn_server_extra_directives=["<ca>"]), "inline <file> block"),
    (dict(openvpn_instance="jelly fin"), "openvpn_instance"),
    (dict(openvpn_interface="ovpn-jellyfin-too-long"), "openvpn_interface"),
    (dict(openvpn_lan_interface="eth0\n"), "openvpn_lan_interface"),
    (dict(openvpn_host_ports=["x"]), "openvpn_host_ports"),
])
def test_openvpn_values_that_could_add_lines_are_refused(over, message):
    with pytest.raises(vs.VpnSettingsError, match=message):
        vs.check_settings(_ovpn(**over), "openvpn")


def test_unknown_role():
    with pytest.raises(vs.VpnSettingsError, match="role must be wireguard or openvpn"):
        vs.check_settings({}, "ipsec")
