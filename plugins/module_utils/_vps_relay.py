# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VPS relay's tunnel: addresses on its small dedicated range, and checks of every value
the vps_relay role writes into a WireGuard configuration or an nftables table.

The relay (a VPS with a public address) takes the first host address of the range, the home
the second; each side's only peer is the other, with AllowedIPs = that peer's /32 (never a
default route). Plain Python, no Ansible imports: the filter vps_relay_plan wraps plan(), and
_site.py reads relay_address() for what Jellyfin is told (KnownProxies).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._vpn_settings import is_key

DEFAULT_NETWORK = "10.87.0.0/30"
# A DNS name or an IP address: what wg-quick resolves for Endpoint (no port, no spaces).
_HOST = re.compile(r"\A(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\Z")
_IFNAME = re.compile(r"\A[A-Za-z0-9_=+.-]{1,15}\Z")


class VpsRelayError(ValueError):
    """A value the relay cannot use; the text names the option."""


def _network(network, option):
    try:
        net = ipaddress.ip_network(str(network).strip(), strict=True)
    except ValueError:
        raise VpsRelayError("%s: %r is not an IPv4 network such as %s" % (option, network, DEFAULT_NETWORK))
    if net.version != 4 or net.num_addresses < 4 or not net.is_private:
        raise VpsRelayError(
            "%s: %s must be a private IPv4 network with room for two hosts (a /30 or larger), such as %s"
            % (option, net, DEFAULT_NETWORK))
    return net


def relay_address(network=DEFAULT_NETWORK, option="vps_relay_network"):
    """The relay's tunnel address (the first host of the range), e.g. 10.87.0.1."""
    return str(_network(network, option).network_address + 1)


def plan(network=DEFAULT_NETWORK, option="vps_relay_network"):
    """Addresses of both ends, and the plan roles/_vpn's firewall template reads.

    Returns dict network, prefix, relay, home (bare addresses), relay_cidr, home_cidr
    (interface addresses), nft (networks, server_hosts, forward, forward_sysctls: nothing
    is forwarded on either side).
    """
    net = _network(network, option)
    relay, home = str(net.network_address + 1), str(net.network_address + 2)
    return {
        "network": str(net), "prefix": net.prefixlen, "relay": relay, "home": home,
        "relay_cidr": "%s/%d" % (relay, net.prefixlen), "home_cidr": "%s/%d" % (home, net.prefixlen),
        "nft": {"networks": {"ipv4": str(net), "ipv6": ""}, "server_hosts": [],
                "forward": {"ipv4": [], "ipv6": []}, "forward_sysctls": []},
    }


def check(settings):
    """True when every value can be written; VpsRelayError names the first that cannot.

    settings keys (all optional): vps_relay_interface, vps_relay_endpoint_host,
    vps_relay_relay_public_key, vps_relay_home_public_key (never quoted in an error),
    vps_relay_listen_port, vps_relay_mtu, vps_relay_keepalive, vps_relay_jellyfin_port.
    """
    s = dict(settings or {})
    if "vps_relay_interface" in s and not _IFNAME.match(str(s["vps_relay_interface"])):
        raise VpsRelayError("vps_relay_interface: %r is not an interface name (1-15 of A-Z a-z 0-9 _ = + . -)"
                            % (s["vps_relay_interface"],))
    if "vps_relay_endpoint_host" in s:
        host = str(s["vps_relay_endpoint_host"] or "")
        if not host:
            raise VpsRelayError(
                "vps_relay_endpoint_host is empty: set it to the relay's public DNS name or address "
                "(the site playbook uses jellyfin_remote_domain, whose DNS name points at the relay)")
        if not _HOST.match(host):
            raise VpsRelayError("vps_relay_endpoint_host: %r is not a DNS name or IPv4 address" % (host,))
    for option in ("vps_relay_relay_public_key", "vps_relay_home_public_key"):
        if option in s and not is_key(str(s[option] or "")):
            raise VpsRelayError("%s is not a WireGuard public key (44 base64 characters ending in '=')" % option)
    for option, low, high in (("vps_relay_listen_port", 1, 65535), ("vps_relay_jellyfin_port", 1, 65535),
                              ("vps_relay_mtu", 1280, 1500), ("vps_relay_keepalive", 1, 65535)):
        if option not in s:
            continue
        value = s[option]
        if isinstance(value, bool) or not str(value).isdigit() or not low <= int(value) <= high:
            raise VpsRelayError("%s: %r must be a whole number from %d to %d" % (option, value, low, high))
    return True
