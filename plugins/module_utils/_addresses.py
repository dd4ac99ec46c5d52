# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address ranges and the CGNAT / double NAT wording, shared by public_ip and upnp_port_mapping.

Plain Python, no AnsibleModule.
- The ranges: 100.64.0.0/10 (RFC 6598 shared address space: carrier-grade NAT, and VPN
  meshes such as Tailscale), RFC 1918, the documentation ranges, IPv6 unique local.
- parse_ranges(): allow_ranges options as networks; ValueError names the bad entry.
- non_global_reason(): why an address is not globally routable (None when it is).
- cgnat_wan() / double_nat_wan(): the one sentence each for "the router's WAN address is
  behind carrier-grade NAT" and "... behind another router", which both modules put in
  their messages.
- forwarding_impossible(): the one advice for "port forwarding cannot work here", with the
  ways in that still work (WAYS_WITHOUT_FORWARDING). upnp_port_mapping raises it when the
  router refuses; public_ip returns it as port_forwarding_advice, and the port_forward role
  shows that text rather than a copy of its own.
"""

from __future__ import annotations

import ipaddress

SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# 3fff::/20 is IPv6's second documentation prefix (RFC 9637), inside 2000::/3 and unknown to
# Python's ipaddress before 3.13.
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
ULA = ipaddress.ip_network("fc00::/7")
# Global unicast IPv6 (RFC 4291 2.4): what an ISP's routed prefix is taken from.
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


def parse_ranges(values):
    """CIDR strings to networks; raises ValueError naming the bad entry."""
    networks = []
    for value in values or ():
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError("%r is not a CIDR range such as 198.51.100.0/24 or 2001:db8::/32" % value) from None
    return tuple(networks)


def parse_ip(text):
    """An ip_address, or None when text is not one."""
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None


def in_any(ip, networks):
    return any(ip.version == net.version and ip in net for net in networks)


def is_shared(ip):
    """True for an IPv4 address in 100.64.0.0/10 (carrier-grade NAT, VPN meshes)."""
    return ip.version == 4 and ip in SHARED_ADDRESS_SPACE


def non_global_reason(ip, allow_ranges=()):
    """Why ip is not a globally routable address, or None when it is (or is allowed)."""
    if in_any(ip, allow_ranges):
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
    if in_any(ip, RFC1918):
        return "private address (RFC 1918)"
    if is_shared(ip):
        return "shared address space %s (carrier-grade NAT or a VPN mesh)" % SHARED_ADDRESS_SPACE
    if in_any(ip, DOCUMENTATION_RANGES):
        return "documentation address"
    if ip.version == 6 and ip in ULA:
        return "unique local address (fc00::/7)"
    if ip.version == 6 and ip not in GLOBAL_UNICAST_V6:
        return "outside 2000::/3, the global unicast range"
    if not ip.is_global:
        return "not globally routable"
    return None


def cgnat_wan(label, ip):
    """'<label> <ip> is in 100.64.0.0/10, the ISP's carrier-grade NAT'."""
    return "%s %s is in %s, the ISP's carrier-grade NAT" % (label, ip, SHARED_ADDRESS_SPACE)


def double_nat_wan(label, ip):
    """'<label> <ip> is private, so another router or the ISP NATs in front of it'."""
    return "%s %s is private, so another router or the ISP NATs in front of it" % (label, ip)


WAYS_WITHOUT_FORWARDING = (
    "Use a way in that needs no open port on this router: tailscale "
    "(role homelab.jellyfin_remote.tailscale, works behind CGNAT), cloudflare_tunnel "
    "(role homelab.jellyfin_remote.cloudflare_tunnel; Cloudflare's terms limit video streaming), "
    "or a VPS with a public address that the home server connects out to (WireGuard) and that "
    "forwards or proxies to it. A public IPv4 address from the ISP, or a router in bridge mode "
    "for double NAT, would make port forwarding possible again."
)


def forwarding_impossible(reason):
    """The one message for "port forwarding cannot work behind this router" (reason: a clause,
    without a final period), followed by the ways in that still work."""
    return (
        "Port forwarding is impossible here (CGNAT or double NAT): %s. The router is not reachable "
        "from the internet on its own address, so no forwarded port can reach this server. %s"
        % (reason.rstrip().rstrip("."), WAYS_WITHOUT_FORWARDING)
    )
