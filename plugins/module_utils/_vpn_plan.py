# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server side of a VPN, for the wireguard and openvpn roles: its networks, the server's
own addresses, what clients route into the tunnel, where the server forwards and which
forwarding sysctls that needs.

Plain Python, no Ansible imports: the filters wireguard_server_plan and vpn_server_plan are
thin wrappers around plan(). Whatever can be wrong is one of the calling role's options, so
the functions that check a value take that option's name from the caller
(wireguard_network_ipv4, openvpn_client_routes, ...) and put it in the error.
"""

from __future__ import annotations

import ipaddress

IPV4_FORWARDING = "net.ipv4.ip_forward"
IPV6_FORWARDING = "net.ipv6.conf.all.forwarding"


class VpnPlanError(Exception):
    """A VPN network or route the role cannot use; the text names the role's option."""


def _network(value, option):
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise VpnPlanError("%s: %r is not an IP network such as 10.13.13.0/24" % (option, value)) from None
    if net.num_addresses < 4:
        raise VpnPlanError("%s: %s is too small for a server and a peer" % (option, net))
    return net


def networks(network_ipv4, network_ipv6, ipv4_option, ipv6_option):
    """The VPN networks as ip_network objects, [v4] or [v4, v6] (network_ipv6 empty: none)."""
    nets = [_network(network_ipv4, ipv4_option)]
    if nets[0].version != 4:
        raise VpnPlanError("%s: %s is not an IPv4 network" % (ipv4_option, nets[0]))
    if network_ipv6:
        v6 = _network(network_ipv6, ipv6_option)
        if v6.version != 6:
            raise VpnPlanError("%s: %s is not an IPv6 network" % (ipv6_option, v6))
        nets.append(v6)
    return nets


def server_addresses(nets):
    """The server's interface addresses: the first host of each network, with its prefix."""
    return ["%s/%d" % (net.network_address + 1, net.prefixlen) for net in nets]


def server_hosts(nets):
    """The server's own VPN addresses as host routes (/32, /128)."""
    return ["%s/%d" % (net.network_address + 1, net.max_prefixlen) for net in nets]


def client_routes(routes, full_tunnel, nets, option):
    """What clients route into the tunnel: everything (full tunnel), the given networks, or the
    server's own VPN addresses (the Jellyfin host) when none are given."""
    if full_tunnel:
        # ::/0 also without an IPv6 VPN network: the client then sends its IPv6 traffic into
        # the tunnel, where the server drops it, instead of around the tunnel.
        return ["0.0.0.0/0", "::/0"]
    if routes:
        out = []
        for value in routes:
            try:
                out.append(str(ipaddress.ip_network(str(value), strict=False)))
            except ValueError:
                raise VpnPlanError("%s: %r is not an IP network such as 192.168.1.0/24" % (option, value)) from None
        return out
    return server_hosts(nets)


def forward_destinations(routes, nets):
    """Destinations the server must forward to (not itself): the routes minus its own VPN
    addresses, split by family. Returns {"ipv4": [...], "ipv6": [...]}."""
    own = {ipaddress.ip_network(h) for h in server_hosts(nets)}
    out = {"ipv4": [], "ipv6": []}
    for value in routes:
        net = ipaddress.ip_network(str(value), strict=False)
        if net in own:
            continue
        out["ipv4" if net.version == 4 else "ipv6"].append(str(net))
    return out


def forward_sysctls(forward, full_tunnel, nets):
    """The forwarding sysctls the server needs switched on: IPv4 for a full tunnel or an IPv4
    destination; IPv6 likewise, but only when the VPN has an IPv6 network (no client has an
    IPv6 source to forward otherwise)."""
    out = []
    if full_tunnel or forward["ipv4"]:
        out.append(IPV4_FORWARDING)
    if len(nets) > 1 and (full_tunnel or forward["ipv6"]):
        out.append(IPV6_FORWARDING)
    return out


def plan(network_ipv4, network_ipv6=None, routes=None, full_tunnel=False, *, ipv4_option, ipv6_option, routes_option):
    """The whole plan, as the roles' templates and tasks read it. The *_option arguments are
    the calling role's names for network_ipv4, network_ipv6 and routes, used in errors."""
    nets = networks(network_ipv4, network_ipv6 or None, ipv4_option, ipv6_option)
    client = client_routes(routes or [], bool(full_tunnel), nets, routes_option)
    forward = forward_destinations(client, nets)
    return {
        "netmasks": {n: str(ipaddress.ip_network(n).netmask) for n in [str(nets[0])] + forward["ipv4"]},
        "networks": {("ipv4" if n.version == 4 else "ipv6"): str(n) for n in nets},
        "server_addresses": server_addresses(nets),
        "server_hosts": server_hosts(nets),
        "client_allowed_ips": client,
        "forward": forward,
        "forward_sysctls": forward_sysctls(forward, bool(full_tunnel), nets),
    }
