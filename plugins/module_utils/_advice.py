# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which way into a home Jellyfin server suits this home: facts in, ranked methods out.

Pure and deterministic: rank_methods() reads the public_ip result (classification,
port_forwarding_possible, ipv6_global) and the owner's preferences, and returns every
method with a rank, whether it is suitable, the reasons and what it still needs.

The trade-offs encoded here:
- CGNAT and double NAT rule out the methods that need a port forward on the home router
  (port_forward, reverse_proxy, wireguard), unless a VPS can take the public side or the
  home has global IPv6 (then only IPv6 clients can connect).
- A VPN (WireGuard, Tailscale) keeps Jellyfin off the internet: first choice when security
  matters most. Tailscale also works behind CGNAT; its relays are slower (enough for
  transcoded 1080p).
- A reverse proxy needs a domain and 443 (80 too, or a DNS-01 challenge when 80 is blocked),
  and suits many remote users best: they need nothing but the URL. When the ISP blocks 443,
  another external port mapped to the proxy's 443 (jellyfin_remote_external_port) keeps it
  suitable: the URL then carries the port.
- Cloudflare's terms forbid serving video through its CDN on the free, Pro and Business
  plans: a tunnel suits the web UI, not streaming, so it is never suitable for streaming
  and never ranked first.
- Upload bandwidth limits every method: a 4K remux needs 50-128 Mbit/s per stream.
"""

from __future__ import annotations

import numbers

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import SECURITY_FLOOR

_FLOOR = ".".join(str(part) for part in SECURITY_FLOOR)
METHODS = ("port_forward", "reverse_proxy", "wireguard", "tailscale", "cloudflare_tunnel", "vps_relay")
CLASSIFICATIONS = ("public", "nat", "cgnat", "double_nat", "unknown", "offline")
SECURITY_PRIORITIES = ("low", "normal", "high")
SKILLS = ("beginner", "intermediate", "advanced")

PREFERENCE_DEFAULTS = {
    "blocked_ports": (),
    "has_domain": False,
    "has_vps": False,
    "has_tailscale_account": False,
    "has_cloudflare_account": False,
    "security_priority": "normal",
    "skill": "intermediate",
    "upload_mbps": None,
    "remote_users": 1,
}

_BOOLEANS = ("has_domain", "has_vps", "has_tailscale_account", "has_cloudflare_account")
_REMUX_4K_MBPS = 50  # the low end of 50-128 Mbit/s for one 4K remux
_MANY_USERS = 3
_WIREGUARD_PORT = 51820
_CLOUDFLARE_TERMS = (
    "Cloudflare's terms forbid serving video through its CDN on the free, Pro and Business plans "
    "(Cloudflare may disable or limit it), so a tunnel suits the Jellyfin web UI, not streaming."
)


def normalize_preferences(preferences=None):
    """Preferences with defaults filled in; ValueError names an unknown or bad key."""
    preferences = dict(preferences or {})
    for key in sorted(preferences):
        if key not in PREFERENCE_DEFAULTS:
            raise ValueError(
                "unknown preference %r; known preferences: %s" % (key, ", ".join(sorted(PREFERENCE_DEFAULTS)))
            )
    prefs = dict(PREFERENCE_DEFAULTS)
    prefs.update(preferences)
    for key in _BOOLEANS:
        if not isinstance(prefs[key], bool):
            raise ValueError("preference %s must be true or false, got %r" % (key, prefs[key]))
    ports = prefs["blocked_ports"]
    if ports is None:
        ports = ()
    if isinstance(ports, (str, bytes)) or not hasattr(ports, "__iter__"):
        raise ValueError("preference blocked_ports must be a list of port numbers, got %r" % (ports,))
    clean = set()
    for port in ports:
        number = _port_number(port)
        if number is None:
            raise ValueError("preference blocked_ports: %r is not a port number between 1 and 65535" % (port,))
        clean.add(number)
    prefs["blocked_ports"] = frozenset(clean)
    for key, choices in (("security_priority", SECURITY_PRIORITIES), ("skill", SKILLS)):
        if prefs[key] not in choices:
            raise ValueError("preference %s must be one of %s, got %r" % (key, ", ".join(choices), prefs[key]))
    upload = prefs["upload_mbps"]
    if upload is not None and (isinstance(upload, bool) or not isinstance(upload, numbers.Real) or upload < 0):
        raise ValueError("preference upload_mbps must be a number of Mbit/s (0 or more) or null, got %r" % (upload,))
    users = prefs["remote_users"]
    if isinstance(users, bool) or not isinstance(users, numbers.Integral) or users < 1:
        raise ValueError("preference remote_users must be a whole number of 1 or more, got %r" % (users,))
    return prefs


def _port_number(value):
    """int for 443 or "443"; None for anything else (booleans, 443.5, "https", 0)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 < number < 65536 else None


