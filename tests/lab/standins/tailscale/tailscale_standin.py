#!/usr/bin/python3
"""Stand-in for Tailscale's `tailscale` CLI and `tailscaled` daemon, for the test lab.

Python 3.11 stdlib only. Tailscale cannot be installed on the lab machines (no reachable
package source), so the lab installs this one file twice, as /usr/bin/tailscale and
/usr/sbin/tailscaled; it acts as the daemon when called by the name `tailscaled`. The
behaviour was re-implemented from a reading of Tailscale's source (table below); no upstream
code or text was copied. The verify tests only use what the real programs also offer (flags,
exit codes, `tailscale status --json`, `tailscale serve status --json`), plus the stand-in
extras named below, so the same checks can be pointed at a real node.

Modelled behaviour, and where it was read (tailscale/tailscale, tag v1.102.3 unless noted)
  | behaviour                                                     | upstream file                                |
  |---------------------------------------------------------------|----------------------------------------------|
  | up/down/logout/status/ip/version flags, Go flag syntax,       | cmd/tailscale/cli/up.go, cli.go, status.go,  |
  | --authkey rewritten to --auth-key, file: keys, --reset rule   | down.go, logout.go                           |
  | tags: "tag:" may be left out and is added (since v1.98.0);    | cmd/tailscale/cli/up.go (prefsFromUpArgs),   |
  | CheckTag's errors (prefix, empty, first letter, characters)   | tailcfg/tailcfg.go (CheckTag)                |
  | BackendState after tailscaled starts: NoState until the       | ipn/ipnlocal/local.go (nextStateLocked),     |
  | control server answers (for ever when it cannot be reached),  | ipn/backend.go (State values)                |
  | then Starting for a logged-in node, then Running; a           |                                              |
  | logged-out node goes NoState -> NeedsLogin; no addresses or   |                                              |
  | name in status before the network map                        |                                              |
  | status --json shape: Self, Peer (UserID, TailscaleIPs, Tags,  | ipn/ipnstate/ipnstate.go (Status,            |
  | ShareeNode, AltSharerUserID), User (LoginName), CertDomains,  | PeerStatus), ipn/ipnlocal/local.go           |
  | Self.CapMap and the deprecated Self.Capabilities list         | (populatePeerStatusLocked, Self's CapMap)    |
  | a tagged node's UserID is the tailnet's "tagged-devices" user | tailcfg/tailcfg.go (Node.User comment),      |
  |                                                               | cmd/pgproxy/pgproxy.go (tagged-devices)      |
  | serve/funnel --https on a tailnet without HTTPS certificates  | cmd/tailscale/cli/serve_v2.go                |
  | (no "https" capability): prints where an admin enables them,  | (runServeCombined), serve_legacy.go          |
  | then exits 0 having applied nothing, or blocks until the      | (enableFeatureInteractive), funnel.go        |
  | capability appears ("Success."); funnel checks first, even    | (verifyFunnelEnabled), tailcfg/tailcfg.go    |
  | for `off`; funnel ports 443/8443/10000, "funnel" attribute    | (CapabilityHTTPS, NodeAttrFunnel)            |
  | `serve status --json` prints null with no config (also after  | ipn/localapi/serve.go, cmd/tailscale/cli/    |
  | logout, which deletes the profile), {} after the last `off`   | serve_legacy.go (runServeStatus),            |
  |                                                               | ipn/ipnlocal/local.go (Logout)               |
  | ServeConfig JSON: TCP, Web[host:port].Handlers[path].Proxy,   | ipn/serve.go                                 |
  | AllowFunnel                                                   |                                              |

Implemented
  * tailscaled: the flags of the Linux daemon (--state, --statedir, --socket, --port, --tun,
    --verbose, --cleanup, --debug, --socks5-server, --outbound-http-proxy-listen,
    --no-logs-no-support, --bird-socket, --config, --encrypt-state, --hardware-attestation,
    --version) parsed like Go's flag package (one or two dashes, -f=v or -f v); an unknown
    flag prints "flag provided but not defined: -NAME" and the usage on stderr, exit 2.
    `--cleanup` exits 0 at once (the unit's ExecStopPost). The daemon serves a small HTTP
    API on the unix socket (paths named after the real LocalAPI: /localapi/v0/status,
    prefs, start, logout, serve-config; the bodies are the stand-in's own), keeps its state
    as JSON in the --state file (0600), and tells systemd READY=1 (Type=notify).
  * The simulated tailnet (what the coordination server would say) comes from a JSON file,
    /etc/tailscale-standin/tailnet.json (TAILSCALE_STANDIN_TAILNET_FILE overrides), re-read
    on every request: "https" on | off-exit | off-wait (default off-exit: HTTPS certificates
    are off for a new tailnet), "funnel" (the policy grants the attribute), "control"
    reachable | unreachable, "settle_seconds" (NoState then Starting after start, default
    1.0), the owner's and the tagged-devices user IDs, "users" and "peers".
    TAILSCALE_STANDIN_FUNNEL=0 in tailscaled's environment also withholds Funnel.
  * tailscale: root flag --socket; subcommands up, down, logout, status, ip, version, serve,
    funnel with the real flag sets (Linux). Go flag syntax, --authkey rewritten to
    --auth-key as the real CLI does, a flag given twice is an error, unknown flags exit 2
    with "flag provided but not defined: -NAME" plus usage on stderr; unknown subcommands
    "tailscale: unknown subcommand: NAME", exit 1. When tailscaled is not running:
    "failed to connect to local tailscaled; it doesn't appear to be running ...", exit 1.
  * up: --auth-key (literal or file:/path, trimmed), OAuth client secrets (tskey-client-...,
    which need --advertise-tags), --reset, --force-reauth, --timeout, --hostname,
    --advertise-tags, --advertise-routes (CIDRs), --advertise-exit-node, --exit-node (IP or
    auto:any; not checked against peers), --exit-node-allow-lan-access (needs --exit-node),
    --accept-dns, --accept-routes, --login-server, --shields-up, --ssh, --netfilter-mode,
    --operator, --snat-subnet-routes, --stateful-filtering. Without --reset, a run that would
    silently revert a non-default setting fails with the real CLI's "requires mentioning all
    non-default flags" error. A logged-out node without a key prints an auth URL and waits
    for --timeout (forever without it), then fails as the real CLI does. Keys containing
    "invalid" or "revoked" are refused by the simulated control server ("backend error:
    invalid key: ...").
  * status --json in the real shape (Version, TUN, BackendState NoState / Starting /
    NeedsLogin / Running / Stopped, HaveNodeKey, AuthURL, TailscaleIPs, Self{ID, PublicKey,
    HostName, DNSName, OS, UserID, TailscaleIPs, AllowedIPs, Tags, CapMap, Capabilities,
    Online, ...}, Health, MagicDNSSuffix, CurrentTailnet, CertDomains (only with HTTPS on),
    Peer, User, ClientVersion); plain `status` prints one line. Addresses are stable per
    state file: 100.64.0.0/10 and fd7a:115c:a1e0::/48.
  * serve / funnel: --bg, --https, --http (serve only), --tcp, --tls-terminated-tcp,
    --set-path, --service, --yes, --tun; targets as port, host:port or URL; "off";
    `status [--json]` prints the ServeConfig JSON (TCP, Web, AllowFunnel) or null; `reset`.
  * logout (ends the session, drops serve config and prefs), down (Stopped), ip [-4|-6|-1],
    version [--json].
  * Stand-in extras for tests: every invocation of either program is appended as one JSON
    line to /var/log/tailscale-standin/invocations.jsonl (TAILSCALE_STANDIN_LOG overrides):
    argv with any key value masked, the NAMES of the environment variables (never values),
    uid, exit code, and `secret_in_argv` (true when an auth key, OAuth secret or ID token
    value, rather than a file: reference, was on the command line). The daemon adds a
    `login` event with the first 16 hex digits of the key's SHA-256, so a test can tell
    which key a login used without the key being stored.

Not implemented (not modelled)
  No networking at all: no WireGuard, no tun device, no DERP, no MagicDNS, no control server
  (logins are simulated locally and always succeed for a well-formed key), no HTTPS
  certificates and no listener behind `serve`/`funnel` (the config is stored and reported,
  nothing is served). Peers exist only as status entries from the tailnet file (never
  reachable, never changing on their own). The text and link `serve` prints without HTTPS
  come from the control server in the real program: the stand-in's wording is its own, and
  the first entry of Self.Capabilities (a deprecation marker in the real output) is the
  stand-in's own marker. The Funnel enable flow when HTTPS is on but the funnel attribute is
  missing is approximated by the older CheckFunnelAccess error. Not implemented subcommands
  (set, get, login, switch, netcheck, ping, cert, ssh, lock, file, web, debug, ...) exit 1
  with a message that says so. Interactive login, QR codes, device approval
  (NeedsMachineAuth), tailnet lock, key expiry, profiles, Taildrive, the real LocalAPI
  bodies and the real state file format (the stand-in's state file is its own JSON) are not
  modelled. Messages that the real programs print in several variants are approximated.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import ipaddress
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import uuid

VERSION = "1.102.3"
DEFAULT_SOCKET = "/run/tailscale/tailscaled.sock"
DEFAULT_STATE = "/var/lib/tailscale/tailscaled.state"
DEFAULT_LOG = "/var/log/tailscale-standin/invocations.jsonl"
DEFAULT_CONTROL = "https://controlplane.tailscale.com"
DEFAULT_TAILNET_FILE = "/etc/tailscale-standin/tailnet.json"
# The simulated tailnet when no tailnet file says otherwise: like a new tailnet, HTTPS
# certificates are off (and `serve` then prints the enable link and exits 0).
TAILNET_DEFAULTS = {
    "https": "off-exit",        # on | off-exit | off-wait
    "funnel": True,             # the policy file grants the funnel attribute (needs https on)
    "control": "reachable",     # reachable | unreachable (a logged-in node stays in NoState)
    "settle_seconds": 1.0,      # NoState, then Starting, for this long after tailscaled starts
    "owner_user_id": 123456789,
    "owner_login": "lab@example.test",
    "tagged_user_id": 987654321,
    "users": {},                # more user IDs -> login names, for peers
    "peers": [],                # [{HostName, UserID, TailscaleIPs, Tags, ShareeNode, AltSharerUserID}]
}
KEY_RE = re.compile(r"tskey-[A-Za-z0-9-]+")
NOT_IMPLEMENTED = {
    "set", "get", "login", "switch", "configure", "syspolicy", "netcheck", "dns", "metrics",
    "ping", "nc", "ssh", "web", "file", "bugreport", "cert", "lock", "licenses", "exit-node",
    "update", "whois", "whoami", "debug", "drive", "id-token", "configure-host", "systray",
    "appc-routes", "wait",
}


class UsageError(Exception):
    """A flag error: printed with the usage, exit 2 (Go flag.ExitOnError)."""


# --------------------------------------------------------------------------- logging


def _mask(arg):
    return KEY_RE.sub(lambda m: "tskey-" + "X" * (len(m.group(0)) - 6), arg)


def _secret_in_argv(argv):
    secret_flags = ("auth-key", "authkey", "client-secret", "id-token")
    expect_value = False
    for arg in argv:
        if KEY_RE.search(arg):
            return True
        if expect_value:
            if not arg.startswith("file:") and arg:
                return True
            expect_value = False
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name in secret_flags:
            if eq:
                if value and not value.startswith("file:"):
                    return True
            else:
                expect_value = True
    return False


def log_event(record):
    path = os.environ.get("TAILSCALE_STANDIN_LOG", DEFAULT_LOG)
    record = dict(record, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), pid=os.getpid())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError:
        pass


def key_fingerprint(key):
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- Go-style flags


class FlagSet:
    """Go's flag package, as far as the CLI uses it."""

    def __init__(self, name, usage):
        self.name = name
        self.usage = usage
        self.flags = {}  # name -> (kind, default, help)
        self.values = {}
        self.visited = []

    def add(self, name, kind, default, text=""):
        self.flags[name] = (kind, default, text)
        self.values[name] = default

    def _set(self, name, raw):
        kind = self.flags[name][0]
        if name in self.visited:
            raise UsageError('invalid value "%s" for flag -%s: flag provided multiple times' % (_mask(raw), name))
        if kind == "bool":
            if raw.lower() in ("1", "t", "true"):
                value = True
            elif raw.lower() in ("0", "f", "false"):
                value = False
            else:
                raise UsageError('invalid boolean value "%s" for -%s: parse error' % (raw, name))
        elif kind == "uint":
            if not raw.isdigit():
                raise UsageError('invalid value "%s" for flag -%s: parse error' % (raw, name))
            value = int(raw)
        elif kind == "duration":
            value = parse_duration(raw)
            if value is None:
                raise UsageError('invalid value "%s" for flag -%s: parse error' % (raw, name))
        else:
            value = raw
        self.values[name] = value
        self.visited.append(name)

    def parse(self, args):
        args = list(args)
        while args:
            arg = args[0]
            if len(arg) < 2 or not arg.startswith("-"):
                break
            args.pop(0)
            if arg == "--":
                break
            body = arg[2:] if arg.startswith("--") else arg[1:]
            if not body or body.startswith("-") or body.startswith("="):
                raise UsageError("bad flag syntax: %s" % arg)
            name, eq, value = body.partition("=")
            if name in ("h", "help"):
                raise HelpRequested()
            if name not in self.flags:
                raise UsageError("flag provided but not defined: -%s" % name)
            if self.flags[name][0] == "bool":
                self._set(name, value if eq else "true")
            else:
                if not eq:
                    if not args:
                        raise UsageError("flag needs an argument: -%s" % name)
                    value = args.pop(0)
                self._set(name, value)
        return args

    def usage_text(self):
        lines = ["USAGE", "  " + self.usage, ""]
        if self.flags:
            lines.append("FLAGS")
            for name, (kind, default, text) in self.flags.items():
                lines.append("  --%s%s" % (name, ", --%s=false" % name if kind == "bool" else " " + kind))
                if text:
                    lines.append("    \t%s" % text)
        return "\n".join(lines)


