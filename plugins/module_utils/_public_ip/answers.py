# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which answers count: parse_ranges(), non_global_reason(), validate_answer()."""

from __future__ import annotations

import ipaddress


SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
ULA = ipaddress.ip_network("fc00::/7")


def parse_ranges(values):
    """CIDR strings to networks; raises ValueError naming the bad entry."""
    networks = []
    for value in values or ():
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError("%r is not a CIDR range such as 198.51.100.0/24 or 2001:db8::/32" % value)
    return tuple(networks)


def _parse_ip(text):
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None


def _in_any(ip, networks):
    return any(ip.version == net.version and ip in net for net in networks)


def non_global_reason(ip, allow_ranges=()):
    """Why ip is not a globally routable address, or None when it is (or is allowed)."""
    if _in_any(ip, allow_ranges):
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return "IPv4-mapped IPv6 address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if _in_any(ip, RFC1918):
        return "private address (RFC 1918)"
    if ip.version == 4 and ip in SHARED_ADDRESS_SPACE:
        return "shared address space 100.64.0.0/10 (carrier-grade NAT or a VPN mesh)"
    if _in_any(ip, DOCUMENTATION_RANGES):
        return "documentation address"
    if ip.version == 6 and ip in ULA:
        return "unique local address (fc00::/7)"
    if not ip.is_global:
        return "not globally routable"
    return None


def validate_answer(text, family=None, allow_ranges=()):
    """(address, None) when text is a global address of family; else (None, error).

    family None accepts either. Addresses come back in canonical form so that answers
    compare equal however a source spelled them.
    """
    ip = _parse_ip(text)
    if ip is None:
        return None, "not an IP address"
    if family is not None and ip.version != family:
        return None, "IPv%d address from an IPv%d source" % (ip.version, family)
    reason = non_global_reason(ip, allow_ranges)
    if reason:
        return None, "rejected: %s" % reason
    return str(ip), None
