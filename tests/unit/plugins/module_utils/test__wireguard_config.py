from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard_config as wc

KEY_A = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
KEY_B = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
PSK = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def _settings(**over):
    base = dict(name="phone", private_key=KEY_A, addresses=["10.13.13.2/32"], server_public_key=KEY_B,
                endpoint_host="vpn.example.org", endpoint_port=51820, allowed_ips=["10.13.13.1/32"])
    base.update(over)
    return base


@pytest.mark.parametrize(
    "peers, stored, expected",
    [
        ([{"name": "a"}, {"name": "b"}], {}, {"a": ["10.13.13.2/32"], "b": ["10.13.13.3/32"]}),
        # Stored addresses are kept, even when the list is reordered or a peer before it left.
        ([{"name": "b"}], {"a": {"addresses": ["10.13.13.2/32"]}, "b": {"addresses": ["10.13.13.3/32"]}},
         {"b": ["10.13.13.3/32"]}),
        ([{"name": "c"}, {"name": "b"}], {"b": {"addresses": ["10.13.13.3/32"]}},
         {"c": ["10.13.13.2/32"], "b": ["10.13.13.3/32"]}),
        # Given addresses win and are never handed out again.
        ([{"name": "a"}, {"name": "b", "addresses": ["10.13.13.2"]}], {}, {"a": ["10.13.13.3/32"], "b": ["10.13.13.2/32"]}),
        # A stored address outside a changed network is replaced.
        ([{"name": "a"}], {"a": {"addresses": ["10.99.0.7/32"]}}, {"a": ["10.13.13.2/32"]}),
        # Junk in the store is ignored.
        ([{"name": "a"}], {"a": {"addresses": ["garbage"]}, "b": "x"}, {"a": ["10.13.13.2/32"]}),
    ],
)
def test_assign_addresses(peers, stored, expected):
    assert wc.assign_addresses(peers, stored, "10.13.13.0/24") == expected


def test_assign_addresses_dual_stack_and_late_ipv6():
    got = wc.assign_addresses([{"name": "a"}], {"a": {"addresses": ["10.13.13.9/32"]}}, "10.13.13.0/24", "fd13:13:13::/64")
    assert got == {"a": ["10.13.13.9/32", "fd13:13:13::2/128"]}


def test_assign_addresses_is_stable_across_runs():
    peers = [{"name": n} for n in ("a", "b", "c")]
    first = wc.assign_addresses(peers, {}, "10.13.13.0/24")
    stored = {n: {"addresses": a} for n, a in first.items()}
    assert wc.assign_addresses(list(reversed(peers)), stored, "10.13.13.0/24") == first


def test_assign_addresses_runs_out():
    with pytest.raises(wc.WireGuardConfigError, match="no free address left in 10.0.0.0/30 for peer b"):
        wc.assign_addresses([{"name": "a"}, {"name": "b"}], {}, "10.0.0.0/30")


@pytest.mark.parametrize(
    "peers, message",
    [
        ([{"name": "a"}, {"name": "a"}], "peer names must be unique; repeated: a"),
        ([{"name": "../x"}], "peer name '../x' must be"),
        ([{"name": ""}], "peer name '' must be"),
        (["a"], "every entry must be a dictionary"),
        ([{"name": "a", "addresses": ["10.13.13.1"]}], "10.13.13.1, which the server or another peer already uses"),
        ([{"name": "a", "addresses": ["10.0.0.1"]}], "not a host address of 10.13.13.0/24"),
        ([{"name": "a", "addresses": ["fd00::1"]}], "the VPN has no IPv6 network; set wireguard_network_ipv6"),
        ([{"name": "a", "addresses": ["nope"]}], "'nope', which is not an IP address"),
    ],
)
def test_assign_addresses_errors(peers, message):
    with pytest.raises(wc.WireGuardConfigError) as err:
        wc.assign_addresses(peers, {}, "10.13.13.0/24")
    assert message in str(err.value)


def test_assign_addresses_names_the_wireguard_network_options():
    with pytest.raises(wc.WireGuardConfigError, match="wireguard_network_ipv4: 'nonsense' is not an IP network"):
        wc.assign_addresses([{"name": "a"}], {}, "nonsense")
    with pytest.raises(wc.WireGuardConfigError, match="wireguard_network_ipv6: 10.1.0.0/24 is not an IPv6 network"):
        wc.assign_addresses([{"name": "a"}], {}, "10.13.13.0/24", "10.1.0.0/24")


@pytest.mark.parametrize(
    "host, port, expected",
    [("vpn.example.org", 51820, "vpn.example.org:51820"), ("2001:db8::1", "51821", "[2001:db8::1]:51821"),
     ("[2001:db8::1]", 1, "[2001:db8::1]:1"), ("198.51.100.7", 51820, "198.51.100.7:51820")],
)
def test_format_endpoint(host, port, expected):
    assert wc.format_endpoint(host, port) == expected


@pytest.mark.parametrize("host, port, message", [("", 1, "wireguard_endpoint_host is empty"), ("h", "x", "not a port"),
                                                 ("h", 70000, "not a port number")])
def test_format_endpoint_errors(host, port, message):
    with pytest.raises(wc.WireGuardConfigError, match=message):
        wc.format_endpoint(host, port)


