# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's findings: is remote access healthy, and what breaks soon.

Plain Python, no AnsibleModule; the filter doctor_report wraps report(). The doctor role
gathers what it reads (read-only) into one dict of facts, and report() turns it into findings,
each {"check", "status" (OK, WARN, FAIL), "detail", "fix"}, a table for a person, a Prometheus
textfile for node_exporter's textfile collector, and the play's verdict.

Facts (every key optional; a missing key means "not looked at", and gives no finding):
- record: the host record's sections (host_record_info): what the collection set up.
- jellyfin: {"answered": bool, "info": /System/Info/Public JSON, "health": /health's text,
  "settings": the jellyfin_network module's `network` result (snake_case option names),
  "path": network.xml's path}.
- units: {unit name: {"load": LoadState, "active": ActiveState}} for look()'s units;
  ddclient_ours: whether /etc/ddclient.conf carries the ddns role's marker;
  port_forward_config: whether the port_forward role's renewal file is there.
- upnp: {"mappings": [the renewal file's mappings, each with "found": what the router says
  (internal_client, internal_port, lease_remaining) or null]} or {"error": text}; absent when
  the host has no renewal file.
- certificates: [{"name", "path", "not_after" (ISO 8601, UTC) or "error"}].
- tailscale: `tailscale status --json` (BackendState, Self), with serve (what Serve publishes,
  "https://host/path -> target") and funnel (the hosts Funnel puts on the internet); or {"error": text}.
- wireguard: {"interface", "peers": [{"name", "latest_handshake" (epoch seconds, 0: never)}]}
  or {"interface", "error"}; openvpn: {"instance", "clients": [{"name", "since"}]} or
  {"instance", "error"}; fail2ban: {"jail", "banned_now", "banned_total", "banned"} or {"jail", "error"}.
- ddns: the ddns role's check (ddns_update in check mode: previous, what the record holds, and
  current, what it would be set to: the public address; hostname),
  {"failed": true, "msg"}, or {"not_checked": why}.
- observer: what the observer host saw of the public URL (files/observe.py: url, status,
  server_id, not_after, seconds, error), with "host" (its inventory name); absent without one.
- now: ISO 8601 UTC time of the look (the role passes the controller's clock).
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    OPTION_ELEMENTS,
    SECURITY_FIXES,
    SECURITY_FLOOR,
)

OK, WARN, FAIL = "OK", "WARN", "FAIL"
SEVERITY = {OK: 0, WARN: 1, FAIL: 2}
FAIL_ON = ("fail", "warn", "never")
CERT_WARN_DAYS = 21  # certbot renews from 30 days before expiry: 21 left means renewals failed for 9 days
CERT_FAIL_DAYS = 7
_FLOOR_TEXT = ".".join(str(part) for part in SECURITY_FLOOR)
_ELEMENT_OPTIONS = {element: option for option, element in OPTION_ELEMENTS.items()}

# The units each method runs (the machine names behind _site.METHOD_TABLE's "units"; a unit test
# holds them together) and the role that sets each up. A unit is expected to be active when the
# recorded method runs it, or when its role left its section in the host record (port_forward:
# its renewal file), so roles used on their own are looked at too. Only units whose unit file
# exists are checked; ddclient only when its configuration is the collection's; the proxy that
# the reverse_proxy record names, not the other one.
UNITS_BY_METHOD = {
    "port_forward": ["jellyfin-remote-upnp-renew.timer", "jellyfin-remote-firewall.service", "ddclient.service"],
    "reverse_proxy": ["jellyfin-remote-upnp-renew.timer", "jellyfin-remote-firewall.service", "ddclient.service",
                      "caddy.service", "nginx.service", "fail2ban.service"],
    "wireguard": ["jellyfin-remote-upnp-renew.timer", "jellyfin-remote-firewall.service", "ddclient.service",
                  "wg-quick@wg0.service"],
    "openvpn": ["jellyfin-remote-upnp-renew.timer", "jellyfin-remote-firewall.service", "ddclient.service",
                "openvpn-server@jellyfin.service", "jellyfin-remote-openvpn-crl-jellyfin.timer"],
    "tailscale": ["tailscaled.service"],
    "cloudflare_tunnel": ["cloudflared.service"],
    "vps_relay": ["wg-quick@wg-relay.service"],  # the home side; the relay's own units are on the VPS
}
UNIT_ROLES = {
    "jellyfin-remote-upnp-renew.timer": "port_forward", "jellyfin-remote-firewall.service": "port_forward",
    "ddclient.service": "ddns", "caddy.service": "reverse_proxy", "nginx.service": "reverse_proxy",
    "fail2ban.service": "reverse_proxy", "wg-quick@wg0.service": "wireguard",
    "openvpn-server@jellyfin.service": "openvpn", "jellyfin-remote-openvpn-crl-jellyfin.timer": "openvpn",
    "tailscaled.service": "tailscale", "cloudflared.service": "cloudflare_tunnel",
    "wg-quick@wg-relay.service": "vps_relay",
}
# Caddy's own certificates (Debian's caddy runs as caddy with this home), each named by its file.
CADDY_CERTIFICATES = "/var/lib/caddy/.local/share/caddy/certificates/*/*/*.crt"
UPNP_CONFIG = "/etc/jellyfin-remote/upnp-mappings.json"  # the port_forward role's renewal file
UPNP_LEASE_WARN_SECONDS = 600  # the renewal timer renews well before; less left means it stopped
HANDSHAKE_RECENT_SECONDS = 180  # WireGuard handshakes again every 2 minutes while a peer is in touch
# Debian's openvpn-server@.service has the server write it (--status ... --status-version 2).
OPENVPN_STATUS = "/run/openvpn-server/status-%s.log"
FAIL2BAN_JAIL_FILE = "/etc/fail2ban/jail.d/jellyfin.local"  # the reverse_proxy role's jail
FAIL2BAN_JAIL = "jellyfin"


