# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classification: public, nat, cgnat, double_nat, unknown or offline, with one sentence of explanation."""

from __future__ import annotations

import ipaddress

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._addresses import (
    RFC1918,
    SHARED_ADDRESS_SPACE,
    cgnat_wan,
    double_nat_wan,
    in_any,
    is_shared,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.host import NO_EXTERNAL_ADDRESS
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.sources import DEFAULT_TIMEOUT


CLASSIFICATIONS = ("public", "nat", "cgnat", "double_nat", "unknown", "offline")


WAN_SOURCES = ("auto", "upnp", "value", "interfaces", "none")


def choose_wan(wan_source, public_ipv4=None, value=None, host=None, upnp_address=None):
    """Pick the WAN address: return (address, wan_source_used, label for the explanation).

    auto: the host itself holding the public address wins, then the UPnP router's answer,
    then a 100.64.0.0/10 address on a real interface (a host plugged straight into a CGNAT
    line, such as an LTE stick). VPN and container interfaces never count.
    """
    router = "The router's WAN address"
    if wan_source == "value":
        return (value, "value", "The given WAN address") if value else (None, None, router)
    if wan_source == "none":
        return None, None, router
    if host is not None and public_ipv4 is not None and host.interface_of(public_ipv4):
        return public_ipv4, "interfaces", "This host's address"
    if wan_source in ("auto", "upnp") and upnp_address is not None:
        return upnp_address, "upnp", router
    if wan_source in ("auto", "interfaces") and host is not None and host.shared_addresses:
        name, address = host.shared_addresses[0]
        return address, "interfaces", "The address on interface %s" % name
    return None, None, router


def classify(
    ipv4,
    ipv6,
    wan_address,
    host=None,
    any_answer=True,
    ip_versions=(4, 6),
    timeout=DEFAULT_TIMEOUT,
    wan_label="The router's WAN address",
):
    """Return (classification, port_forwarding_possible, explanation).

    ipv4/ipv6: settled public addresses (or None). wan_address: the WAN IPv4 address (or
    None). host: HostAddresses or None (only the host holding the public address matters
    here). any_answer: did any source give an accepted answer at all.
    """
    if not any_answer:
        return (
            "offline",
            None,
            "No source gave a usable answer within %s s, so the public address is unknown "
            "(no internet access, or every source is blocked or misconfigured)." % _seconds(timeout),
        )
    if 4 in ip_versions and ipv4 is None:
        return (
            "unknown",
            None,
            "No public IPv4 address was settled (see sources and disagreement), so whether port "
            "forwarding can work is unknown%s." % ("; IPv6 answered %s" % ipv6 if ipv6 else ""),
        )
    public = ipv4 if 4 in ip_versions else ipv6
    interface = host.interface_of(public) if host is not None else None
    if interface is not None:
        return (
            "public",
            True,
            "This host holds the public address %s itself (on %s), so it is reachable directly "
            "once its firewall allows the port; no router forwarding is involved." % (public, interface),
        )
    if wan_address == NO_EXTERNAL_ADDRESS and 4 in ip_versions:
        return (
            "cgnat",
            False,
            "The router answers UPnP but reports no usable external address while the internet "
            "sees %s: its own WAN address is private or shared (%s), so carrier-grade "
            "or double NAT sits in front of it and port forwarding cannot work." % (public, SHARED_ADDRESS_SPACE),
        )
    if wan_address is None or 4 not in ip_versions:
        return (
            "unknown",
            None,
            "The public address is %s but the router's WAN address is unknown, so whether port "
            "forwarding can work is unknown; give it with wan_source=value, or install miniupnpc "
            "for UPnP." % public,
        )
    wan = ipaddress.ip_address(wan_address)
    if str(wan) == public:
        return (
            "nat",
            True,
            "%s equals the public address %s, so a port forward on the router can make this "
            "host reachable." % (wan_label, public),
        )
    if is_shared(wan):
        return (
            "cgnat",
            False,
            "%s, which shares the public address %s: port forwarding cannot work." % (cgnat_wan(wan_label, wan), public),
        )
    if in_any(wan, RFC1918):
        return (
            "double_nat",
            False,
            "%s: a forward would be needed on both routers (or the first one put in bridge mode)."
            % double_nat_wan(wan_label, wan),
        )
    return (
        "cgnat",
        False,
        "%s %s differs from the public address %s, so another NAT (most likely the ISP's) "
        "sits in between and port forwarding on this router cannot work." % (wan_label, wan, public),
    )


def _seconds(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")