def normalize_facts(facts):
    """(classification, port_forwarding_possible, ipv6_global) from a public_ip result."""
    if not isinstance(facts, dict):
        raise ValueError("facts must be the dict that public_ip returns, got %s" % type(facts).__name__)
    classification = facts.get("classification")
    if classification not in CLASSIFICATIONS:
        raise ValueError(
            "facts classification must be one of %s, got %r" % (", ".join(CLASSIFICATIONS), classification)
        )
    default = {"public": True, "nat": True, "cgnat": False, "double_nat": False}.get(classification)
    forwarding = facts.get("port_forwarding_possible", default)
    if forwarding not in (True, False, None):
        raise ValueError("facts port_forwarding_possible must be true, false or null, got %r" % (forwarding,))
    ipv6_global = facts.get("ipv6_global", False)
    if not isinstance(ipv6_global, bool):
        raise ValueError("facts ipv6_global must be true or false, got %r" % (ipv6_global,))
    return classification, forwarding, ipv6_global


class _Verdict:
    def __init__(self, method, score):
        self.method = method
        self.score = score
        self.suitable = True
        self.reasons = []
        self.needs = []

    def add(self, points, reason=None):
        self.score += points
        if reason:
            self.reasons.append(reason)

    def reject(self, reason):
        self.suitable = False
        self.reasons.append(reason)


def _nat_reason(classification):
    if classification == "double_nat":
        return (
            "Behind double NAT a port forward would be needed on both routers (or the first router "
            "in bridge mode), so the home router alone cannot accept connections."
        )
    return "Behind carrier-grade NAT (CGNAT) the home router cannot accept connections from the internet."


def _unknown_reason(classification):
    if classification == "offline":
        return (
            "public_ip found no public address (offline), so it is unknown whether a port forward can "
            "work; run it again with internet access."
        )
    return (
        "It is unknown whether the router can forward ports; run public_ip with wan_source=value "
        "(the WAN address from the router's status page) to find out."
    )


def _port_forward(c, fwd, v6, p):
    v = _Verdict("port_forward", 45)
    if c == "public":
        v.needs.append("the Jellyfin port opened in the host firewall")
        v.reasons.append("This host holds the public address, so no router forward is involved.")
    else:
        v.needs += ["a static LAN address for the Jellyfin host (DHCP reservation)", "a port forward on the router"]
    v.needs += ["a DDNS name, because home addresses change", "HTTPS, strong passwords and Jellyfin %s or newer" % _FLOOR]
    if fwd is True:
        if c == "nat":
            v.reasons.append("The router's WAN address is the public address, so a port forward works.")
    elif fwd is False:
        if v6:
            v.add(
                -25,
                _nat_reason(c)
                + " IPv6 is global, so an IPv6 firewall opening works, but only clients with IPv6 can connect.",
            )
            v.needs.append("an IPv6 firewall opening on the router")
        else:
            v.reject(_nat_reason(c) + " Plain port forwarding is not possible.")
            if p["has_vps"]:
                v.reasons.append("A VPS helps through reverse_proxy or wireguard, not through a plain forward.")
    else:
        v.add(-10, _unknown_reason(c))
    v.reasons.append("Jellyfin itself faces the internet, and some of its media endpoints need no login.")
    if p["security_priority"] == "high":
        v.add(-30, "With a high security priority, exposing Jellyfin directly is the weakest choice.")
    elif p["security_priority"] == "low":
        v.add(10)
    blocked = sorted(p["blocked_ports"] & {8096, 8920})
    if blocked:
        v.reasons.append(
            "Your ISP blocks %s: forward a different external port to Jellyfin." % ", ".join(str(x) for x in blocked)
        )
    if p["remote_users"] > _MANY_USERS:
        v.add(5, "Viewers need no VPN app or account.")
    return v


