# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""This host's own addresses (`ip -j addr`, minus VPN and container interfaces) and the router's WAN address over UPnP IGD."""

from __future__ import annotations

import fnmatch
import ipaddress
import json

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._addresses import SHARED_ADDRESS_SPACE, non_global_reason
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._addresses import parse_ip as _parse_ip


# Interfaces whose addresses never say anything about the router's WAN side: VPN meshes
# (Tailscale and Cloudflare WARP hand out 100.64.0.0/10 addresses), WireGuard, containers,
# bridges for VMs, loopback.
IGNORED_INTERFACES = (
    "lo",
    "tailscale*",
    "wg*",
    "CloudflareWARP",
    "veth*",
    "docker*",
    "podman*",
    "cni*",
    "br-*",
    "virbr*",
)


def interface_ignored(name, extra_patterns=()):
    """True for interfaces whose addresses say nothing about the WAN (VPN, containers)."""
    return any(fnmatch.fnmatchcase(name, p) for p in tuple(IGNORED_INTERFACES) + tuple(extra_patterns))


def parse_ip_json_addr(text):
    """[(interface, address)] from the output of `ip -j addr`. Raises ValueError."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        raise ValueError("the output of `ip -j addr` is not JSON")
    pairs = []
    for link in data if isinstance(data, list) else ():
        name = link.get("ifname") or ""
        for info in link.get("addr_info") or ():
            if info.get("family") not in ("inet", "inet6"):
                continue
            ip = _parse_ip(info.get("local"))
            if ip is None:
                continue
            if info.get("tentative") or info.get("dadfailed"):
                continue
            pairs.append((name, str(ip)))
    return pairs


class HostAddresses:
    """The host's addresses that matter: global ones, and 100.64/10 ones on real interfaces."""

    def __init__(self, global_addresses, shared_addresses):
        self.global_addresses = global_addresses  # [(interface, address)]
        self.shared_addresses = shared_addresses  # [(interface, address)] in 100.64.0.0/10

    def interface_of(self, address):
        for name, value in self.global_addresses:
            if value == address:
                return name
        return None

    def has_global(self, version):
        return any(ipaddress.ip_address(a).version == version for _n, a in self.global_addresses)

    def global_list(self, version):
        """The global addresses of one family, in the order `ip addr` listed them."""
        return [a for _n, a in self.global_addresses if ipaddress.ip_address(a).version == version]


def host_addresses(pairs, allow_ranges=(), ignore_interfaces=()):
    """Sort (interface, address) pairs into HostAddresses, skipping ignored interfaces.

    A Tailscale or Cloudflare WARP address (100.64.0.0/10 on tailscale0, CloudflareWARP)
    is dropped with its interface, so it can never be mistaken for a CGNAT WAN address.
    """
    global_addresses = []
    shared = []
    for name, address in pairs:
        if interface_ignored(name, ignore_interfaces):
            continue
        ip = ipaddress.ip_address(address)
        if non_global_reason(ip, allow_ranges) is None:
            global_addresses.append((name, str(ip)))
        elif ip.version == 4 and ip in SHARED_ADDRESS_SPACE:
            shared.append((name, str(ip)))
    return HostAddresses(global_addresses, shared)


def import_miniupnpc():
    """The miniupnpc module, or None when it is not installed."""
    try:
        import miniupnpc
    except ImportError:
        return None
    return miniupnpc


# What upnp_external_address returns when a router answers but has no usable external
# address: the UPnP spec's empty NewExternalIPAddress. miniupnpd (OpenWrt and many
# routers) answers so when its own WAN address is private or in 100.64.0.0/10.
NO_EXTERNAL_ADDRESS = ""


def upnp_external_address(miniupnpc, timeout, locate=None):
    """The IGD's external IPv4 address via miniupnpc (a module object).

    None when no router answers (that is "no WAN information"); NO_EXTERNAL_ADDRESS when a
    router answers with an empty or unspecified address. Never raises. locate (as for
    _upnp.discover: _ssdp.find_igd) ends the search at the router's first answer.
    """
    client = miniupnpc.UPnP()
    delay = max(min(timeout / 2.0, 2.0), 0.1)
    try:
        location = locate(delay) if locate is not None else None
        if locate is not None and not location:
            return None
        selected = False
        if location:
            try:
                client.selectigd(location)
                selected = True
            except Exception:  # the description could not be read: miniupnpc's discovery decides
                pass
        if not selected:
            client.discoverdelay = int(delay * 1000)
            if not client.discover():
                return None
            client.selectigd()
        address = client.externalipaddress()
    except Exception:  # miniupnpc raises plain Exception for "no IGD" and SOAP errors
        return None
    if address is None or not str(address).strip():
        return NO_EXTERNAL_ADDRESS
    ip = _parse_ip(address)
    if ip is not None and ip.version == 4 and ip.is_unspecified:
        return NO_EXTERNAL_ADDRESS
    if ip is None or ip.version != 4:
        return None
    return str(ip)
