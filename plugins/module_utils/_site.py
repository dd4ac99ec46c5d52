# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site playbook's decisions, as pure functions the jellyfin_remote role calls through filters.

- missing_inputs(): what each method still lacks among the variables the owner gave.
- choose(): for `auto`, the first suitable method of the preflight's ranking whose inputs
  are present, why, and what the better-ranked methods would still need.
- plan(): for a method, the ports the router and host firewall must open and what Jellyfin
  must be told (KnownProxies, LocalNetworkSubnets, BaseUrl).
- exposure(): the guards that run before anything is opened: the setup wizard finished,
  Jellyfin at or above the security floor, remote access allowed (see the function).
- unknown_variables(): variables of the collection's prefixes that no role knows (typos).
- summary(): the URLs to use from outside, the files the owner hands out, and the warnings.
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._local_subnets import (
    LocalSubnetsError,
    detected_lan,
    local_network_subnets,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    SECURITY_FIXES,
    SECURITY_FLOOR,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._vps_relay import (
    DEFAULT_NETWORK as _RELAY_NETWORK,
    VpsRelayError,
    relay_address,
)

METHODS = ("port_forward", "reverse_proxy", "wireguard", "tailscale", "cloudflare_tunnel", "openvpn", "vps_relay")
# openvpn is never ranked by the preflight, so auto never takes it: it is chosen by name.

# Tailscale hands out addresses from these ranges (the CGNAT range and its IPv6 ULA).
TAILSCALE_NETWORKS = ("100.64.0.0/10", "fd7a:115c:a1e0::/48")

# The method table: what each method opens and sets up, in one place. plan() takes the ports
# and Jellyfin's settings from it, summary() says what is open, closing() what a switch closes.
# - roles: the roles the site playbook applies, in order of creation (removal runs their
#   state absent in reverse). "port_forward_https" is port_forward with jellyfin_remote_https.
# - ports: what the router forwards and the host firewall opens; "option" names the role
#   variable that changes the port and "default" is that role's default (a unit test holds
#   them against roles/*/defaults/main.yml); "acme" ports are open only for the HTTP-01 challenge;
#   "external" marks the HTTPS port that jellyfin_remote_external_port moves on the router (the
#   router maps that external port to this one on the host, for ISPs that block 443).
# - units, tables, files: what runs and what is written on the host (by the roles above;
#   ddclient only with DDNS); records: what the method publishes in DNS.
# - known_proxies: what Jellyfin is told about the proxy in front of it; local: the VPN whose
#   client addresses Jellyfin counts as local (with jellyfin_remote_vpn_clients_local).
# - internet: Jellyfin itself is reachable from the internet (tailscale only with Funnel).
_PORT_FORWARD_HOST = {
    "units": ["jellyfin-remote-upnp-renew.timer", "jellyfin-remote-firewall.service", "ddclient.service (with DDNS)"],
    "tables": ["inet jellyfin_remote_port_forward"],
    "records": ["A/AAAA of ddns_hostname (with ddns_provider)"],
}
METHOD_TABLE = {
    "port_forward": dict(
        _PORT_FORWARD_HOST, roles=["port_forward"], internet=True, known_proxies=[], local=None,
        ports=[{"option": "jellyfin_remote_port_forward_ports", "setting": "port_forward_ports", "default": 8096,
                "protocol": "tcp", "description": "Jellyfin HTTP"}],
        files=["/etc/jellyfin-remote/upnp-mappings.json"]),
    "port_forward_https": dict(
        _PORT_FORWARD_HOST, roles=["port_forward", "jellyfin_https"], internet=True, known_proxies=[], local=None,
        ports=[{"port": 80, "protocol": "tcp", "description": "ACME HTTP-01 (certbot standalone)", "acme": True},
               {"option": "jellyfin_https_port", "setting": "https_port", "default": 8920, "protocol": "tcp",
                "description": "Jellyfin HTTPS", "external": True}],
        files=["/etc/jellyfin-remote/upnp-mappings.json", "certbot lineage of the HTTPS name",
               "Jellyfin's PKCS#12 certificate"]),
    "reverse_proxy": dict(
        _PORT_FORWARD_HOST, roles=["port_forward", "reverse_proxy"], internet=True, known_proxies=["127.0.0.1"],
        local=None,
        ports=[{"port": 80, "protocol": "tcp", "description": "ACME HTTP-01 and redirect to HTTPS", "acme": True},
               {"port": 443, "protocol": "tcp", "description": "Jellyfin HTTPS (reverse proxy)", "external": True}],
        units=_PORT_FORWARD_HOST["units"] + ["caddy.service or nginx.service", "fail2ban.service"],
        files=["/etc/jellyfin-remote/upnp-mappings.json", "the proxy's site", "fail2ban jail jellyfin-remote"]),
    "wireguard": dict(
        _PORT_FORWARD_HOST, roles=["port_forward", "wireguard"], internet=False, known_proxies=[], local="wireguard",
        ports=[{"option": "wireguard_listen_port", "default": 51820, "protocol": "udp", "description": "WireGuard"}],
        units=_PORT_FORWARD_HOST["units"] + ["wg-quick@wg0.service"],
        tables=_PORT_FORWARD_HOST["tables"] + ["inet jellyfin_remote_wireguard"],
        files=["/etc/jellyfin-remote/upnp-mappings.json", "/etc/wireguard/wg0.conf",
               "/etc/sysctl.d/90-jellyfin-remote-wireguard.conf"]),
    "openvpn": dict(
        _PORT_FORWARD_HOST, roles=["port_forward", "openvpn"], internet=False, known_proxies=[], local="openvpn",
        ports=[{"option": "openvpn_port", "default": 1194, "protocol": "udp", "protocol_option": "openvpn_protocol",
                "description": "OpenVPN"}],
        units=_PORT_FORWARD_HOST["units"] + ["openvpn-server@jellyfin.service",
                                             "jellyfin-remote-openvpn-crl-jellyfin.timer"],
        tables=_PORT_FORWARD_HOST["tables"] + ["inet jellyfin_remote_openvpn"],
        files=["/etc/jellyfin-remote/upnp-mappings.json", "/etc/openvpn/server/jellyfin.conf",
               "/etc/sysctl.d/90-jellyfin-remote-openvpn.conf"]),
    "tailscale": dict(
        roles=["tailscale"], internet=False, known_proxies=["127.0.0.1"], local="tailscale", ports=[],
        units=["tailscaled.service"], tables=[], files=["/var/lib/tailscale/.jellyfin_remote_auth_key"],
        records=["the node's name on the tailnet (MagicDNS)"]),
    "cloudflare_tunnel": dict(
        roles=["cloudflare_tunnel"], internet=True, known_proxies=["127.0.0.1"], local=None, ports=[],
        units=["cloudflared-jellyfin.service"], tables=[], files=["/etc/cloudflared/cloudflared-jellyfin.yml"],
        records=["the tunnel's public hostname (in Cloudflare's DNS)"]),
    # The home side only: the relay (inventory group jellyfin_relay) runs the WireGuard hub and
    # the reverse proxy (playbooks/site.yml's relay play). Nothing is opened on the home router.
    "vps_relay": dict(
        roles=["vps_relay"], internet=True, known_proxies=[relay_address(_RELAY_NETWORK)], local=None, ports=[],
        units=["wg-quick@wg-relay.service"], tables=["inet jellyfin_remote_vps_relay"],
        files=["/etc/wireguard/wg-relay.conf", "/etc/wireguard/wg-relay.nft"],
        records=["A/AAAA of jellyfin_remote_domain pointing at the relay (yours to set)"],
        relay={"ports": [{"port": 80, "protocol": "tcp", "description": "ACME HTTP-01 and redirect to HTTPS"},
                         {"port": 443, "protocol": "tcp", "description": "Jellyfin HTTPS (reverse proxy)"},
                         {"option": "vps_relay_listen_port", "default": 51820, "protocol": "udp",
                          "description": "WireGuard from home"},
                         {"option": "vps_relay_ssh_port", "default": 22, "protocol": "tcp", "description": "SSH"}],
               "units": ["wg-quick@wg-relay.service", "caddy.service or nginx.service", "fail2ban.service"],
               "tables": ["inet jellyfin_remote_vps_relay"]}),
}
# Every role the site playbook may apply, in the order removal closes them (reverse of creation).
CLOSE_ORDER = ("vps_relay", "cloudflare_tunnel", "tailscale", "openvpn", "wireguard", "reverse_proxy",
               "jellyfin_https", "port_forward")
# Jellyfin's settings the site playbook sets (jellyfin_network options).
JELLYFIN_SETTINGS = ("known_proxies", "local_network_subnets", "base_url", "enable_remote_access")
# Methods that put Jellyfin itself on the internet (tailscale only with Funnel).
INTERNET_FACING = tuple(m for m in METHODS if METHOD_TABLE[m]["internet"])
_FLOOR_TEXT = ".".join(str(part) for part in SECURITY_FLOOR)
_PLAIN_HTTP = (
    "port_forward without jellyfin_remote_https serves Jellyfin over plain HTTP: passwords and access "
    "tokens cross the internet unencrypted"
)

_IPV6_ONLY = (
    "IPv6 ONLY: this line cannot take connections over IPv4 (CGNAT or double NAT), so %s is reachable over "
    "IPv6 only, at %s. Viewers need IPv6 themselves: mobile networks mostly have it, many Wi-Fi networks (hotels, "
    "offices, some home ISPs) do not, and from there it will not connect. For those, a VPN that works behind CGNAT "
    "(tailscale) or a VPS relay is the way in."
)

_CLOUDFLARE_TERMS = (
    "Cloudflare's terms forbid serving video through its CDN on the free, Pro and Business plans: "
    "Cloudflare may limit or disable the tunnel if it carries streams. Use it for the web UI; stream "
    "over a VPN (tailscale or wireguard) or a reverse proxy on your own line."
)


def _relay_ceiling_line(ceiling, measure=None):
    """The summary's line for what the tunnel carried home -> relay (iperf3, the site's last play)."""
    if isinstance(ceiling, dict) and ceiling.get("mbps") not in (None, ""):
        return "relay ceiling: %s Mbit/s home -> relay (measured %s)" % (
            ("%.2f" % float(ceiling["mbps"])).rstrip("0").rstrip("."), str(ceiling.get("measured_at") or "?")[:10])
    if measure is False:
        return "relay ceiling: not measured (jellyfin_remote_relay_measure_ceiling is false)"
    return "relay ceiling: not measured yet (check mode measures nothing)"


_RELAY_QUOTA = (
    "Every stream to a viewer goes through the VPS twice (home to relay, relay to viewer): it counts against the "
    "VPS's monthly transfer quota, and the VPS's bandwidth caps each stream. A 4K remux of 50-128 Mbit/s uses "
    "20-60 GB an hour; let Jellyfin transcode for remote viewers (jellyfin_remote_upload_mbps).")


class SiteError(ValueError):
    """A decision that cannot be made from the given inputs; the message says what to change."""


def _truthy(value):
    return bool(value) and value not in ("0", "false", "False", "no")


def missing_inputs(inputs):
    """Dict method -> list of missing inputs, each naming the variable to set.

    inputs keys: domain (str), wireguard_peers (int, how many), tailscale_key (bool),
    relay_hosts (int, how many hosts the inventory group jellyfin_relay holds),
    cloudflare_token (bool), cloudflare_terms (bool), openvpn_clients (int, how many),
    https (bool: jellyfin_remote_https), accept_plain_http (bool: jellyfin_remote_accept_plain_http),
    and for an ISP that blocks ports: blocked_ports (jellyfin_remote_preferences.blocked_ports),
    external_port (jellyfin_remote_external_port or None), acme_challenge (reverse_proxy's),
    https_challenge and https_port (jellyfin_https's).
    port_forward lacks HTTPS unless plain HTTP is acknowledged; choose() never takes it without HTTPS.
    A blocked 443 (or HTTPS port) needs another external port, a blocked 80 the DNS-01 challenge.
    """
    if not isinstance(inputs, dict):
        raise SiteError("inputs must be a dict, got %s" % type(inputs).__name__)
    missing = {method: [] for method in METHODS}
    if not _truthy(inputs.get("https")) and not _truthy(inputs.get("accept_plain_http")):
        missing["port_forward"].append(
            "jellyfin_remote_https: true (Jellyfin's own HTTPS on 8920; %s) or, to accept that, "
            "jellyfin_remote_accept_plain_http: true" % _PLAIN_HTTP)
    if not str(inputs.get("domain") or "").strip():
        missing["reverse_proxy"].append("jellyfin_remote_domain (a domain whose DNS name points at this home)")
    missing["reverse_proxy"] += _blocked_port_inputs(inputs, 443, "acme_challenge", "reverse_proxy")
    if _truthy(inputs.get("https")):
        missing["port_forward"] += _blocked_port_inputs(inputs, inputs.get("https_port") or 8920, "https_challenge",
                                                        "jellyfin_https")
    try:
        peers = int(inputs.get("wireguard_peers") or 0)
    except (TypeError, ValueError):
        raise SiteError("inputs wireguard_peers must be a number, got %r" % (inputs.get("wireguard_peers"),))
    if peers < 1:
        missing["wireguard"].append("wireguard_peers (at least one client, for example [{name: phone}])")
    try:
        clients = int(inputs.get("openvpn_clients") or 0)
    except (TypeError, ValueError):
        raise SiteError("inputs openvpn_clients must be a number, got %r" % (inputs.get("openvpn_clients"),))
    if clients < 1:
        missing["openvpn"].append("openvpn_clients (at least one client name, for example [phone])")
    if not _truthy(inputs.get("tailscale_key")):
        missing["tailscale"].append("tailscale_auth_key or tailscale_oauth_client_secret (from the Tailscale admin console)")
    if not _truthy(inputs.get("cloudflare_token")):
        missing["cloudflare_tunnel"].append("cloudflare_tunnel_token (or cloudflare_tunnel_id and cloudflare_tunnel_credentials)")
    missing["vps_relay"] = _vps_relay_missing(inputs)
    if not _truthy(inputs.get("cloudflare_terms")):
        missing["cloudflare_tunnel"].append("cloudflare_tunnel_accept_video_terms: true (after reading Cloudflare's terms on video)")
    return missing


def _vps_relay_missing(inputs):
    """What the vps_relay method lacks: a relay host in the inventory and the name viewers use."""
    lacking = []
    try:
        relays = int(inputs.get("relay_hosts") or 0)
    except (TypeError, ValueError):
        raise SiteError("inputs relay_hosts must be a number, got %r" % (inputs.get("relay_hosts"),))
    if relays < 1:
        lacking.append("a relay host: a VPS with a public address in the inventory group jellyfin_relay")
    if not str(inputs.get("domain") or "").strip():
        lacking.append("jellyfin_remote_domain (a domain whose DNS name points at the relay)")
    return lacking


def _blocked_port_inputs(inputs, https_port, challenge_key, role):
    """What an ISP's blocked ports ask of an HTTPS method: another external port, DNS-01."""
    blocked = set()
    for port in inputs.get("blocked_ports") or []:
        if str(port).strip().isdigit():
            blocked.add(int(str(port).strip()))
    if not blocked:
        return []
    lacking = []
    try:
        external = external_port(inputs.get("external_port"))
        https_port = int(https_port)
    except (SiteError, TypeError, ValueError):
        external = None  # plan() refuses a bad value by name
    outside = external if external is not None else https_port
    if outside in blocked:
        lacking.append("jellyfin_remote_external_port (your ISP blocks %d: a free port such as 8443, which the router "
                       "maps to the HTTPS port %d on the host)" % (outside, https_port))
    if 80 in blocked and str(inputs.get(challenge_key) or "http-01") != "dns-01":
        nginx = ", and reverse_proxy_server: nginx" if role == "reverse_proxy" else ""
        lacking.append("%s_acme_challenge: dns-01 (your ISP blocks 80, which the HTTP-01 challenge needs; with a DNS "
                       "provider: %s_acme_dns_provider%s)" % (role, role, nginx))
    return lacking


def choose(methods, inputs):
    """Pick the first suitable method whose inputs are present.

    methods: the ranked list from method_advice (method, rank, suitable, reasons, needs).
    Returns dict method, rank, why (sentences), better (the suitable methods ranked above it,
    each with what it lacks), reasons (the chosen method's reasons).
    """
    if not isinstance(methods, list) or not methods:
        raise SiteError("the preflight gave no ranked methods (preflight_result.methods is empty)")
    missing = missing_inputs(inputs)
    better = []
    for entry in methods:
        if not isinstance(entry, dict) or entry.get("method") not in METHODS:
            raise SiteError("preflight_result.methods holds an entry that is not a ranked method: %r" % (entry,))
        if not entry.get("suitable"):
            continue
        lacking = missing[entry["method"]]
        if entry["method"] == "port_forward" and not _truthy(inputs.get("https")):
            # Never chosen over plain HTTP, even when acknowledged: that takes naming the method.
            lacking = ["jellyfin_remote_https: true (auto never forwards Jellyfin's plain HTTP port)"]
        if lacking:
            better.append({"method": entry["method"], "rank": entry.get("rank"), "missing": list(lacking),
                           "needs": list(entry.get("needs") or [])})
            continue
        why = ["%s is ranked %s of %d by the preflight and its inputs are present." % (
            entry["method"], entry.get("rank"), len(methods))]
        why += list(entry.get("reasons") or [])
        for other in better:
            why.append("%s is ranked higher but needs %s." % (other["method"], "; ".join(other["missing"])))
        return {"method": entry["method"], "rank": entry.get("rank"), "why": why, "better": better,
                "reasons": list(entry.get("reasons") or [])}
    suitable = [e["method"] for e in methods if e.get("suitable")]
    if not suitable:
        raise SiteError(
            "auto found no suitable method for this home (see the preflight report); set "
            "jellyfin_remote_method to one of %s once you have what it needs." % ", ".join(METHODS))
    raise SiteError(
        "auto found suitable methods (%s) but none has its inputs: %s. Set them, or set "
        "jellyfin_remote_method to a method explicitly." % (
            ", ".join(suitable),
            " / ".join("%s needs %s" % (b["method"], "; ".join(b["missing"])) for b in better)))


def _networks(values, option):
    out = []
    for value in values or []:
        try:
            net = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise SiteError("%s: %r is not an IP network such as 192.168.1.0/24" % (option, value))
        if str(net) not in out:
            out.append(str(net))
    return out


def _port(entry, option):
    if not isinstance(entry, dict) or "port" not in entry:
        raise SiteError("%s: each entry needs a port, for example {port: 8096, protocol: tcp}; got %r" % (option, entry))
    port = entry["port"]
    if isinstance(port, bool) or not str(port).isdigit() or not 0 < int(port) < 65536:
        raise SiteError("%s: %r is not a port number between 1 and 65535" % (option, port))
    protocol = str(entry.get("protocol", "tcp")).lower()
    if protocol not in ("tcp", "udp"):
        raise SiteError("%s: protocol must be tcp or udp, got %r" % (option, entry.get("protocol")))
    clean = dict(entry)
    clean.update(port=int(port), protocol=protocol)
    return clean


def _relay_local(s):
    """LocalNetworkSubnets for vps_relay: the home LAN only (given, else the host's RFC 1918
    networks), never the tunnel's range. While the list is empty Jellyfin counts every RFC 1918
    address as local, the tunnel's too; listing the LAN keeps the relay and its viewers remote.
    No LAN found: [] (Jellyfin's default; the relay forwards each viewer's own address)."""
    tunnel = ipaddress.ip_network(s.get("relay_network") or _RELAY_NETWORK)
    lan = _networks(s.get("lan_subnets"), "jellyfin_remote_lan_subnets")
    if not lan:
        try:
            lan = detected_lan(s.get("host_facts"), ["wg-relay"])
        except LocalSubnetsError:
            lan = []
    return [n for n in lan if not ipaddress.ip_network(n).overlaps(tunnel)]


def external_port(value, option="jellyfin_remote_external_port"):
    """The external HTTPS port the owner asked for: None when unset (None, "", 0 is refused), else 1-65535."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit() or not 0 < int(str(value).strip()) < 65536:
        raise SiteError("%s must be a port number between 1 and 65535 (the free port on the router that is mapped "
                        "to the HTTPS port on this host, for example 8443), got %r. Nothing was changed."
                        % (option, value))
    return int(str(value).strip())


def plan(method, settings=None):
    """Ports to open and Jellyfin's network settings for a method.

    settings keys (all optional): port_forward_ports (list of {port, protocol, description}),
    acme_challenge (http-01 | dns-01), wireguard_listen_port, wireguard_networks (list),
    openvpn_port, openvpn_protocol, openvpn_networks (list), tailscale_networks (list: the
    tailscale role's tailscale_jellyfin_local_subnets; None for the whole tailnet ranges),
    lan_subnets (list), host_facts (ansible_facts with the interfaces, to find the LAN when
    lan_subnets is empty), vpn_clients_local (bool), known_proxies (list, for the proxy methods),
    base_url (str), relay_network (the vps_relay tunnel's range; KnownProxies = its relay address),
    inputs (dict as for missing_inputs(): when given, a method whose inputs
    are missing is refused, naming the variables), https (bool: port_forward with Jellyfin's
    own HTTPS), https_domain, https_port (8920), https_challenge (http-01 | dns-01), external_port
    (jellyfin_remote_external_port: the router maps it to the HTTPS port on the host, which stays
    443 for the proxy and https_port for Jellyfin's own HTTPS; the entry then has internal_port).
    Returns dict ports, known_proxies, local_network_subnets, base_url.
    """
    if method not in METHODS:
        raise SiteError("jellyfin_remote_method must be auto or one of %s, got %r" % (", ".join(METHODS), method))
    s = dict(settings or {})
    if s.get("inputs") is not None:
        lacking = missing_inputs(s["inputs"])[method]
        if lacking:
            raise SiteError("jellyfin_remote_method is %s, which needs %s. Nothing was changed." % (method, "; ".join(lacking)))
    ports = []
    proxies = []
    local = []
    https = bool(s.get("https"))
    if https and method != "port_forward":
        raise SiteError("jellyfin_remote_https is for the port_forward method (Jellyfin's own HTTPS); "
                        "the %s method brings its own encryption: set jellyfin_remote_https to false" % method)
    if method == "port_forward" and https and not s.get("https_domain"):
        raise SiteError("jellyfin_remote_https needs the name clients use from outside for the certificate: "
                        "set jellyfin_remote_domain or ddns_hostname. Nothing was changed.")
    entry = method_facts(method, https)
    external = external_port(s.get("external_port"))
    if external is not None and not any(port.get("external") for port in entry["ports"]):
        raise SiteError("jellyfin_remote_external_port moves the HTTPS port on the router: it is for the reverse_proxy "
                        "method and for port_forward with jellyfin_remote_https, not for %s. Unset it (port_forward "
                        "without HTTPS takes internal_port in jellyfin_remote_port_forward_ports). Nothing was changed."
                        % (method + (" with jellyfin_remote_https" if https else "")))
    challenge = s.get("https_challenge" if https else "acme_challenge") or "http-01"
    for port in entry["ports"]:
        if port.get("acme") and challenge == "dns-01":
            continue  # the certificate comes by DNS-01: port 80 stays closed
        if port.get("setting") == "port_forward_ports":
            ports += [_port(p, port["option"]) for p in s.get("port_forward_ports") or
                      [{"port": port["default"], "protocol": port["protocol"], "description": port["description"]}]]
            continue
        number = port.get("port")
        if number is None:
            given = s.get(port.get("setting") or port["option"])
            number = port["default"] if given is None or given == "" else given
        protocol = port["protocol"]
        if port.get("protocol_option"):
            protocol = s.get(port["protocol_option"]) or protocol
        clean = _port({"port": number, "protocol": protocol, "description": port["description"]},
                      port.get("option", "port"))
        if port.get("external") and external is not None and external != clean["port"]:
            clean.update(port=external, internal_port=clean["port"])
        ports.append(clean)
    if external is not None:
        taken = [p for p in ports if p["port"] == external and p["protocol"] == "tcp"]
        if len(taken) > 1:
            raise SiteError("jellyfin_remote_external_port %d is also planned for %s: choose another free port (for "
                            "example 8443). Nothing was changed." % (external, taken[0]["description"]))
    if method == "reverse_proxy":
        proxies = list(s.get("known_proxies") or entry["known_proxies"])
    elif method == "vps_relay":
        try:
            proxies = [relay_address(s.get("relay_network") or _RELAY_NETWORK)]
        except VpsRelayError as exc:
            raise SiteError(str(exc)) from None
        local = _relay_local(s)
    else:
        proxies = list(entry["known_proxies"])
    vpn = entry["local"] if s.get("vpn_clients_local", True) else None
    if vpn == "wireguard":
        local = _networks(s.get("wireguard_networks"), "wireguard_network_ipv4/ipv6")
    elif vpn == "openvpn":
        local = _networks(s.get("openvpn_networks") or ["10.8.0.0/24"], "openvpn_network_ipv4/ipv6")
    elif vpn == "tailscale":
        # The owner's own node addresses when the tailscale role read them, else the ranges.
        given = s.get("tailscale_networks")
        local = list(TAILSCALE_NETWORKS) if given is None else _networks(given, "tailscale_jellyfin_local_subnets")
    if local and method != "vps_relay":
        # Jellyfin uses its interfaces' subnets as "local" only while the list is empty: once
        # the VPN range is added, the LAN must be listed too or LAN clients turn remote.
        try:
            local = local_network_subnets(local, s.get("lan_subnets"), s.get("host_facts"),
                                          lan_option="jellyfin_remote_lan_subnets",
                                          off_option="jellyfin_remote_vpn_clients_local")
        except LocalSubnetsError as exc:
            raise SiteError(str(exc)) from None
    base_url = str(s.get("base_url") or "").strip()
    if base_url and not re.match(r"^/[A-Za-z0-9._~/-]*$", base_url):
        raise SiteError("jellyfin_remote_base_url must be a path such as /jellyfin, got %r" % base_url)
    return {"ports": ports, "known_proxies": proxies, "local_network_subnets": local,
            "base_url": base_url.rstrip("/")}


def method_facts(method, https=False):
    """The method table's entry for method (port_forward with https: Jellyfin's own HTTPS), a copy."""
    if method not in METHODS:
        raise SiteError("jellyfin_remote_method must be auto or one of %s, got %r" % (", ".join(METHODS), method))
    entry = METHOD_TABLE["port_forward_https" if method == "port_forward" and https else method]
    return {key: list(value) if isinstance(value, list) else value for key, value in entry.items()}


def _recorded_roles(recorded):
    roles = (recorded or {}).get("roles") or []
    return [role for role in CLOSE_ORDER if role in roles]


def closing(recorded, method=None, https=False, planned=None):
    """What a run closes before it applies method (None: jellyfin_remote_state absent, close all).

    recorded: the host record's site section from an earlier run ({} or None when there is none);
    planned: the new plan (its known_proxies, local_network_subnets, base_url). Returns dict
    roles (to run with state absent, in CLOSE_ORDER), restore (Jellyfin settings the earlier
    method set and the new one does not: back to the owner's values), previous (the recorded
    method or None). Without a record, port_forward is still closed for a method that opens no
    port: it reads what it left on the host, so a setup from before the record is closed too.
    So is it on every switch, record or not. A re-run of the recorded method is not a switch:
    the run that switched to it closed port_forward already, so it closes nothing and does not
    walk port_forward's removal again (about 20 s of tasks on every run of such a method).
    """
    recorded = recorded if isinstance(recorded, dict) else {}
    if method is None:
        return {"roles": list(CLOSE_ORDER), "restore": list(JELLYFIN_SETTINGS), "previous": recorded.get("method")}
    wanted = method_facts(method, https)["roles"]
    roles = [role for role in _recorded_roles(recorded) if role not in wanted]
    if "port_forward" not in wanted and "port_forward" not in roles and recorded.get("method") != method:
        roles.append("port_forward")
    told = recorded.get("jellyfin") or {}
    planned = planned if isinstance(planned, dict) else {}
    restore = [name for name in JELLYFIN_SETTINGS if told.get(name) and not planned.get(name)]
    return {"roles": [role for role in CLOSE_ORDER if role in roles], "restore": restore,
            "previous": recorded.get("method")}


def site_record(method, https=False, planned=None, facts=None, recorded=None):
    """The site section of the host record.

    With recorded (the section an earlier run left) the result is the one written before any
    change: the new method, and the roles of both (an interrupted run then leaves a record
    that names everything it may have set up). Without it, the one written after a successful
    run: method, roles, ports, DDNS name, what Jellyfin was told. facts keys: ddns_hostname,
    domain, enable_remote_access (bool: the run turned EnableRemoteAccess on).
    """
    entry = method_facts(method, https)
    if recorded is not None:
        out = dict(recorded) if isinstance(recorded, dict) else {}
        roles = set(_recorded_roles(out)) | set(entry["roles"])
        out.update(method=method, https=bool(https),
                   roles=[role for role in reversed(CLOSE_ORDER) if role in roles])
        return out
    planned = planned if isinstance(planned, dict) else {}
    f = facts if isinstance(facts, dict) else {}
    told = {name: planned.get(name) for name in ("known_proxies", "local_network_subnets", "base_url")
            if planned.get(name)}
    if f.get("enable_remote_access"):
        told["enable_remote_access"] = True
    return {"method": method, "https": bool(https), "roles": entry["roles"],
            "ports": [{"port": p["port"], "protocol": p["protocol"]} for p in planned.get("ports") or []],
            "ddns_hostname": str(f.get("ddns_hostname") or ""), "domain": str(f.get("domain") or ""),
            "jellyfin": told}


def _version_tuple(version):
    match = re.match(r"^\s*v?(\d+)\.(\d+)\.(\d+)", str(version or ""))
    return tuple(int(x) for x in match.groups()) if match else None


def exposure(method, info, settings=None):
    """The guards that run before any method opens a port, a tunnel or a funnel.

    info: the JSON of Jellyfin's /System/Info/Public (None or {} when it did not answer).
    settings keys (all optional): funnel (bool, tailscale Funnel), accept_vulnerable (bool:
    jellyfin_remote_accept_vulnerable), vpn_clients_local (bool, default True), remote_access
    (bool or None: EnableRemoteAccess as network.xml holds it now), enable_remote_access (bool:
    jellyfin_remote_enable_remote_access), url (str, where Jellyfin was asked, for messages).
    Returns dict errors (each names what to change; any error stops the run before a change),
    warnings, internet_facing (bool), enable_remote_access (bool: set EnableRemoteAccess true).
    """
    if method not in METHODS:
        raise SiteError("unknown method %r" % (method,))
    s = dict(settings or {})
    info = info if isinstance(info, dict) else {}
    url = s.get("url") or "Jellyfin's local URL"
    internet = method in INTERNET_FACING or (method == "tailscale" and _truthy(s.get("funnel")))
    errors, warnings = [], []
    if not info:
        errors.append(
            "Jellyfin did not answer GET %s/System/Info/Public, so neither its setup wizard nor its version can "
            "be checked: start Jellyfin (systemctl status jellyfin) and run again." % url.rstrip("/"))
    elif info.get("StartupWizardCompleted") is not True:
        errors.append(
            "Jellyfin's startup wizard is not finished (/System/Info/Public says StartupWizardCompleted: %s): "
            "until it is, anyone who reaches the server can create its first administrator. Finish the wizard "
            "in Jellyfin's web interface from the home network (on this host: %s) and run again." % (
                str(info.get("StartupWizardCompleted")).lower(), url.rstrip("/") + "/web/"))
    version = info.get("Version") if info else None
    parsed = _version_tuple(version)
    if info and (parsed is None or parsed < SECURITY_FLOOR):
        what = ("Jellyfin %s is older than %s" % (version, _FLOOR_TEXT) if parsed is not None
                else "Jellyfin's version could not be read (%r)" % (version,))
        risk = "%s; %s fixes %s." % (what, _FLOOR_TEXT, SECURITY_FIXES)
        if internet and not _truthy(s.get("accept_vulnerable")):
            errors.append(
                "%s The %s method puts Jellyfin on the internet: upgrade Jellyfin first, or set "
                "jellyfin_remote_accept_vulnerable: true to expose it anyway." % (risk, method))
        else:
            warnings.append("%s Upgrade it%s." % (
                risk, " (exposed anyway: jellyfin_remote_accept_vulnerable is true)" if internet
                else "; only VPN clients reach it with the %s method" % method))
    remote_clients = internet or not _truthy(s.get("vpn_clients_local", True))
    set_remote = False
    if remote_clients and s.get("remote_access") is False:
        if _truthy(s.get("enable_remote_access")):
            set_remote = True
        else:
            errors.append(
                "Jellyfin's EnableRemoteAccess is false (Dashboard > Networking > 'Allow remote connections to "
                "this server'), so it answers 503 to every client outside its local networks, and the %s method "
                "brings remote clients. Turn it on there, or set jellyfin_remote_enable_remote_access: true." % method)
    return {"errors": errors, "warnings": warnings, "internet_facing": internet, "enable_remote_access": set_remote}


def unknown_variables(names, known, prefixes):
    """Warnings for variables that carry one of the prefixes but are known to no role.

    names: the variable names the play sees (the inventory's, extra vars); known: every name the
    roles document or set; prefixes: the collection's variable prefixes. Internal names
    (leading underscore) are skipped. Each warning names the nearest known name, if any.
    """
    known = sorted(set(known or []))
    out = []
    for name in sorted(set(names or [])):
        if not isinstance(name, str) or name.startswith("_") or name in known:
            continue
        if not any(name.startswith(prefix) for prefix in prefixes or []):
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        out.append("%s is not a variable of homelab.jellyfin_remote%s; it has no effect." % (
            name, " (did you mean %s?)" % near[0] if near else ""))
    return out


def summary(method, facts=None):
    """URLs, files and warnings a person can act on. facts keys are all optional:

    domain, ddns_hostname, public_ipv4, base_url, ports (the plan's), wireguard_export_dir,
    wireguard_peers (names), wireguard_server_addresses, tailscale_dns_name, tailscale_ips,
    tailscale_funnel, cloudflare_hostname, openvpn_server_addresses, openvpn_export_dir,
    openvpn_clients (names), relay_host (the relay's inventory name), relay_ceiling (the tunnel's
    measurement home -> relay: mbps, measured_at; None when not measured), relay_measure (False when
    the owner switched the measurement off),
    jellyfin_version, choice (from choose()),
    https (port_forward with Jellyfin's own HTTPS), https_require (Jellyfin's RequireHttps), exposure_warnings (from exposure(); when
    given, they replace the summary's own version check), remote_access_enabled (bool), closed
    (what this run closed of an earlier method, from port_forward state absent; returned as
    `closed`, printed but not saved, so that the saved summary stays the same on a re-run),
    streaming (from _streaming.streaming(): its lines, and for the VPN methods why VPN viewers
    are or are not local, come back as `streaming`; its warnings join the warnings),
    ipv6_only (bool: port_forward opened the ports over IPv6 only, the line being CGNAT for IPv4),
    public_ipv6 (this host's global IPv6 address), ipv6_manual (ports the owner must open by hand in
    the router's IPv6 firewall, each {port, protocol}).
    plain_http in the result is true for port_forward without HTTPS: the summary's first line;
    opened says what the method keeps open and running (from the method table).
    """
    if method not in METHODS:
        raise SiteError("unknown method %r" % (method,))
    f = dict(facts or {})
    base = str(f.get("base_url") or "").rstrip("/")
    ipv6_only = _truthy(f.get("ipv6_only")) and method in ("port_forward", "reverse_proxy")
    v6 = str(f.get("public_ipv6") or "")
    host = f.get("ddns_hostname") or ("" if ipv6_only else f.get("public_ipv4")) or ("[%s]" % v6 if v6 and ipv6_only else "")
    urls, files, warnings, notes = [], [], [], []
    if ipv6_only:
        warnings.append(_IPV6_ONLY % ("Jellyfin" if method == "port_forward" else "the proxy",
                                      v6 or "this host's global IPv6 address"))
        manual = [m for m in f.get("ipv6_manual") or [] if isinstance(m, dict) and m.get("port")]
        if manual:
            notes.append("Open by hand in the router's IPv6 firewall (it refused or could not be asked by UPnP): %s "
                         "to %s; only these ports to this address." % (
                             ", ".join("%s %s" % (m.get("protocol") or "tcp", m.get("internal_port") or m["port"])
                                       for m in manual), v6 or "this host's IPv6 address"))
    if method == "port_forward":
        for port in f.get("ports") or [{"port": 8096}]:
            if str(port.get("description", "")).startswith("ACME"):
                continue  # certbot's HTTP-01 port, not a way to Jellyfin
            if host:
                scheme = "https" if f.get("https") or int(port["port"]) in (443, 8920) else "http"
                urls.append("%s://%s:%d%s/" % (scheme, host, int(port["port"]), base))
        if not f.get("https"):
            warnings.append("PLAIN HTTP: %s (accepted with jellyfin_remote_accept_plain_http). Set "
                            "jellyfin_remote_https: true, or use a reverse proxy or a VPN." % _PLAIN_HTTP)
        warnings.append(
            "Jellyfin itself faces the internet: keep it at %s or newer and use strong passwords." % _FLOOR_TEXT)
        if f.get("https") and f.get("https_require"):
            https_port = next((int(p["port"]) for p in f.get("ports") or []
                               if not str(p.get("description", "")).startswith("ACME")), 8920)
            warnings.append(
                "RequireHttps is on: Jellyfin redirects every plain HTTP request, LAN and loopback included, to "
                "HTTPS on its HTTPS port, whose certificate names %s: LAN apps that use the server's LAN address on "
                ":8096 then meet a name mismatch. Point them at https://%s:%s/ (with the name resolving at home), "
                "or set jellyfin_https_require: false."
                % (host or "the public name", host or "<public name>", https_port))
        if not f.get("ddns_hostname"):
            notes.append("No DDNS name is set: the address changes when your ISP renews it (set ddns_provider and ddns_hostname).")
    elif method == "reverse_proxy":
        # The router may map another external port to the proxy's 443 (jellyfin_remote_external_port).
        outside = next((int(p["port"]) for p in f.get("ports") or []
                        if int(p.get("internal_port") or p["port"]) == 443 and p.get("protocol", "tcp") == "tcp"), 443)
        if f.get("domain"):
            urls.append("https://%s%s%s/" % (f["domain"], "" if outside == 443 else ":%d" % outside, base))
        warnings.append(
            "Jellyfin is reachable from the internet through the proxy: keep it up to date and use strong "
            "passwords; fail2ban bans addresses after repeated failed logins.")
    elif method == "wireguard":
        for address in f.get("wireguard_server_addresses") or []:
            ip = address.split("/")[0]
            urls.append("http://%s:8096%s/ (through the tunnel)" % ("[%s]" % ip if ":" in ip else ip, base))
        if f.get("wireguard_export_dir"):
            for name in f.get("wireguard_peers") or []:
                files.append("%s/%s.conf (QR code: %s.png, %s.txt)" % (f["wireguard_export_dir"], name, name, name))
        notes.append("Import a client's .conf (or scan its QR code) in the WireGuard app; the files hold private keys: "
                     "hand each only to its owner.")
    elif method == "openvpn":
        for address in f.get("openvpn_server_addresses") or []:
            ip = address.split("/")[0]
            urls.append("http://%s:8096%s/ (through the tunnel)" % ("[%s]" % ip if ":" in ip else ip, base))
        if f.get("openvpn_export_dir"):
            for name in f.get("openvpn_clients") or []:
                files.append("%s/%s.ovpn" % (f["openvpn_export_dir"], name))
        notes.append("Import a client's .ovpn in OpenVPN Connect (or run openvpn --config); each file holds that "
                     "client's private key: hand it only to its owner. Remove a name to revoke it.")
    elif method == "tailscale":
        if f.get("tailscale_dns_name"):
            urls.append("https://%s%s/ (on your tailnet)" % (f["tailscale_dns_name"], base))
        for ip in f.get("tailscale_ips") or []:
            urls.append("http://%s:8096%s/ (on your tailnet)" % ("[%s]" % ip if ":" in ip else ip, base))
        notes.append("Viewers need the Tailscale app and an invitation to your tailnet (or a shared node).")
        if f.get("tailscale_funnel"):
            warnings.append("Funnel is on: the node's HTTPS URL is public on the internet, not only on your tailnet.")
    elif method == "vps_relay":
        if f.get("domain"):
            urls.append("https://%s%s/ (through the relay %s)" % (f["domain"], base, f.get("relay_host") or "")
                        if f.get("relay_host") else "https://%s%s/" % (f["domain"], base))
        warnings.append(_RELAY_QUOTA)
        warnings.append(
            "Jellyfin is reachable from the internet through the relay: keep it up to date and use strong passwords; "
            "fail2ban on the relay bans addresses after repeated failed logins.")
        notes.append(_relay_ceiling_line(f.get("relay_ceiling"), f.get("relay_measure")))
    else:
        if f.get("cloudflare_hostname"):
            urls.append("https://%s%s/" % (f["cloudflare_hostname"], base))
        warnings.append(_CLOUDFLARE_TERMS)
    if "exposure_warnings" in f:
        warnings += [w for w in f.get("exposure_warnings") or [] if w not in warnings]
    else:
        version = f.get("jellyfin_version")
        parsed = _version_tuple(version)
        if parsed is not None and parsed < SECURITY_FLOOR:
            warnings.append("Jellyfin %s is older than %s, which fixes %s: upgrade before you open it to the "
                            "outside." % (version, _FLOOR_TEXT, SECURITY_FIXES))
    if f.get("remote_access_enabled"):
        notes.append("EnableRemoteAccess was off; it was turned on (jellyfin_remote_enable_remote_access).")
    choice = f.get("choice") or {}
    entry = method_facts(method, f.get("https"))
    streaming = f.get("streaming") if isinstance(f.get("streaming"), dict) else {}
    streaming_lines = list(streaming.get("lines") or [])
    if streaming and entry["local"]:
        streaming_lines.append(streaming.get("vpn_why") or "")
    warnings += [w for w in streaming.get("warnings") or [] if w not in warnings]
    opened = []
    if f.get("ports"):
        opened.append("router and host firewall: %s" % ", ".join(
            "%s/%s%s" % (p["port"], p.get("protocol", "tcp"),
                         " (to %s on the host)" % p["internal_port"] if p.get("internal_port") not in (None, p["port"])
                         else "") for p in f["ports"]))
    units = list(entry["units"])
    if ipv6_only:
        # Over IPv6 only: pinholes instead of IPv4 mappings, and the ddns role's timer instead of
        # ddclient (which sends only IPv4) for the AAAA record.
        units = [{"jellyfin-remote-upnp-renew.timer": "jellyfin-remote-upnp-pinholes.timer",
                  "ddclient.service (with DDNS)": "jellyfin-remote-ddns.timer (with DDNS)"}.get(u, u) for u in units]
    opened += ["units: %s" % ", ".join(units)] if units else []
    opened += ["nftables: %s" % ", ".join(entry["tables"])] if entry["tables"] else []
    opened += ["DNS: %s" % ", ".join(entry["records"])] if entry.get("records") else []
    if entry.get("relay"):
        relay = entry["relay"]
        opened.append("on the relay%s: %s in (everything else dropped); units: %s; nftables: %s" % (
            " " + f["relay_host"] if f.get("relay_host") else "",
            ", ".join("%s/%s" % (p.get("port", p.get("default")), p["protocol"]) for p in relay["ports"]),
            ", ".join(relay["units"]), ", ".join(relay["tables"])))
    return {"method": method, "plain_http": method == "port_forward" and not f.get("https"), "urls": urls,
            "opened": opened,
            "files": files, "warnings": warnings, "notes": notes,
            "closed": [str(item) for item in f.get("closed") or []],
            "streaming": [line for line in streaming_lines if line],
            "why": list(choice.get("why") or []),
            "better": ["%s would need %s" % (b["method"], "; ".join(b["missing"])) for b in choice.get("better") or []]}