def _reverse_proxy(c, fwd, v6, p):
    v = _Verdict("reverse_proxy", 60)
    via_vps = False
    if fwd is False:
        if p["has_vps"]:
            via_vps = True
            v.add(-10, _nat_reason(c) + " Your VPS can run the proxy and reach home through a WireGuard tunnel.")
            v.needs.append("a WireGuard tunnel from the home server to the VPS")
        elif v6:
            v.add(-25, _nat_reason(c) + " IPv6 is global, so the proxy can be reached over IPv6, by IPv6 clients only.")
        else:
            v.reject(
                _nat_reason(c) + " The proxy needs ports 80/443 forwarded; a VPS or global IPv6 would make it possible."
            )
    elif fwd is None:
        v.add(-10, _unknown_reason(c))
    if p["has_domain"]:
        v.add(10, "You have a domain, so Let's Encrypt certificates come free.")
    else:
        v.add(-10)
        v.needs.append("a domain name (a DDNS name works too)")
    if not via_vps:
        other_port = False
        if 443 in p["blocked_ports"]:
            if p["has_vps"]:
                via_vps = True
                v.add(-10, "Your ISP blocks 443 at home, so run the proxy on your VPS instead.")
                v.needs.append("a WireGuard tunnel from the home server to the VPS")
            elif c == "public":
                v.reject("Your ISP blocks 443 and this host holds the public address itself: there is no router "
                         "to map another external port to the proxy's 443.")
            else:
                # The proxy still listens on 443 at home; the router maps a free external port to it.
                other_port = True
                v.add(-10, "Your ISP blocks 443: the router can map another external port (for example 8443) to "
                           "the proxy's 443, and viewers use https://<name>:8443/.")
                v.needs.append("an external port other than 443, mapped to the proxy's 443 "
                               "(jellyfin_remote_external_port, for example 8443)")
        if not via_vps:
            if other_port:
                opened = "that external port" + ("" if 80 in p["blocked_ports"] else " and port 80")
            else:
                opened = "port 443" if 80 in p["blocked_ports"] else "ports 443 and 80"
            v.needs.append(
                "%s forwarded to the proxy host" % opened if c != "public" else "%s open in the host firewall" % opened
            )
        if 80 in p["blocked_ports"]:
            v.add(-5, "Your ISP blocks 80, so certificates need the DNS-01 challenge.")
            v.needs.append("a DNS-01 provider for the certificate (reverse_proxy_acme_challenge: dns-01 with nginx: "
                           "RFC 2136 or Cloudflare; Debian's Caddy has no DNS modules)")
    if p["security_priority"] == "high":
        v.add(
            -10, "Jellyfin still faces the internet behind the proxy; TLS and fail2ban help, but a VPN keeps it hidden."
        )
    else:
        v.reasons.append("One hardened HTTPS entry point (Caddy is the simplest; add fail2ban).")
    if p["skill"] == "beginner":
        v.add(-10, "Domains, DNS and certificates take some learning.")
    elif p["skill"] == "advanced":
        v.add(5)
    if p["remote_users"] > _MANY_USERS:
        v.add(15, "Viewers need only the URL and a Jellyfin app: the best fit for many remote users.")
    return v


