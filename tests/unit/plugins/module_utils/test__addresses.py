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