def test_render_client_config_full():
    text = wc.render_client_config(_settings(preshared_key=PSK, dns=["10.13.13.1"], mtu=1420, persistent_keepalive=25))
    assert text == (
        "# WireGuard client phone, written by homelab.jellyfin_remote.wireguard\n"
        "[Interface]\n"
        "PrivateKey = %s\n"
        "Address = 10.13.13.2/32\n"
        "DNS = 10.13.13.1\n"
        "MTU = 1420\n"
        "\n"
        "[Peer]\n"
        "PublicKey = %s\n"
        "PresharedKey = %s\n"
        "Endpoint = vpn.example.org:51820\n"
        "AllowedIPs = 10.13.13.1/32\n"
        "PersistentKeepalive = 25\n" % (KEY_A, KEY_B, PSK)
    )


def test_render_client_config_minimal_has_no_optional_lines():
    text = wc.render_client_config(_settings(persistent_keepalive="0", dns=[], preshared_key=""))
    for word in ("DNS", "MTU", "PresharedKey", "PersistentKeepalive"):
        assert word not in text


@pytest.mark.parametrize(
    "over, message",
    [
        ({"private_key": "short"}, "client phone: the private key is missing or not a WireGuard key"),
        ({"private_key": None}, "the private key is missing"),
        ({"server_public_key": "x" * 44}, "the server's public key is missing"),
        ({"preshared_key": "!" * 44}, "the preshared key is missing or not"),
        ({"addresses": []}, "client phone: no addresses"),
        ({"allowed_ips": []}, "allowed_ips is empty"),
        ({"allowed_ips": ["bogus"]}, "'bogus' is not an IP address or network"),
        ({"endpoint_host": ""}, "wireguard_endpoint_host is empty"),
    ],
)
def test_render_client_config_errors_never_show_keys(over, message):
    with pytest.raises(wc.WireGuardConfigError) as err:
        wc.render_client_config(_settings(**over))
    assert message in str(err.value)
    for secret in (KEY_A, "short", "!" * 44):
        assert secret not in str(err.value)


def test_render_client_config_needs_a_dict():
    with pytest.raises(wc.WireGuardConfigError, match="expects a dictionary"):
        wc.render_client_config("x")


# -- values that would add lines to a configuration (issue 20) -------------------------------

@pytest.mark.parametrize("over, message", [
    (dict(dns=["10.13.13.1\nPostUp = touch /tmp/pwned"]), "wireguard_client_dns: .* is not an IP address or a search domain"),
    (dict(dns=["1.1.1.1, 8.8.8.8"]), "wireguard_client_dns"),
    (dict(endpoint_host="vpn.example.org\n[Interface]"), "wireguard_endpoint_host: .* neither a DNS name"),
    (dict(endpoint_host="vpn.example.org:51820"), "wireguard_endpoint_host"),
    (dict(name="phone\n"), "the name must be"),
])
def test_render_client_config_refuses_values_that_add_lines(over, message):
    with pytest.raises(wc.WireGuardConfigError, match=message):
        wc.render_client_config(_settings(**over))


def test_render_client_config_accepts_search_domains_and_ipv6_endpoints():
    text = wc.render_client_config(_settings(dns=["10.13.13.1", "fd13::1", "home.arpa"], endpoint_host="[2001:db8::1]"))
    assert "DNS = 10.13.13.1, fd13::1, home.arpa\n" in text and "Endpoint = [2001:db8::1]:51820\n" in text


@pytest.mark.parametrize("name", ["phone\n", "../x", "a\n[Interface]"])
def test_a_peer_name_with_a_line_break_or_a_path_is_refused(name):
    with pytest.raises(wc.WireGuardConfigError, match="peer name"):
        wc.assign_addresses([{"name": name}])


def test_stale_files_for_removed_peers_own_keys_and_psk_off():
    peers = [{"name": "phone", "public_key": "", "psk": True},
             {"name": "laptop", "public_key": KEY_A, "psk": True},
             {"name": "tablet", "public_key": "", "psk": False}]
    got = wc.stale_peer_files(peers, ["phone", "laptop", "tablet", "old"])
    assert got["server"] == ["old.key", "old.pub", "old.psk", "laptop.key", "laptop.pub", "tablet.psk"]
    assert got["controller"] == ["old.conf", "old.png", "old.txt", "laptop.conf", "laptop.png", "laptop.txt"]


def test_stale_files_only_lists_server_files_that_exist():
    peers = [{"name": "tablet", "public_key": "", "psk": False}]
    assert wc.stale_peer_files(peers, ["tablet"], ["tablet.key", "tablet.pub"])["server"] == []
    assert wc.stale_peer_files(peers, ["tablet"], ["tablet.psk"])["server"] == ["tablet.psk"]


@pytest.mark.parametrize("stored", ["../../.config/x", "../x", "/etc/passwd", "a/b", "x\n", "", None, 7])
def test_stale_files_ignore_names_from_the_server_that_are_not_peer_names(stored):
    # A tampered server configuration must not name a path on the controller.
    got = wc.stale_peer_files([], [stored])
    assert got == {"server": [], "controller": []}