class HelpRequested(Exception):
    pass


def parse_duration(raw):
    if raw in ("0", ""):
        return 0.0
    total = 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    pos = 0
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", raw):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    return total if pos == len(raw) and pos else None


# --------------------------------------------------------------------------- daemon


def default_prefs():
    return {
        "ControlURL": DEFAULT_CONTROL, "RouteAll": False, "CorpDNS": True, "ExitNodeIP": "",
        "AutoExitNode": "", "ExitNodeAllowLANAccess": False, "ShieldsUp": False, "RunSSH": False,
        "AdvertiseRoutes": [], "AdvertiseTags": [], "Hostname": "", "OperatorUser": "",
        "NoSNAT": False, "NoStatefulFiltering": True, "NetfilterMode": "on", "WantRunning": False,
        "LoggedOut": True,
    }


class Daemon:
    def __init__(self, state_path):
        self.state_path = state_path
        self.lock = threading.Lock()
        self.state = self._load()
        self.started = time.monotonic()

    def _load(self):
        try:
            with open(self.state_path, encoding="utf-8") as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            state = {}
        state.setdefault("prefs", default_prefs())
        state.setdefault("logged_in", False)
        state.setdefault("serve_config", None)
        state.setdefault("login_count", 0)
        state.setdefault("machine_seed", uuid.uuid4().hex)
        return state

    def save(self):
        directory = os.path.dirname(self.state_path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = self.state_path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.state, handle, indent=2, sort_keys=True)
        os.replace(tmp, self.state_path)

    # -- the simulated control server's view of the tailnet (re-read on every request)
    def tailnet_settings(self):
        settings = dict(TAILNET_DEFAULTS)
        try:
            with open(os.environ.get("TAILSCALE_STANDIN_TAILNET_FILE", DEFAULT_TAILNET_FILE), encoding="utf-8") as handle:
                settings.update(json.load(handle))
        except (OSError, ValueError):
            pass
        if os.environ.get("TAILSCALE_STANDIN_FUNNEL") == "0":
            settings["funnel"] = False
        return settings

    def capabilities(self):
        """Self's node capabilities: https when the tailnet has HTTPS certificates on, funnel
        when the policy file grants the attribute (and only with https)."""
        settings = self.tailnet_settings()
        caps = []
        if settings.get("https") == "on":
            caps.append("https")
            if settings.get("funnel", True):
                caps.append("funnel")
        return caps

    # -- derived values
    def tailnet(self):
        return os.environ.get("TAILSCALE_STANDIN_TAILNET", "tail0a1b2c.ts.net")

    def user_id(self):
        """A tagged node belongs to the tailnet's tagged-devices user, not to the person who added it."""
        settings = self.tailnet_settings()
        return settings["tagged_user_id"] if self.state["prefs"].get("AdvertiseTags") else settings["owner_user_id"]

    def hostname(self):
        name = self.state["prefs"].get("Hostname") or socket.gethostname()
        return name

    def dns_name(self):
        label = re.sub(r"[^a-z0-9-]", "-", self.hostname().lower()).strip("-") or "node"
        return "%s.%s." % (label, self.tailnet())

    def addresses(self):
        seed = hashlib.sha256(self.state["machine_seed"].encode()).digest()
        v4 = ipaddress.IPv4Address((100 << 24) | (64 << 16) | ((seed[0] & 0x3F) << 16) | (seed[1] << 8) | max(seed[2], 1))
        v6 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("fd7a:115c:a1e0::")) | int.from_bytes(seed[3:7], "big"))
        return [str(v4), str(v6)]

    def settled_state(self):
        if not self.state["logged_in"]:
            return "NeedsLogin"
        return "Running" if self.state["prefs"]["WantRunning"] else "Stopped"

    def backend_state(self):
        """NoState until the first answer of the control server (for ever while it cannot be
        reached), then Starting for a logged-in node until it has a path to its peers."""
        settled = self.settled_state()
        if settled == "Stopped":
            return settled
        settings = self.tailnet_settings()
        if settings.get("control") == "unreachable":
            return "NoState"
        elapsed = time.monotonic() - self.started
        window = float(settings.get("settle_seconds", 1.0))
        if elapsed < window / 2:
            return "NoState"
        if elapsed < window and settled == "Running":
            return "Starting"
        return settled

    def has_netmap(self):
        return self.state["logged_in"] and self.backend_state() != "NoState"

    def status(self):
        # Before the control server's first answer (NoState) there is no network map: no
        # addresses, no name, no peers, as on a real node.
        logged_in = self.has_netmap()
        prefs = self.state["prefs"]
        settings = self.tailnet_settings()
        ips = self.addresses() if logged_in else None
        caps = self.capabilities() if logged_in else []
        self_status = {
            "ID": ("n%sCNTRL" % self.state["machine_seed"][:10]) if logged_in else "",
            "PublicKey": "nodekey:%s" % (self.state.get("node_key") or "0" * 64),
            "HostName": self.hostname(),
            "DNSName": self.dns_name() if logged_in else "",
            "OS": "linux",
            "UserID": self.user_id() if logged_in else 0,
            "TailscaleIPs": ips,
            "AllowedIPs": ([ips[0] + "/32", ips[1] + "/128"] + list(prefs["AdvertiseRoutes"])) if logged_in else None,
            "Addrs": None, "CurAddr": "", "Relay": "", "PeerRelay": "",
            "RxBytes": 0, "TxBytes": 0,
            "Created": self.state.get("created", "0001-01-01T00:00:00Z"),
            "LastWrite": "0001-01-01T00:00:00Z", "LastSeen": "0001-01-01T00:00:00Z",
            "LastHandshake": "0001-01-01T00:00:00Z",
            "Online": logged_in and prefs["WantRunning"],
            "ExitNode": False,
            "ExitNodeOption": False,
            "Active": False,
            "PeerAPIURL": ["http://%s:0" % ips[0]] if logged_in else None,
            "InNetworkMap": logged_in, "InMagicSock": False, "InEngine": False,
        }
        if caps:
            # The real list starts with a deprecation marker entry; the stand-in's own marker.
            self_status["Capabilities"] = ["standin:deprecated-use-CapMap"] + sorted(caps)
            self_status["CapMap"] = {cap: None for cap in sorted(caps)}
        if logged_in and prefs["AdvertiseTags"]:
            self_status["Tags"] = list(prefs["AdvertiseTags"])
        if logged_in and prefs["AdvertiseRoutes"]:
            self_status["PrimaryRoutes"] = list(prefs["AdvertiseRoutes"])
        suffix = self.tailnet() if logged_in else ""
        users = {}
        peers = {}
        if logged_in:
            logins = {str(settings["owner_user_id"]): settings["owner_login"],
                      str(settings["tagged_user_id"]): "tagged-devices"}
            logins.update({str(k): v for k, v in (settings.get("users") or {}).items()})
            users[str(self_status["UserID"])] = self_status["UserID"]
            for index, peer in enumerate(settings.get("peers") or []):
                key = "nodekey:%064x" % (index + 1)
                entry = {
                    "ID": "n%04dCNTRL" % (index + 1), "PublicKey": key, "HostName": peer.get("HostName", "peer%d" % index),
                    "DNSName": "%s.%s." % (peer.get("HostName", "peer%d" % index), peer.get("Tailnet", suffix)),
                    "OS": peer.get("OS", "linux"), "UserID": peer["UserID"],
                    "TailscaleIPs": list(peer.get("TailscaleIPs") or []),
                    "AllowedIPs": ["%s/%d" % (a, 128 if ":" in a else 32) for a in peer.get("TailscaleIPs") or []],
                    "Online": peer.get("Online", True), "InNetworkMap": True, "InMagicSock": False, "InEngine": False,
                }
                for optional in ("Tags", "ShareeNode", "AltSharerUserID"):
                    if peer.get(optional):
                        entry[optional] = peer[optional]
                peers[key] = entry
                users[str(peer["UserID"])] = peer["UserID"]
                if peer.get("AltSharerUserID"):
                    users[str(peer["AltSharerUserID"])] = peer["AltSharerUserID"]
            users = {uid: {"ID": raw, "LoginName": logins.get(uid, "user%s@example.test" % uid),
                           "DisplayName": logins.get(uid, uid).split("@")[0], "ProfilePicURL": ""}
                     for uid, raw in users.items()}
        return {
            "Version": "%s-tstandin" % VERSION,
            "TUN": True,
            "BackendState": self.backend_state(),
            "HaveNodeKey": bool(self.state.get("node_key")),
            "AuthURL": "",
            "TailscaleIPs": ips,
            "Self": self_status,
            "Health": [] if self.state["logged_in"] else ["You are logged out. The last login error was: (none)"],
            "MagicDNSSuffix": suffix,
            "CurrentTailnet": {"Name": settings["owner_login"], "MagicDNSSuffix": suffix, "MagicDNSEnabled": True} if logged_in else None,
            # Certificates can be had for the node's name only when the tailnet has HTTPS on.
            "CertDomains": [self.dns_name().rstrip(".")] if logged_in and "https" in caps else None,
            "Peer": peers or None,
            "User": users or None,
            "ClientVersion": None,
        }

    # -- actions
    def start(self, body):
        prefs = body["Prefs"]
        key = body.get("AuthKey") or ""
        force = bool(body.get("ForceReauth"))
        if key:
            if re.search(r"invalid|revoked", key):
                return 400, {"error": "backend error: invalid key: API key %s not valid" % _mask(key[:16] + "...")}
            if not KEY_RE.match(key):
                return 400, {"error": "backend error: invalid key: unable to validate API key"}
            if key.startswith("tskey-client-") and not prefs.get("AdvertiseTags"):
                return 400, {"error": "an OAuth client secret needs --advertise-tags"}
        login = (not self.state["logged_in"]) or force
        if login and not key:
            return 200, {"NeedsLogin": True, "AuthURL": "https://login.tailscale.com/a/standin%s" % self.state["machine_seed"][:8]}
        self.state["prefs"] = dict(prefs, WantRunning=True, LoggedOut=False)
        if login:
            self.state["logged_in"] = True
            self.state["node_key"] = hashlib.sha256(os.urandom(32)).hexdigest()
            self.state["login_count"] += 1
            self.state.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self.state["auth_key_sha256_16"] = key_fingerprint(key)
            log_event({"program": "tailscaled", "event": "login", "auth_key_sha256_16": key_fingerprint(key),
                       "oauth_client_secret": key.startswith("tskey-client-"), "force_reauth": force,
                       "tags": prefs.get("AdvertiseTags", []), "hostname": prefs.get("Hostname", "")})
        self.save()
        return 200, {"BackendState": self.backend_state()}

    def edit_prefs(self, body):
        self.state["prefs"].update(body)
        self.save()
        return 200, self.state["prefs"]

    def logout(self):
        was = self.state["logged_in"]
        # The profile is deleted with its serve config: `serve status --json` prints null again.
        self.state.update(logged_in=False, node_key="", serve_config=None, prefs=default_prefs())
        self.save()
        if was:
            log_event({"program": "tailscaled", "event": "logout"})
        return 200, {}


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _handler_for(daemon):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def address_string(self):
            return "local"

        def _reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self):
            with daemon.lock:
                if self.path == "/localapi/v0/status":
                    return self._reply(200, daemon.status())
                if self.path == "/localapi/v0/prefs":
                    return self._reply(200, daemon.state["prefs"])
                if self.path == "/localapi/v0/serve-config":
                    return self._reply(200, daemon.state["serve_config"])
                if self.path == "/localapi/v0/standin":
                    settings = daemon.tailnet_settings()
                    return self._reply(200, {"funnel": "funnel" in daemon.capabilities(), "caps": daemon.capabilities(),
                                             "https": settings.get("https"), "logged_in": daemon.state["logged_in"]})
            return self._reply(404, {"error": "not found"})

        def do_POST(self):
            body = self._body()
            with daemon.lock:
                if self.path == "/localapi/v0/start":
                    return self._reply(*daemon.start(body))
                if self.path == "/localapi/v0/prefs":
                    return self._reply(*daemon.edit_prefs(body))
                if self.path == "/localapi/v0/logout":
                    return self._reply(*daemon.logout())
                if self.path == "/localapi/v0/serve-config":
                    daemon.state["serve_config"] = body
                    daemon.save()
                    return self._reply(200, body)
            return self._reply(404, {"error": "not found"})

    return Handler