class DoctorError(ValueError):
    """Bad input for the report; the message names what is wrong."""


def finding(check, status, detail, fix=""):
    return {"check": check, "status": status, "detail": detail, "fix": fix}


def _version(text):
    match = re.match(r"^\s*v?(\d+)\.(\d+)\.(\d+)", str(text or ""))
    return tuple(int(x) for x in match.groups()) if match else None


def _parse_time(text):
    text = str(text).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def jellyfin(facts):
    """Health, version against the security floor, setup wizard, remote access."""
    j = facts.get("jellyfin")
    if j is None:
        return []
    if not j.get("answered"):
        return [finding("jellyfin", FAIL, "Jellyfin did not answer at %s" % j.get("url", "its local address"),
                        "Start it (systemctl start jellyfin) and read its log (journalctl -u jellyfin).")]
    out = []
    health = str(j.get("health") or "").strip()
    out.append(finding("jellyfin health", OK if health == "Healthy" else FAIL, "/health says %r" % (health or None),
                       "" if health == "Healthy" else "Read Jellyfin's log (journalctl -u jellyfin)."))
    info = j.get("info") or {}
    version = _version(info.get("Version"))
    if version is None:
        out.append(finding("jellyfin version", WARN, "version unreadable (%r)" % info.get("Version"),
                           "Check /System/Info/Public by hand."))
    elif version < SECURITY_FLOOR:
        out.append(finding("jellyfin version", FAIL, "Jellyfin %s is older than %s, which fixes %s" % (
            info.get("Version"), _FLOOR_TEXT, SECURITY_FIXES), "Update Jellyfin to %s or later." % _FLOOR_TEXT))
    else:
        out.append(finding("jellyfin version", OK, "Jellyfin %s (security floor %s)" % (info.get("Version"), _FLOOR_TEXT)))
    if info.get("StartupWizardCompleted") is False:
        out.append(finding("jellyfin setup wizard", FAIL, "the setup wizard is not finished: anyone who reaches "
                           "Jellyfin can finish it and own the server", "Finish the wizard from the LAN now."))
    remote = (j.get("settings") or {}).get("enable_remote_access")
    if remote is False and (facts.get("record") or {}).get("site", {}).get("method"):
        out.append(finding("jellyfin remote access", FAIL, "EnableRemoteAccess is off: Jellyfin answers remote "
                           "clients with 503", "Turn on Dashboard > Networking > Allow remote connections."))
    return out