def _wireguard(c, fwd, v6, p):
    v = _Verdict("wireguard", 55)
    if fwd is False:
        if p["has_vps"]:
            v.add(-10, _nat_reason(c) + " Your VPS can be the WireGuard hub that home and clients connect out to.")
            v.needs.append("the VPS as WireGuard hub")
        elif v6:
            v.add(-20, _nat_reason(c) + " IPv6 is global, so WireGuard can listen on IPv6, for IPv6 clients only.")
            v.needs.append("an IPv6 firewall opening for the WireGuard port")
        else:
            v.reject(
                _nat_reason(c)
                + " WireGuard at home needs one UDP port forwarded; a VPS or global IPv6 would make it possible."
            )
    elif fwd is None:
        v.add(-10, _unknown_reason(c))
    if fwd is not False:
        if c == "public":
            v.needs.append("one UDP port open in the host firewall")
        else:
            v.needs.append("one UDP port (%d) forwarded to the WireGuard host" % _WIREGUARD_PORT)
    v.needs.append("the WireGuard app and a config on every remote device")
    if _WIREGUARD_PORT in p["blocked_ports"]:
        v.reasons.append("Port %d is blocked: pick another UDP port." % _WIREGUARD_PORT)
    if p["security_priority"] == "high":
        v.add(
            25,
            "Jellyfin stays off the internet: only the VPN port is open, and WireGuard ignores "
            "unauthenticated packets.",
        )
    else:
        v.add(5, "Jellyfin stays off the internet; only the VPN port is open.")
    if p["skill"] == "beginner":
        v.add(-15, "Keys and a config per device are more work for a beginner.")
    elif p["skill"] == "advanced":
        v.add(10)
    if p["remote_users"] > _MANY_USERS:
        v.add(-15, "Every viewer needs the app and their own config, which scales poorly to many users.")
    return v


def _tailscale(c, fwd, v6, p):
    v = _Verdict("tailscale", 55)
    if not p["has_tailscale_account"]:
        v.needs.append("a Tailscale account")
    else:
        v.add(10, "You already have a Tailscale account.")
    v.needs += ["the Tailscale app on every remote device", "every viewer invited to the tailnet (or the node shared)"]
    if fwd is False:
        v.add(
            20,
            "Works behind CGNAT and double NAT without port forwarding; when no direct path exists, relayed "
            "traffic is slower: enough for transcoded 1080p, not 4K remux.",
        )
    else:
        v.reasons.append("No port forwarding needed, and direct connections are likely, so streams run at full speed.")
    if p["security_priority"] == "high":
        v.add(25, "Jellyfin stays off the public internet.")
    else:
        v.add(5, "Jellyfin stays off the public internet.")
    if p["skill"] == "beginner":
        v.add(15, "The easiest VPN: install the app and sign in.")
    if p["remote_users"] > _MANY_USERS:
        v.add(-10, "Each viewer needs the app and an invitation, which is a hurdle for many users.")
    return v


def _cloudflare_tunnel(c, fwd, v6, p):
    v = _Verdict("cloudflare_tunnel", 20)
    v.reject(_CLOUDFLARE_TERMS)
    v.reasons.append("Outbound-only: no open ports, and it works behind CGNAT.")
    if not p["has_cloudflare_account"]:
        v.needs.append("a Cloudflare account")
    v.needs.append("a domain on Cloudflare" if not p["has_domain"] else "the domain's DNS hosted on Cloudflare")
    v.needs.append("an explicit acknowledgement of Cloudflare's terms on video")
    return v