def _sd_notify(message):
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            pass


def tailscaled_main(argv):
    fs = FlagSet("tailscaled", "tailscaled [flags]")
    for name, kind, default in (
        ("state", "string", ""), ("statedir", "string", ""), ("socket", "string", DEFAULT_SOCKET),
        ("port", "uint", 0), ("tun", "string", "tailscale0"), ("verbose", "uint", 0),
        ("cleanup", "bool", False), ("debug", "string", ""), ("socks5-server", "string", ""),
        ("outbound-http-proxy-listen", "string", ""), ("no-logs-no-support", "bool", False),
        ("bird-socket", "string", ""), ("config", "string", ""), ("encrypt-state", "bool", False),
        ("hardware-attestation", "bool", False), ("version", "bool", False),
    ):
        fs.add(name, kind, default)
    try:
        rest = fs.parse(argv[1:])
    except HelpRequested:
        sys.stderr.write("Usage of tailscaled:\n%s\n" % fs.usage_text())
        return 0
    except UsageError as exc:
        sys.stderr.write("%s\nUsage of tailscaled:\n%s\n" % (exc, fs.usage_text()))
        return 2
    if rest:
        sys.stderr.write("tailscaled does not take non-flag arguments: %s\n" % rest)
        return 1
    if fs.values["version"]:
        print(VERSION)
        return 0
    if fs.values["cleanup"]:
        return 0
    state = fs.values["state"] or (os.path.join(fs.values["statedir"], "tailscaled.state") if fs.values["statedir"] else DEFAULT_STATE)
    daemon = Daemon(state)
    daemon.save()
    sock_path = fs.values["socket"]
    os.makedirs(os.path.dirname(sock_path) or ".", exist_ok=True)
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    server = _UnixHTTPServer(sock_path, _handler_for(daemon))
    os.chmod(sock_path, 0o666)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
    sys.stderr.write("tailscaled (stand-in) %s listening on %s, state %s\n" % (VERSION, sock_path, state))
    sys.stderr.flush()
    _sd_notify("READY=1\nSTATUS=stand-in running")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    try:
        os.unlink(sock_path)
    except OSError:
        pass
    return 0