def jellyfin_settings(facts):
    """KnownProxies, LocalNetworkSubnets, BaseUrl, ...: what the collection set, still there?"""
    j = facts.get("jellyfin") or {}
    settings = j.get("settings")
    files = ((facts.get("record") or {}).get("jellyfin_network") or {}).get("files") or {}
    if not settings or not files:
        return []
    recorded = files.get(j.get("path")) or (next(iter(files.values())) if len(files) == 1 else {})
    lost = []
    for element, entry in sorted((recorded.get("settings") or {}).items()):
        option = _ELEMENT_OPTIONS.get(element)
        if option is None or option not in settings or option == "certificate_password":
            continue
        current = settings[option]
        if "added" in entry:
            have = {str(v).strip() for v in current or []}
            missing = [v for v in entry.get("added") or [] if str(v).strip() not in have]
            back = [v for v in entry.get("removed") or [] if str(v).strip() in have]
            if missing:
                lost.append("%s lacks %s" % (element, ", ".join(missing)))
            if back:
                lost.append("%s holds %s again" % (element, ", ".join(back)))
        elif "set" in entry and current != entry["set"]:
            lost.append("%s is %r, the collection set %r" % (element, current, entry["set"]))
    if lost:
        return [finding("jellyfin settings", FAIL, "; ".join(lost) + " (a Jellyfin update, a settings reset or a "
                        "hand edit)", "Run the site playbook again; it writes them back.")]
    return [finding("jellyfin settings", OK, "what the collection set in network.xml is still there")]


def look(record):
    """What the probe looks at: every unit a method of the collection runs (which of them must be
    active is decided from the facts), the certificates the host record names (each certbot
    lineage's cert.pem) and those in Caddy's storage, the port_forward role's renewal file (its router mappings), the tailnet
    when the method is tailscale, and what the record says the VPN roles and the reverse proxy's
    fail2ban set up (the WireGuard interface and client keys, the OpenVPN instance, the jail)."""
    record = record or {}
    lineages = (record.get("certbot") or {}).get("lineages") or {}
    wireguard = record.get("wireguard") or {}
    openvpn = record.get("openvpn") or {}
    proxy_files = (record.get("reverse_proxy") or {}).get("files") or []
    return {"units": sorted(UNIT_ROLES),
            "certificates": [{"name": name, "path": "/etc/letsencrypt/live/%s/cert.pem" % name} for name in sorted(lineages)],
            "certificate_globs": [CADDY_CERTIFICATES],
            "upnp_config": UPNP_CONFIG,
            "tailscale": (record.get("site") or {}).get("method") == "tailscale",
            "wireguard": {"interface": wireguard["interface"], "clients_dir": wireguard.get("clients_dir", "")}
            if wireguard.get("interface") else None,
            "openvpn": {"instance": openvpn["instance"], "status_file": OPENVPN_STATUS % openvpn["instance"]}
            if openvpn.get("instance") else None,
            "fail2ban_jail": FAIL2BAN_JAIL if FAIL2BAN_JAIL_FILE in proxy_files else None}


def _expected_units(facts):
    record = facts.get("record") or {}
    method = (record.get("site") or {}).get("method")
    roles = set(record) | ({"port_forward"} if facts.get("port_forward_config") else set())
    expected = [u for u in UNIT_ROLES if u in UNITS_BY_METHOD.get(method, ()) or UNIT_ROLES[u] in roles]
    proxy = (record.get("reverse_proxy") or {}).get("server")
    if proxy in ("caddy", "nginx"):
        expected = [u for u in expected if u not in ("caddy.service", "nginx.service") or u == proxy + ".service"]
    return expected


def unit_states(facts):
    """Each expected unit that exists on the host must be active (a timer: active waiting).
    facts["units"]: {unit: {"load": LoadState, "active": ActiveState}}; facts["ddclient_ours"]:
    whether /etc/ddclient.conf is the collection's; facts["port_forward_config"]: whether the
    port_forward role's renewal file is there."""
    states = facts.get("units")
    if states is None:
        return []
    out = []
    for unit in _expected_units(facts):
        state = states.get(unit) or {}
        if state.get("load") != "loaded" or (unit == "ddclient.service" and not facts.get("ddclient_ours")):
            continue
        active = state.get("active")
        out.append(finding("unit %s" % unit, OK if active == "active" else FAIL, "%s is %s" % (unit, active),
                           "" if active == "active" else "systemctl start %s; journalctl -u %s says why it stopped."
                           % (unit, unit)))
    return out


