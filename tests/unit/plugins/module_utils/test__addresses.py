# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_addresses: the ranges and the CGNAT / double NAT wording public_ip and upnp share."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _addresses
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _public_ip, _upnp
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip import answers, verdict


def test_parse_ranges_names_the_bad_entry():
    assert _addresses.parse_ranges([" 198.51.100.0/24", "2001:db8::1/32"]) == (
        ipaddress.ip_network("198.51.100.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    with pytest.raises(ValueError, match=r"^'ten' is not a CIDR range such as 198.51.100.0/24 or 2001:db8::/32$"):
        _addresses.parse_ranges(["ten"])


@pytest.mark.parametrize(
    "text,shared,private",
    [("100.64.0.1", True, False), ("100.127.255.254", True, False), ("100.128.0.1", False, False),
     ("10.1.2.3", False, True), ("172.16.0.1", False, True), ("192.168.1.1", False, True), ("81.2.69.160", False, False),
     ("2001:db8::1", False, False)],
)
def test_shared_and_rfc1918(text, shared, private):
    ip = _addresses.parse_ip(text)
    assert _addresses.is_shared(ip) is shared
    assert _addresses.in_any(ip, _addresses.RFC1918) is private


def test_one_wording_for_cgnat_and_double_nat():
    ip = ipaddress.ip_address("100.72.14.9")
    phrase = _addresses.cgnat_wan("the router's external address", ip)
    assert phrase == "the router's external address 100.72.14.9 is in 100.64.0.0/10, the ISP's carrier-grade NAT"
    assert _upnp.classify_external("100.72.14.9") == ("100.72.14.9", phrase)
    kind, forwarding, text = verdict.classify("198.51.100.7", None, "100.72.14.9", wan_label="The router's WAN address")
    assert (kind, forwarding) == ("cgnat", False)
    assert text.startswith(_addresses.cgnat_wan("The router's WAN address", ip))
    private = ipaddress.ip_address("192.168.0.2")
    assert _upnp.classify_external("192.168.0.2")[1] == _addresses.double_nat_wan("the router's external address", private)


def test_the_public_ip_package_and_upnp_use_the_same_ranges():
    """No copies left: the package's interface is _addresses' own objects, and upnp keeps none."""
    assert _public_ip.SHARED_ADDRESS_SPACE is _addresses.SHARED_ADDRESS_SPACE
    assert _public_ip.parse_ranges is _addresses.parse_ranges
    assert answers.non_global_reason is _addresses.non_global_reason
    assert not hasattr(_upnp, "SHARED_ADDRESS_SPACE") and not hasattr(_upnp, "_in_any")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2a02:8070:1234:5600::10", None),  # a residential ISP's prefix: global unicast
        ("fd6a:6672:1ab0::2", "unique local address (fc00::/7)"),  # the lab's prefix
        ("fe80::1", "link-local address"),
        ("2001:db8:5::10", "documentation address"),
        ("::1", "loopback address"),
        ("64:ff9b::c000:221", "outside 2000::/3, the global unicast range"),  # NAT64, not the host's own
        ("3fff::1", "documentation address"),
    ],
)
def test_global_ipv6_means_2000_slash_3(text, reason):
    got = _addresses.non_global_reason(ipaddress.ip_address(text))
    assert got == reason


def test_the_lab_only_allow_range_lets_a_ula_count_as_global():
    ula = ipaddress.ip_address("fd6a:6672:1ab0::2")
    assert _addresses.non_global_reason(ula, _addresses.parse_ranges(["fd6a:6672:1ab0::/64"])) is None
    assert _addresses.non_global_reason(ula, _addresses.parse_ranges(["fd6a:6672:1ab0:1::/64"])) is not None