# --------------------------------------------------------------------------- CLI


class CLIError(Exception):
    """Printed on stderr, exit 1."""


class Client:
    def __init__(self, socket_path):
        self.socket_path = socket_path

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("local-tailscaled.sock", timeout=30)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except OSError as exc:
            sock.close()
            raise CLIError(
                "failed to connect to local tailscaled; it doesn't appear to be running "
                "(sudo systemctl start tailscaled ?)") from exc
        conn.sock = sock
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        conn.close()
        if response.status >= 400:
            raise CLIError(payload.get("error", "error %d" % response.status))
        return payload


def _up_flagset():
    fs = FlagSet("up", "tailscale up [flags]")
    for name, kind, default in (
        ("qr", "bool", False), ("qr-format", "string", "auto"), ("auth-key", "string", ""),
        ("audience", "string", ""), ("client-id", "string", ""), ("client-secret", "string", ""),
        ("id-token", "string", ""), ("login-server", "string", DEFAULT_CONTROL),
        ("accept-routes", "bool", False), ("accept-dns", "bool", True), ("host-routes", "bool", True),
        ("exit-node", "string", ""), ("exit-node-allow-lan-access", "bool", False),
        ("shields-up", "bool", False), ("ssh", "bool", False), ("advertise-tags", "string", ""),
        ("hostname", "string", ""), ("advertise-routes", "string", ""),
        ("advertise-connector", "bool", False), ("advertise-exit-node", "bool", False),
        ("report-posture", "bool", False), ("operator", "string", ""),
        ("snat-subnet-routes", "bool", True), ("stateful-filtering", "bool", False),
        ("netfilter-mode", "string", "on"), ("linux-fwmark-mask", "string", ""),
        ("linux-subnet-route-mark", "string", ""), ("linux-bypass-mark", "string", ""),
        ("timeout", "duration", 0.0), ("json", "bool", False), ("reset", "bool", False),
        ("force-reauth", "bool", False), ("accept-risk", "string", ""),
    ):
        fs.add(name, kind, default)
    return fs