def upnp(facts):
    """The router mappings the port_forward role keeps (its renewal file) against what the router
    says now: each present and pointing at this host, with lease left."""
    look = facts.get("upnp")
    if not look:
        return []
    if look.get("error"):
        return [finding("router mappings", FAIL, "the router did not answer over UPnP: %s" % look["error"],
                        "Check that UPnP is on in the router; the mappings lapse with their lease.")]
    out = []
    for m in look.get("mappings") or []:
        name = "router mapping %s %s" % (m["protocol"].lower(), m["external_port"])
        got = m.get("found")
        if not got:
            out.append(finding(name, FAIL, "the router has no mapping of %s %s" % (m["protocol"].upper(), m["external_port"]),
                               "systemctl start jellyfin-remote-upnp-renew.service adds it again; if it fails, run "
                               "the site playbook (or the router dropped UPnP)."))
        elif got.get("internal_client") != m["internal_client"] or int(got.get("internal_port", 0)) != int(m["internal_port"]):
            out.append(finding(name, FAIL, "the router sends %s %s to %s:%s, not to %s:%s" % (
                m["protocol"].upper(), m["external_port"], got.get("internal_client"), got.get("internal_port"),
                m["internal_client"], m["internal_port"]), "Another device took the port: free it in the router."))
        else:
            lease = int(got.get("lease_remaining") or 0)
            status = WARN if 0 < lease < UPNP_LEASE_WARN_SECONDS else OK
            out.append(finding(name, status, "%s %s -> %s:%s, %s" % (
                m["protocol"].upper(), m["external_port"], m["internal_client"], m["internal_port"],
                "permanent" if lease == 0 else "lease %d s left" % lease),
                "" if status == OK else "The renewal timer should have renewed it: systemctl status "
                "jellyfin-remote-upnp-renew.timer"))
    return out


def _days_left(cert, now):
    return round((_parse_time(cert["not_after"]) - now).total_seconds() / 86400, 2)


def _now(facts):
    return _parse_time(facts.get("now") or datetime.datetime.now(datetime.timezone.utc).isoformat())


def certificates(facts):
    certs = facts.get("certificates")
    if not certs:
        return []
    now = _now(facts)
    out = []
    for cert in certs:
        name = "certificate %s" % cert.get("name", cert.get("path"))
        if cert.get("error"):
            out.append(finding(name, FAIL, "%s: %s" % (cert.get("path"), cert["error"]), "Run the site playbook again."))
            continue
        left = _days_left(cert, now)
        if left < CERT_FAIL_DAYS:
            status = FAIL
        elif left < CERT_WARN_DAYS:
            status = WARN
        else:
            status = OK
        out.append(finding(name, status, "%s expires in %.1f days (%s)" % (cert.get("path"), left, cert["not_after"]),
                           "" if status == OK else "Renewals are failing: certbot renew --dry-run (or the proxy's log) "
                           "says why."))
    return out


def tailscale(facts):
    status = facts.get("tailscale")
    if status is None or ((facts.get("record") or {}).get("site") or {}).get("method") != "tailscale":
        return []
    if status.get("error"):
        return [finding("tailscale", FAIL, "tailscale status failed: %s" % status["error"], "systemctl status tailscaled")]
    state = status.get("BackendState")
    if state == "Running":
        serve = status.get("serve") or []
        funnel = status.get("funnel") or []
        return [finding("tailscale", OK, "the node is logged in and running; %s%s" % (
            "Serve publishes " + ", ".join(serve) if serve else "Serve publishes nothing (the tailnet reaches "
            "Jellyfin at the node's address)", "; Funnel puts %s on the internet" % ", ".join(funnel) if funnel else ""))]
    return [finding("tailscale", FAIL, "BackendState is %s: the tailnet cannot reach Jellyfin" % state,
                    "Log the node in again (tailscale up with a new auth key: run the site playbook with one).")]


def ddns(facts):
    """The DDNS record against the public address (the ddns role's check: ddns_update in check mode)."""
    look = facts.get("ddns")
    if not look:
        return []
    name = "ddns record %s" % (look.get("hostname") or ((facts.get("record") or {}).get("ddns") or {}).get("hostname", ""))
    if look.get("not_checked"):
        return [finding(name.strip(), WARN, "not checked: %s" % look["not_checked"],
                        "Run the doctor with the inventory that holds the ddns settings.")]
    if look.get("failed"):
        return [finding(name, FAIL, "the provider could not be asked: %s" % look.get("msg", "?"),
                        "Check the provider's credentials and reachability (the ddns role's settings).")]
    previous, current = look.get("previous") or {}, look.get("current") or {}
    # current: what the record would be set to (the public address); previous: what it holds.
    differs = [t for t in sorted(current) if previous.get(t) != current.get(t)]
    if differs:
        return [finding(name, FAIL, ", ".join("%s is %s, the public address is %s" % (
            t, previous.get(t) or "missing", current.get(t)) for t in differs),
            "ddclient should have updated it: systemctl status ddclient, or run the site playbook.")]
    return [finding(name, OK, ", ".join("%s %s" % (t, v) for t, v in sorted(current.items()) if v)
                    + " (the public address)")]


