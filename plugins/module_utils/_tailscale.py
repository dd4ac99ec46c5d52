# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the tailscale role, taken from `tailscale status --json` and
`tailscale serve status --json` (plain Python, no Ansible).

Read from tailscale/tailscale v1.102.3: ipn/ipnstate/ipnstate.go (Status, PeerStatus: UserID,
TailscaleIPs, Tags, ShareeNode, Capabilities, CapMap), ipn/ipnlocal/local.go (Self's CapMap and
the deprecated Capabilities list built from it), tailcfg/tailcfg.go (CapabilityHTTPS "https",
NodeAttrFunnel "funnel"), ipn/serve.go (ServeConfig TCP / Web / AllowFunnel) and
cmd/tailscale/cli/serve_legacy.go (`serve status --json` prints `null` for no config).
"""

from __future__ import annotations

import ipaddress

# Tailscale hands out node addresses from these ranges (the CGNAT range and its IPv6 ULA).
TAILNET_NETWORKS = ("100.64.0.0/10", "fd7a:115c:a1e0::/48")
LOCAL_SUBNET_MODES = ("own_nodes", "tailnet")
# The capabilities `tailscale serve --https` and `tailscale funnel` need on the node.
CAP_HTTPS = "https"
CAP_FUNNEL = "funnel"
# BackendState values that pass on their own right after tailscaled starts.
TRANSIENT_STATES = ("NoState", "Starting")


class TailscaleError(Exception):
    """A wrong setting or a status the role cannot work with; the text says what to change."""


def _as_dict(value):
    return value if isinstance(value, dict) else {}


def _host_prefixes(ips):
    out = []
    for raw in ips or []:
        try:
            addr = ipaddress.ip_address(str(raw))
        except ValueError:
            continue
        out.append("%s/%d" % (addr, addr.max_prefixlen))
    return out


def _sort_key(prefix):
    net = ipaddress.ip_network(prefix, strict=False)
    return (net.version, int(net.network_address), net.prefixlen)


def local_subnets(status, mode="own_nodes", users=None):
    """The entries for Jellyfin's LocalNetworkSubnets that the tailnet contributes.

    mode tailnet: the whole ranges Tailscale assigns from (every node of the tailnet, and every
    node shared into it, counts as local).
    mode own_nodes: single addresses (/32, /128) of this node and of the peers that belong to
    the same user as this node (Self.UserID), or to one of the login names in users. Nodes
    that other tailnets share in, or that see this node because it was shared to their user
    (ShareeNode), never count. A tagged node belongs to the tailnet's "tagged-devices" user,
    so for it own_nodes means the tailnet's tagged devices unless users names a person.
    """
    if mode not in LOCAL_SUBNET_MODES:
        raise TailscaleError("tailscale_local_subnets must be one of %s, got %r"
                             % (", ".join(LOCAL_SUBNET_MODES), mode))
    if mode == "tailnet":
        return list(TAILNET_NETWORKS)
    status = _as_dict(status)
    me = _as_dict(status.get("Self"))
    if not me.get("TailscaleIPs"):
        raise TailscaleError("tailscale status shows no addresses for this node (BackendState %s); "
                             "it must be logged in before its own nodes can be listed"
                             % status.get("BackendState", "unknown"))
    owners = {str(me.get("UserID"))}
    wanted = [str(u).strip() for u in users or [] if str(u).strip()]
    if wanted:
        logins = {}
        for uid, profile in _as_dict(status.get("User")).items():
            profile = _as_dict(profile)
            login = str(profile.get("LoginName", "")).lower()
            logins[login] = str(profile.get("ID", uid))
        missing = [u for u in wanted if u.lower() not in logins]
        if missing:
            raise TailscaleError(
                "tailscale_local_subnet_users has %s, which owns no device this node can see; "
                "the login names it sees are %s. Give the login names shown in the admin console "
                "(Users), or leave the list empty." % (missing, sorted(k for k in logins if k) or "none"))
        owners |= {logins[u.lower()] for u in wanted}
    entries = set(_host_prefixes(me.get("TailscaleIPs")))
    for peer in _as_dict(status.get("Peer")).values():
        peer = _as_dict(peer)
        if peer.get("ShareeNode"):
            continue
        if str(peer.get("UserID")) in owners:
            entries.update(_host_prefixes(peer.get("TailscaleIPs")))
    return sorted(entries, key=_sort_key)


def capabilities(status):
    """The node capabilities of Self: the keys of CapMap plus the older Capabilities list."""
    me = _as_dict(_as_dict(status).get("Self"))
    caps = set(_as_dict(me.get("CapMap")))
    caps.update(str(c) for c in me.get("Capabilities") or [])
    return caps


def serve_readiness(status, funnel=False):
    """Why `tailscale serve --https` / `tailscale funnel` cannot work on this node, or ''.

    Without the https capability (HTTPS certificates are off for the tailnet, the default
    for new tailnets) the real CLI prints an enable link and then either exits 0 having
    applied nothing or waits until an admin enables the feature.
    """
    caps = capabilities(status)
    me = _as_dict(_as_dict(status).get("Self"))
    name = str(me.get("DNSName") or "this node").rstrip(".")
    if CAP_HTTPS not in caps:
        return ("Tailscale Serve needs HTTPS certificates, and they are off for this tailnet (the default for "
                "new tailnets): %s has no 'https' capability in `tailscale status --json`. In the Tailscale "
                "admin console open DNS, make sure MagicDNS is on and select 'Enable HTTPS' under HTTPS "
                "Certificates, then run the play again. Or set tailscale_serve: false and reach Jellyfin at "
                "http://<this node's 100.x address>:8096 on the tailnet." % name)
    if funnel and CAP_FUNNEL not in caps:
        return ("tailscale_funnel is true but %s has no 'funnel' attribute: Funnel must be allowed for this node "
                "in the tailnet policy file (nodeAttrs with attr \"funnel\", admin console > Access controls). "
                "Allow it, or set tailscale_funnel: false." % name)
    return ""


def serve_plan(serve_config, dns_name, port, target, serve=True, funnel=False):
    """Compare the serve configuration with the wanted one.

    serve_config is the parsed output of `tailscale serve status --json` (None for `null`).
    Returns {"ok": bool, "commands": [argv, ...]}: the tailscale commands (without any
    wrapper) that turn the current configuration into the wanted one, empty when ok.
    """
    sc = _as_dict(serve_config)
    dns_name = str(dns_name or "").rstrip(".")
    port = int(port)
    hostport = "%s:%d" % (dns_name, port)
    tcp = _as_dict(sc.get("TCP"))
    port_in_use = str(port) in tcp or port in tcp
    web = _as_dict(_as_dict(sc.get("Web")).get(hostport))
    proxy = _as_dict(_as_dict(web.get("Handlers")).get("/")).get("Proxy", "")
    current_funnel = bool(_as_dict(sc.get("AllowFunnel")).get(hostport))
    if serve:
        ok = port_in_use and proxy == target and current_funnel == bool(funnel)
    else:
        ok = not port_in_use
    commands = []
    if not ok:
        if port_in_use:
            commands.append(["tailscale", "funnel" if current_funnel else "serve", "--https=%d" % port, "off"])
        if serve:
            commands.append(["tailscale", "funnel" if funnel else "serve", "--bg", "--yes",
                             "--https=%d" % port, str(target)])
    return {"ok": ok, "commands": commands, "proxy": proxy, "funnel": current_funnel, "port_in_use": port_in_use}