# pref name -> (flag name, how to render it for the "mention all flags" message)
_PREF_FLAGS = {
    "RouteAll": "accept-routes", "CorpDNS": "accept-dns", "ExitNodeIP": "exit-node",
    "ExitNodeAllowLANAccess": "exit-node-allow-lan-access", "ShieldsUp": "shields-up",
    "RunSSH": "ssh", "AdvertiseTags": "advertise-tags", "Hostname": "hostname",
    "AdvertiseRoutes": "advertise-routes", "OperatorUser": "operator",
    "NoSNAT": "snat-subnet-routes", "NoStatefulFiltering": "stateful-filtering",
    "NetfilterMode": "netfilter-mode", "ControlURL": "login-server",
}


def _flag_text(pref, value):
    flag = _PREF_FLAGS[pref]
    if pref == "NoSNAT":
        return "--%s=%s" % (flag, str(not value).lower())
    if pref == "NoStatefulFiltering":
        return "--%s=%s" % (flag, str(not value).lower())
    if isinstance(value, bool):
        return "--%s" % flag if value else "--%s=false" % flag
    if isinstance(value, list):
        value = ",".join(value)
    return "--%s=%s" % (flag, value)


def _resolve(value):
    if value.startswith("file:"):
        path = value[len("file:"):]
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise CLIError("open %s: %s" % (path, exc.strerror.lower() if exc.strerror else exc)) from exc
    return value