def _vps_relay(c, fwd, v6, p):
    """A VPS with a public address takes the viewers in; home dials out to it over WireGuard.
    has_vps: the owner has one (the site playbook sets it when the inventory group jellyfin_relay
    holds a host). The first choice under CGNAT and double NAT when there is one; pointless
    (a hop and a quota for nothing) where the home router can forward ports."""
    v = _Verdict("vps_relay", 50)
    v.needs.append("a domain whose DNS name points at the VPS" if p["has_domain"]
                   else "a domain name pointing at the VPS (a DDNS name works too)")
    if not p["has_vps"]:
        v.needs.insert(0, "a VPS (a small rented server with a public IPv4 address) in the inventory group "
                          "jellyfin_relay, with ports 80, 443 and one UDP port open")
        v.reject("Needs a VPS as relay: the home server dials out to it over WireGuard and the VPS takes the "
                 "viewers in, so it works behind CGNAT with nothing opened on the home router.")
        return v
    v.needs.append("transfer quota on the VPS: every stream crosses it")
    if fwd is False:
        v.add(40, _nat_reason(c) + " The home server dials out to your VPS over WireGuard and the VPS takes the "
                                   "viewers in: nothing is opened on the home router.")
    elif fwd is None:
        v.add(10, _unknown_reason(c) + " A relay works either way.")
    else:
        v.add(-15, "The home router can forward ports, so a relay only adds a hop and the VPS's transfer quota.")
    if p["has_domain"]:
        v.add(5, "You have a domain: the VPS gets its certificate from Let's Encrypt.")
    else:
        v.add(-10)
    if p["blocked_ports"] & {80, 443}:
        v.add(10, "Your ISP's blocked ports do not matter: viewers connect to the VPS.")
    if p["security_priority"] == "high":
        v.add(-10, "Jellyfin faces the internet through the VPS (TLS and fail2ban there); the tunnel lets the VPS "
                   "reach Jellyfin's port only.")
    if p["skill"] == "beginner":
        v.add(-10, "Renting and securing a VPS takes some learning.")
    if p["remote_users"] > _MANY_USERS:
        v.add(15, "Viewers need only the URL and a Jellyfin app.")
    v.reasons.append("Every stream counts against the VPS's transfer quota, and its bandwidth caps each stream.")
    return v


_BUILDERS = (_port_forward, _reverse_proxy, _wireguard, _tailscale, _cloudflare_tunnel, _vps_relay)


def _bandwidth_reason(p):
    upload = p["upload_mbps"]
    if upload is None:
        return None
    users = p["remote_users"]
    if upload < _REMUX_4K_MBPS:
        return (
            "Your upload of %s Mbit/s is below what one 4K remux needs (50-128 Mbit/s): let Jellyfin "
            "transcode to lower bitrates." % _number(upload)
        )
    if users > 1 and upload / users < _REMUX_4K_MBPS:
        return (
            "Your upload of %s Mbit/s shared by %d remote users is under 50 Mbit/s each, and a 4K remux "
            "needs 50-128 Mbit/s: let Jellyfin transcode when several watch at once." % (_number(upload), users)
        )
    return None


def _number(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")


def rank_methods(facts, preferences=None):
    """Rank port_forward, reverse_proxy, wireguard, tailscale, cloudflare_tunnel, vps_relay.

    facts: the public_ip result (classification; port_forwarding_possible and ipv6_global
    if present). preferences: see PREFERENCE_DEFAULTS. Returns a list of dicts with method,
    rank (1 is best), suitable, reasons and needs, best first. Raises ValueError.
    """
    classification, forwarding, ipv6_global = normalize_facts(facts)
    prefs = normalize_preferences(preferences)
    verdicts = [build(classification, forwarding, ipv6_global, prefs) for build in _BUILDERS]
    bandwidth = _bandwidth_reason(prefs)
    if bandwidth:
        for verdict in verdicts:
            if verdict.suitable:
                verdict.reasons.append(bandwidth)
    verdicts.sort(key=lambda v: (not v.suitable, -v.score, METHODS.index(v.method)))
    # Streaming is the goal of a Jellyfin server: the tunnel is never the first advice.
    if verdicts[0].method == "cloudflare_tunnel" and len(verdicts) > 1:
        verdicts[0], verdicts[1] = verdicts[1], verdicts[0]
    return [
        {
            "method": v.method,
            "rank": rank,
            "suitable": v.suitable,
            "reasons": list(v.reasons),
            "needs": list(v.needs),
        }
        for rank, v in enumerate(verdicts, start=1)
    ]