def _ago(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return "%d s ago" % seconds
    if seconds < 7200:
        return "%d min ago" % (seconds // 60)
    if seconds < 172800:
        return "%d h ago" % (seconds // 3600)
    return "%d days ago" % (seconds // 86400)


def wireguard(facts):
    """The interface answers, and when each peer was last in touch (information: a phone that
    is off is not a fault)."""
    wg = facts.get("wireguard")
    if not wg:
        return []
    name = "wireguard %s" % wg.get("interface", "")
    if wg.get("error"):
        return [finding(name, FAIL, "wg show failed: %s" % wg["error"], "systemctl status wg-quick@%s; journalctl -u "
                        "wg-quick@%s says why it is down." % (wg.get("interface"), wg.get("interface")))]
    peers = wg.get("peers") or []
    if not peers:
        return [finding(name, WARN, "the interface has no peer", "Add peers (wireguard_peers) and run the site playbook.")]
    now = _now(facts).timestamp()
    parts = []
    recent = 0
    for peer in peers:
        seen = int(peer.get("latest_handshake") or 0)
        if not seen:
            parts.append("%s never connected" % peer["name"])
            continue
        ago = max(0, now - seen)
        in_touch = ago <= HANDSHAKE_RECENT_SECONDS
        recent += in_touch
        parts.append("%s %s %s" % (peer["name"], "in touch," if in_touch else "last seen", _ago(ago)))
    return [finding(name, OK, "%d of %d peers in touch in the last %d min: %s" % (
        recent, len(peers), HANDSHAKE_RECENT_SECONDS // 60, "; ".join(parts)))]


def openvpn(facts):
    """The clients connected now (information), from the server's status file."""
    ovpn = facts.get("openvpn")
    if not ovpn:
        return []
    name = "openvpn %s" % ovpn.get("instance", "")
    if ovpn.get("error"):
        return [finding(name, WARN, "no client list: %s" % ovpn["error"], "systemctl status openvpn-server@%s "
                        "(the server writes the list once it runs)." % ovpn.get("instance"))]
    clients = ovpn.get("clients") or []
    return [finding(name, OK, "%d client%s connected%s" % (len(clients), "" if len(clients) == 1 else "s", (
        ": " + ", ".join("%s (since %s)" % (c["name"], c["since"]) for c in clients)) if clients else ""))]


def fail2ban(facts):
    """The reverse proxy's jail runs; who is banned now."""
    jail = facts.get("fail2ban")
    if not jail:
        return []
    name = "fail2ban jail %s" % jail.get("jail", "")
    if jail.get("error"):
        return [finding(name, FAIL, "the jail is not running: %s" % jail["error"],
                        "fail2ban-client -t says what is wrong; then systemctl restart fail2ban.")]
    shown = jail.get("banned") or []
    return [finding(name, OK, "%d address%s banned now, %d since fail2ban started%s" % (
        jail["banned_now"], "" if jail["banned_now"] == 1 else "es", jail["banned_total"],
        (": " + ", ".join(shown[:5]) + (" and %d more" % (len(shown) - 5) if len(shown) > 5 else "")) if shown else ""))]


def public_url(record):
    """The URL viewers use, from the host record's site section, for the methods that publish
    one (None for the VPNs and tailscale: nothing public to fetch)."""
    site = (record or {}).get("site") or {}
    method, domain = site.get("method"), site.get("domain") or ""
    if method in ("reverse_proxy", "cloudflare_tunnel"):
        return "https://%s/" % domain if domain else None
    if method == "port_forward":
        host = site.get("ddns_hostname") or domain
        ports = [p["port"] for p in site.get("ports") or [] if p.get("protocol") == "tcp" and p.get("port") != 80]
        if not host or not ports:
            return None
        return "%s://%s:%d/" % ("https" if site.get("https") else "http", host, ports[-1])
    return None


def observer(facts):
    """The public URL fetched from a host outside the home: it answers, it is this Jellyfin,
    and its certificate verifies there with days to spare."""
    seen = facts.get("observer")
    if not seen:
        return []
    name = "from outside (%s)" % seen.get("host", "observer")
    info = ((facts.get("jellyfin") or {}).get("info") or {})
    if seen.get("error") and seen.get("status") is None:
        return [finding(name, FAIL, "%s: %s" % (seen.get("url"), seen["error"]),
                        "Viewers cannot reach Jellyfin: check the method's ports, DNS and certificate from outside.")]
    if seen.get("status") != 200:
        return [finding(name, FAIL, "%s answered HTTP %s" % (seen.get("url"), seen.get("status")),
                        "Read the proxy's or Jellyfin's log for that request.")]
    if info.get("Id") and seen.get("server_id") != info.get("Id"):
        return [finding(name, FAIL, "%s is answered by another server (Id %s, this Jellyfin is %s)" % (
            seen.get("url"), seen.get("server_id"), info.get("Id")),
            "The name or the router points elsewhere: check the DNS record and the port forward.")]
    detail = "%s answered 200 in %.2f s, from this Jellyfin" % (seen.get("url"), seen.get("seconds") or 0)
    status = OK
    if seen.get("not_after"):
        left = _days_left({"not_after": seen["not_after"]}, _now(facts))
        detail += "; its certificate verifies there and expires in %.1f days" % left
        status = FAIL if left < CERT_FAIL_DAYS else WARN if left < CERT_WARN_DAYS else OK
    return [finding(name, status, detail, "" if status == OK else "Renewals are failing: the certificate viewers "
                    "get is close to its end.")]


CHECKS = (jellyfin, jellyfin_settings, unit_states, upnp, ddns, certificates, tailscale, wireguard, openvpn, fail2ban,
          observer)


PROBE_KEYS = ("units", "ddclient_ours", "upnp", "certificates", "tailscale", "wireguard", "openvpn", "fail2ban")


def gathered(facts):
    """facts with the probe's output (files/probe.py, under "probe") spread into its keys, as
    both the role and the host timer's runner hand them over."""
    if "probe" not in facts:
        return facts
    out = {k: v for k, v in facts.items() if k != "probe"}
    probe = facts["probe"] or {}
    out.update({key: probe[key] for key in PROBE_KEYS if key in probe})
    out["port_forward_config"] = probe.get("upnp") is not None
    return out


def report(facts, fail_on="fail"):
    """Every finding, the table, the textfile, and whether the play should fail. facts may hold
    the probe's output whole, under "probe" (gathered())."""
    if fail_on not in FAIL_ON:
        raise DoctorError("doctor_fail_on must be one of %s; got %r" % (", ".join(FAIL_ON), fail_on))
    facts = gathered(facts)
    findings = [f for check in CHECKS for f in check(facts)]
    worst = max((SEVERITY[f["status"]] for f in findings), default=0)
    failed = (fail_on == "fail" and worst >= 2) or (fail_on == "warn" and worst >= 1)
    counts = {s: sum(1 for f in findings if f["status"] == s) for s in SEVERITY}
    return {"findings": findings, "counts": counts, "status": [OK, WARN, FAIL][worst], "failed": failed,
            "table": table(findings), "textfile": textfile(findings, facts)}


def table(findings):
    """Aligned lines: status, check, what was found, and what to do."""
    if not findings:
        return ["nothing to check: the host record names nothing the collection set up"]
    width = max(len(f["check"]) for f in findings)
    lines = []
    for f in findings:
        lines.append("%-4s  %-*s  %s" % (f["status"], width, f["check"], f["detail"]))
        if f["fix"]:
            lines.append("%-4s  %-*s  -> %s" % ("", width, "", f["fix"]))
    return lines


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def textfile(findings, facts):
    """Prometheus text format: one gauge per check (0 OK, 1 WARN, 2 FAIL), days left per certificate."""
    lines = ["# HELP jellyfin_remote_doctor_check Result of a homelab.jellyfin_remote doctor check (0 OK, 1 WARN, 2 FAIL).",
             "# TYPE jellyfin_remote_doctor_check gauge"]
    for f in findings:
        lines.append('jellyfin_remote_doctor_check{check="%s"} %d' % (_label(f["check"]), SEVERITY[f["status"]]))
    certs = [c for c in facts.get("certificates") or [] if c.get("not_after")]
    if certs:
        now = _now(facts)
        lines += ["# HELP jellyfin_remote_certificate_days_left Days until the certificate expires.",
                  "# TYPE jellyfin_remote_certificate_days_left gauge"]
        for cert in certs:
            lines.append('jellyfin_remote_certificate_days_left{name="%s",path="%s"} %s' % (
                _label(cert.get("name", "")), _label(cert.get("path", "")), _days_left(cert, now)))
    return "\n".join(lines) + "\n"