def _prefs_from_flags(v, status):
    routes = []
    for item in filter(None, v["advertise-routes"].split(",")):
        try:
            routes.append(str(ipaddress.ip_network(item.strip(), strict=True)))
        except ValueError as exc:
            raise CLIError('"%s" is not a valid IP address or CIDR prefix' % item) from exc
    if v["advertise-exit-node"]:
        routes += ["0.0.0.0/0", "::/0"]
    if not v["exit-node"] and v["exit-node-allow-lan-access"]:
        raise CLIError("--exit-node-allow-lan-access can only be used with --exit-node")
    tags = []
    for tag in filter(None, v["advertise-tags"].split(",")):
        if ":" not in tag:
            tag = "tag:" + tag  # since 1.98 the prefix may be left out
        if not re.fullmatch(r"tag:[A-Za-z][A-Za-z0-9-]*", tag):
            if not tag.startswith("tag:"):
                raise CLIError('tag: "%s": tags must start with \'tag:\'' % tag)
            if tag == "tag:":
                raise CLIError('tag: "%s": tag names must not be empty' % tag)
            if not tag[4].isascii() or not tag[4].isalpha():
                raise CLIError('tag: "%s": tag names must start with a letter, after \'tag:\'' % tag)
            raise CLIError('tag: "%s": tag names can only contain numbers, letters, or dashes' % tag)
        tags.append(tag)
    hostname = v["hostname"]
    if hostname and not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", hostname):
        raise CLIError('"%s" is not a valid DNS label' % hostname)
    if v["netfilter-mode"] not in ("on", "nodivert", "off"):
        raise CLIError('invalid value --netfilter-mode="%s"' % v["netfilter-mode"])
    exit_ip, auto = "", ""
    if v["exit-node"]:
        if v["exit-node"].startswith("auto:"):
            auto = v["exit-node"]
        else:
            try:
                addr = ipaddress.ip_address(v["exit-node"])
            except ValueError as exc:
                raise CLIError('invalid value "%s" for --exit-node; must be IP or unique node name' % v["exit-node"]) from exc
            if str(addr) in (status.get("TailscaleIPs") or []):
                raise CLIError("cannot use %s as an exit node as it is a local IP address; did you mean --advertise-exit-node?" % addr)
            exit_ip = str(addr)
    return {
        "ControlURL": v["login-server"], "RouteAll": v["accept-routes"], "CorpDNS": v["accept-dns"],
        "ExitNodeIP": exit_ip, "AutoExitNode": auto, "ExitNodeAllowLANAccess": v["exit-node-allow-lan-access"],
        "ShieldsUp": v["shields-up"], "RunSSH": v["ssh"], "AdvertiseRoutes": routes, "AdvertiseTags": tags,
        "Hostname": hostname, "OperatorUser": v["operator"], "NoSNAT": not v["snat-subnet-routes"],
        "NoStatefulFiltering": not v["stateful-filtering"], "NetfilterMode": v["netfilter-mode"],
    }


def cmd_up(client, args):
    fs = _up_flagset()
    rest = fs.parse(args)
    if rest:
        raise CLIError('too many non-flag arguments: %s' % json.dumps(rest))
    v = fs.values
    status = client.call("GET", "/localapi/v0/status")
    prefs = _prefs_from_flags(v, status)
    current = client.call("GET", "/localapi/v0/prefs")
    defaults = default_prefs()
    if not v["reset"] and not current.get("LoggedOut", True):
        # The real CLI refuses to silently revert a setting that differs from its default.
        mentioned = set(fs.visited) | ({"advertise-routes"} if "advertise-exit-node" in fs.visited else set())
        missing = [p for p, flag in _PREF_FLAGS.items()
                   if flag not in mentioned and current.get(p) != defaults.get(p) and current.get(p) != prefs[p]]
        if missing:
            wanted = [a for a in args if not a.lstrip("-").startswith(("auth-key", "authkey", "force-reauth", "qr"))]
            wanted += [_flag_text(p, current[p]) for p in missing]
            raise CLIError(
                "Error: changing settings via 'tailscale up' requires mentioning all\n"
                "non-default flags. To proceed, either re-run your command with --reset or\n"
                "use the command below to explicitly mention the current value of\n"
                "all non-default settings:\n\n\ttailscale up %s\n" % " ".join(_mask(a) for a in wanted))
    key = _resolve(v["auth-key"]) if v["auth-key"] else ""
    if not key and v["client-secret"]:
        key = _resolve(v["client-secret"])
    if v["id-token"]:
        raise CLIError("workload identity federation is not implemented by the stand-in")
    timeout = v["timeout"]
    result = client.call("POST", "/localapi/v0/start", {"AuthKey": key, "Prefs": prefs, "ForceReauth": v["force-reauth"]})
    if result.get("NeedsLogin"):
        if v["json"]:
            print(json.dumps({"AuthURL": result["AuthURL"], "BackendState": "NeedsLogin"}, indent="\t"))
        else:
            sys.stderr.write("\nTo authenticate, visit:\n\n\t%s\n\n" % result["AuthURL"])
        sys.stderr.flush()
        deadline = time.monotonic() + timeout if timeout else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
        raise CLIError('timeout waiting for Tailscale service to enter a Running state; check health with "tailscale status"')
    if v["json"]:
        print(json.dumps({"BackendState": "Running"}, indent="  "))
    return 0


