# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jellyfin's LocalNetworkSubnets for a VPN: the home LAN first, then the VPN ranges.

Jellyfin (NetworkManager.InitializeLan, 10.11) treats RFC 1918, loopback and ULA as LAN only
while LocalNetworkSubnets is empty; once it holds any entry, only the listed subnets are LAN.
So whoever adds a VPN range must list the LAN as well, or every LAN client turns remote
(remote bitrate limits, users without remote access refused).

One pure function, local_network_subnets(), used by the wireguard and openvpn roles (filter
homelab.jellyfin_remote.local_network_subnets) and by the site plan. No Ansible imports.
"""

from __future__ import annotations

import ipaddress

# What Jellyfin counts as LAN by itself (IPv4): RFC 1918.
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class LocalSubnetsError(Exception):
    """A problem with the inputs; the text names the option to change."""


def _normalize(values, option):
    out = []
    if isinstance(values, str):
        values = [values]
    for value in values or []:
        text = str(value).strip()
        if not text:
            continue
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise LocalSubnetsError("%s: %r is not an IP network such as 192.168.1.0/24" % (option, value)) from None
        if str(net) not in out:
            out.append(str(net))
    return out


def _fact_network(entry):
    """"192.168.1.0/24" from {"network": "192.168.1.0", "netmask": "255.255.255.0"} (or "prefix")."""
    if isinstance(entry, str):
        text = entry
    elif isinstance(entry, dict) and entry.get("network") and (entry.get("netmask") or entry.get("prefix")):
        text = "%s/%s" % (entry["network"], entry.get("netmask") or entry.get("prefix"))
    else:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _is_home_lan(net):
    return net is not None and net.version == 4 and net.prefixlen < 32 and any(net.subnet_of(r) for r in _RFC1918)


def detected_lan(host_facts, exclude_interfaces=()):
    """The home LAN from the host's facts: the RFC 1918 networks the host is directly connected
    to (its interfaces' IPv4 networks, the default route's first), i.e. what Jellyfin counted as
    LAN while LocalNetworkSubnets was empty and the host can actually see. Public and CGNAT
    networks are left out: listing one would make that whole range local to Jellyfin.

    host_facts: Ansible facts (ansible_facts with the network subset: default_ipv4, interfaces
    and one entry per interface), or just a default_ipv4 dict. exclude_interfaces: interfaces
    to skip (the VPN's own). Returns a list of networks as strings, possibly empty.
    """
    if not isinstance(host_facts, dict):
        return []
    exclude = set(exclude_interfaces or ()) | {"lo"}
    candidates = []
    default = host_facts.get("default_ipv4") if isinstance(host_facts.get("default_ipv4"), dict) else host_facts
    if default.get("interface") not in exclude:
        candidates.append(_fact_network(default))
    for name in sorted(n for n in host_facts.get("interfaces") or [] if isinstance(n, str)):
        if name in exclude:
            continue
        # Ansible keeps an interface's facts under its name with '-' and ':' as '_'.
        iface = host_facts.get(name.replace("-", "_").replace(":", "_"))
        if not isinstance(iface, dict):
            continue
        entries = [iface.get("ipv4")] + list(iface.get("ipv4_secondaries") or [])
        candidates += [_fact_network(e) for e in entries]
    out = []
    for net in candidates:
        if _is_home_lan(net) and str(net) not in out:
            out.append(str(net))
    return out


def local_network_subnets(vpn_networks, lan_subnets=None, host_facts=None,
                          lan_option="lan_subnets", off_option=None, exclude_interfaces=()):
    """LocalNetworkSubnets for a VPN: [LAN..., VPN...], normalized and without repeats.

    vpn_networks: the VPN ranges (strings, empty entries ignored).
    lan_subnets: the LAN subnets the user gave; when empty, the LAN is detected from host_facts
        (see detected_lan(): the host's directly connected RFC 1918 networks).
    lan_option: the option that holds lan_subnets, named in errors.
    off_option: the option that turns the VPN-as-local setting off, offered in errors.
    exclude_interfaces: interfaces not taken as LAN (the VPN's own).
    Raises LocalSubnetsError when no LAN can be found (the list would then turn every LAN
    client remote) or a value is not a network.
    """
    vpn = _normalize(vpn_networks, "VPN networks")
    lan = _normalize(lan_subnets, lan_option)
    if not vpn:
        return lan
    if not lan:
        lan = [n for n in detected_lan(host_facts, exclude_interfaces) if n not in vpn]
        if not lan:
            raise LocalSubnetsError(
                "%s is empty and no home LAN (an RFC 1918 network such as 192.168.1.0/24) was found on the "
                "host's interfaces. Adding only the VPN range to Jellyfin's LocalNetworkSubnets would turn every "
                "LAN client remote: set %s to the LAN, for example [192.168.1.0/24]%s." % (
                    lan_option, lan_option, (", or set %s to false" % off_option) if off_option else ""))
    return lan + [n for n in vpn if n not in lan]