def cmd_down(client, args):
    fs = FlagSet("down", "tailscale down")
    fs.add("accept-risk", "string", "")
    fs.add("reason", "string", "")
    if fs.parse(args):
        raise CLIError("too many non-flag arguments")
    client.call("POST", "/localapi/v0/prefs", {"WantRunning": False})
    return 0


def cmd_logout(client, args):
    fs = FlagSet("logout", "tailscale logout [flags]")
    fs.add("reason", "string", "")
    if fs.parse(args):
        raise CLIError("too many non-flag arguments")
    client.call("POST", "/localapi/v0/logout", {})
    return 0


def cmd_status(client, args):
    fs = FlagSet("status", "tailscale status [--active] [--web] [--json]")
    for name, kind, default in (("json", "bool", False), ("web", "bool", False), ("listen", "string", "127.0.0.1:8384"),
                                ("browser", "bool", True), ("self", "bool", True), ("peers", "bool", True),
                                ("active", "bool", False), ("header", "bool", False)):
        fs.add(name, kind, default)
    fs.parse(args)
    st = client.call("GET", "/localapi/v0/status")
    if fs.values["json"]:
        print(json.dumps(st, indent="  "))
        return 0
    if st["BackendState"] == "NeedsLogin":
        print("Logged out.")
        return 1
    if st["BackendState"] == "Stopped":
        print("Tailscale is stopped.")
        return 1
    s = st["Self"]
    print("%-15s %-20s %-16s %-7s -" % (s["TailscaleIPs"][0], s["DNSName"].split(".")[0], "lab@", "linux"))
    return 0


def cmd_ip(client, args):
    fs = FlagSet("ip", "tailscale ip [-1] [-4] [-6] [peer hostname or ip address]")
    for name in ("1", "4", "6"):
        fs.add(name, "bool", False)
    rest = fs.parse(args)
    if rest:
        raise CLIError("peer lookup is not implemented by the stand-in")
    st = client.call("GET", "/localapi/v0/status")
    ips = st.get("TailscaleIPs") or []
    if not ips:
        raise CLIError("no current Tailscale IPs; state: %s" % st["BackendState"])
    if fs.values["4"]:
        ips = [i for i in ips if ":" not in i]
    elif fs.values["6"]:
        ips = [i for i in ips if ":" in i]
    if fs.values["1"]:
        ips = ips[:1]
    for ip in ips:
        print(ip)
    return 0


def cmd_version(args):
    fs = FlagSet("version", "tailscale version [flags]")
    fs.add("daemon", "bool", False)
    fs.add("json", "bool", False)
    fs.add("upstream", "bool", False)
    fs.parse(args)
    if fs.values["upstream"]:
        raise CLIError("upstream version lookup is not implemented by the stand-in (it would contact pkgs.tailscale.com)")
    if fs.values["json"]:
        print(json.dumps({"majorMinorPatch": VERSION, "short": VERSION, "long": VERSION + "-tstandin",
                          "unstableBranch": False, "cap": 0}, indent="  "))
    else:
        print("%s\n  tailscale commit: stand-in\n  other commit: stand-in\n  go version: none (python stand-in)" % VERSION)
    return 0


def _normalize_target(target):
    if target.isdigit():
        return "http://127.0.0.1:%s" % target
    if re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d+", target):
        return "http://%s" % target
    if re.match(r"^(https?|https\+insecure)://", target):
        return target
    if target.startswith("/"):
        return target
    if target.startswith("text:"):
        return target
    raise CLIError('invalid target "%s"' % target)


class EarlyExit(Exception):
    """The CLI ends here with this exit code (as os.Exit does in the real one)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _enable_feature_interactive(client, feature, needed, st):
    """Serve and Funnel need capabilities the tailnet may not grant (HTTPS certificates are off
    on new tailnets). As the real CLI does: if they are missing, print where an admin enables
    them, then either end with exit 0 having applied nothing, or block until they appear."""
    info = client.call("GET", "/localapi/v0/standin")
    if all(cap in info["caps"] for cap in needed):
        return
    if info["https"] == "on":
        return  # https is there and only the funnel attribute is missing: the caller says so
    node = st["Self"].get("ID") or "node"
    print("\nServe needs HTTPS certificates, which are not enabled for this tailnet."
          "\nAn admin of the tailnet can enable them at:")
    print("\n         https://login.tailscale.com/f/%s?node=%s\n" % (feature, node))
    sys.stdout.flush()
    if info["https"] != "off-wait":
        raise EarlyExit(0)
    while True:
        time.sleep(0.5)
        info = client.call("GET", "/localapi/v0/standin")
        if all(cap in info["caps"] for cap in needed):
            print("Success.")
            return


def cmd_serve(client, args, funnel):
    name = "funnel" if funnel else "serve"
    if args and args[0] in ("status", "reset", "drain", "clear"):
        sub, args = args[0], args[1:]
        fs = FlagSet("%s-%s" % (name, sub), "tailscale %s %s" % (name, sub))
        if sub == "status":
            fs.add("json", "bool", False)
        fs.parse(args)
        if sub == "reset":
            client.call("POST", "/localapi/v0/serve-config", {})
            return 0
        if sub != "status":
            raise CLIError("tailscale %s %s is not implemented by the stand-in" % (name, sub))
        sc = client.call("GET", "/localapi/v0/serve-config")
        if fs.values["json"]:
            print(json.dumps(sc, indent="  "))
        elif not sc:
            print("No serve config")
        else:
            for host, web in sorted(sc.get("Web", {}).items()):
                exposure = "Funnel on" if sc.get("AllowFunnel", {}).get(host) else "tailnet only"
                print("# %s:\n\nhttps://%s (%s)" % (exposure, host, exposure))
                for path, handler in sorted(web.get("Handlers", {}).items()):
                    print("|-- %s proxy %s" % (path, handler.get("Proxy", "")))
        return 0
    fs = FlagSet("serve-set", "tailscale %s <target>" % name)
    fs.add("bg", "bool", False)
    fs.add("set-path", "string", "")
    fs.add("https", "uint", 0)
    if not funnel:
        fs.add("http", "uint", 0)
    fs.add("tcp", "uint", 0)
    fs.add("tls-terminated-tcp", "uint", 0)
    fs.add("service", "string", "")
    fs.add("yes", "bool", False)
    fs.add("tun", "bool", False)
    rest = fs.parse(args)
    v = fs.values
    if not rest:
        raise HelpRequested()
    if len(rest) > 2 or (len(rest) == 2 and rest[-1] != "off"):
        sys.stderr.write("Error: invalid argument format\n")
        raise CLIError("try `tailscale %s --help` for usage info" % name)
    if v["service"] or v["tun"] or v["tcp"] or v["tls-terminated-tcp"] or (not funnel and v["http"]):
        raise CLIError("the stand-in implements only --https serve/funnel handlers")
    port = v["https"] or 443
    st = client.call("GET", "/localapi/v0/status")
    if st["BackendState"] not in ("Running", "Starting"):
        raise CLIError("error getting serve config: node is not running (BackendState %s)" % st["BackendState"])
    host = "%s:%d" % (st["Self"]["DNSName"].rstrip("."), port)
    sc = client.call("GET", "/localapi/v0/serve-config") or {}
    turn_off = rest[-1] == "off"
    if funnel:
        # funnel checks its capabilities first, even to turn a port off.
        _enable_feature_interactive(client, "funnel", ("https", "funnel"), st)
        if "funnel" not in client.call("GET", "/localapi/v0/standin")["caps"]:
            raise CLIError("Funnel not available; \"funnel\" node attribute not set. See https://tailscale.com/s/no-funnel.")
    elif not turn_off:
        _enable_feature_interactive(client, "serve", ("https",), st)
    if funnel and not turn_off:
        if port not in (443, 8443, 10000):
            raise CLIError("port %d is not allowed for funnel; allowed ports are: 443, 8443, 10000" % port)
    if turn_off:
        if str(port) not in sc.get("TCP", {}):
            sys.stderr.write("error: serve config does not exist\n\n")
            raise CLIError("try `tailscale %s --help` for usage info" % name)
        sc.get("TCP", {}).pop(str(port), None)
        sc.get("Web", {}).pop(host, None)
        sc.get("AllowFunnel", {}).pop(host, None)
        sc = {k: val for k, val in sc.items() if val}
        client.call("POST", "/localapi/v0/serve-config", sc)
        return 0
    target = _normalize_target(rest[0])
    mount = "/" + v["set-path"].strip("/") if v["set-path"].strip("/") else "/"
    sc.setdefault("TCP", {})[str(port)] = {"HTTPS": True}
    sc.setdefault("Web", {}).setdefault(host, {"Handlers": {}})["Handlers"][mount] = {"Proxy": target}
    if funnel:
        sc.setdefault("AllowFunnel", {})[host] = True
    elif sc.get("AllowFunnel", {}).get(host):
        sc["AllowFunnel"].pop(host)
    sc = {k: val for k, val in sc.items() if val}
    client.call("POST", "/localapi/v0/serve-config", sc)
    where = "on the internet" if funnel else "within your tailnet"
    print("Available %s:\n\nhttps://%s%s\n|-- proxy %s\n" % (where, host.removesuffix(":443"), mount, target))
    if v["bg"]:
        print("%s started and running in the background.\nTo disable the proxy, run: tailscale %s --https=%d off"
              % ("Funnel" if funnel else "Serve", name, port))
        return 0
    print("Press Ctrl+C to exit.")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    return cmd_serve(client, ["--https=%d" % port, "off"], funnel)


def tailscale_main(argv):
    args = []
    for arg in argv[1:]:
        if arg in ("--authkey", "-authkey"):
            arg = "--auth-key"
        elif arg.startswith(("--authkey=", "-authkey=")):
            arg = "--auth-key=" + arg.split("=", 1)[1]
        args.append(arg)
    if args in (["-V"], ["--version"]):
        args = ["version"]
    root = FlagSet("tailscale", "tailscale [flags] <subcommand> [command flags]")
    root.add("socket", "string", DEFAULT_SOCKET)
    root.add("json-docs", "bool", False)
    current = root
    try:
        rest = root.parse(args)
        if not rest:
            raise HelpRequested()
        sub, rest = rest[0], rest[1:]
        client = Client(root.values["socket"])
        if sub == "up":
            current = _up_flagset()
            return cmd_up(client, rest)
        if sub == "down":
            return cmd_down(client, rest)
        if sub == "logout":
            return cmd_logout(client, rest)
        if sub == "status":
            return cmd_status(client, rest)
        if sub == "ip":
            return cmd_ip(client, rest)
        if sub == "version":
            return cmd_version(rest)
        if sub in ("serve", "funnel"):
            return cmd_serve(client, rest, sub == "funnel")
        if sub in NOT_IMPLEMENTED:
            raise CLIError("tailscale %s: not implemented by the test-lab stand-in" % sub)
        raise CLIError("tailscale: unknown subcommand: %s" % sub)
    except HelpRequested:
        sys.stderr.write(current.usage_text() + "\n")
        return 0
    except UsageError as exc:
        sys.stderr.write("%s\n%s\n" % (_mask(str(exc)), current.usage_text()))
        return 2
    except CLIError as exc:
        sys.stderr.write(_mask(str(exc)).rstrip("\n") + "\n")
        return 1
    except EarlyExit as exc:
        return exc.code


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    program = os.path.basename(argv[0])
    program = "tailscaled" if program.startswith("tailscaled") else "tailscale"
    record = {"program": program, "argv": [_mask(a) for a in argv[1:]], "uid": os.getuid(),
              "env_names": sorted(os.environ), "secret_in_argv": _secret_in_argv(argv[1:])}
    if program == "tailscaled":
        log_event(dict(record, event="start"))
        code = tailscaled_main(argv)
        log_event(dict(record, event="exit", exit=code))
        return code
    code = tailscale_main(argv)
    log_event(dict(record, event="invocation", exit=code))
    return code


if __name__ == "__main__":
    sys.exit(main())
