#!/usr/bin/python3
"""Stand-in for the Jellyfin 10.11 server, for the test lab (Python 3.11 stdlib only).

Jellyfin cannot be installed on the lab machines, so tests run this program in its place.
It speaks the parts of Jellyfin's interface that this collection depends on, as read in
Jellyfin's own source (jellyfin/jellyfin) and ASP.NET Core's; the behaviour was re-implemented
here, no upstream code was copied. The verify tests are written so that the same assertions
run unchanged against a real Jellyfin on a machine where one exists.

Modelled behaviour, and where it was read (jellyfin/jellyfin, release tag given; paths are
relative to the repository):

| Behaviour | Upstream file | Release |
|---|---|---|
| Command line flags, JELLYFIN_*_DIR variables, usage + exit 1 on an unknown flag | Jellyfin.Server/StartupOptions.cs | v10.11.7 |
| network.xml members, types, defaults, declaration order | MediaBrowser.Common/Net/NetworkConfiguration.cs | v10.11.11 |
| network.xml that does not deserialize (not well-formed, wrong root, a value XmlConvert rejects): ERR "Error loading configuration file: {Path}", every setting at its default (KnownProxies, LocalNetworkSubnets, ports lost), file left untouched, server starts, /health green | Emby.Server.Implementations/AppBase/BaseConfigurationManager.cs (GetConfiguration -> LoadConfiguration) | v10.11.11 |
| Booleans as XmlConvert.ToBoolean: "true"/"false"/"1"/"0", case-sensitive, XML white space trimmed; Int32 range for numbers; absent elements keep their defaults, unknown elements ignored | .NET XmlSerializer / XmlConvert (called from Emby.Server.Implementations/Serialization/MyXmlSerializer.cs) | v10.11.11 |
| system.xml (ServerConfiguration) read at start: IsStartupWizardCompleted, RemoteClientBitrateLimit; a missing file or one that does not load is replaced by the defaults (wizard not completed) and written back | Emby.Server.Implementations/AppBase/ConfigurationHelper.cs, MediaBrowser.Model/Configuration/BaseApplicationConfiguration.cs, ServerConfiguration.cs | v10.11.11 |
| /System/Info/Public StartupWizardCompleted from system.xml | Emby.Server.Implementations/SystemManager.cs | v10.11.11 |
| LAN: LocalNetworkSubnets empty (or nothing in it parses) -> 127/8, 10/8, 172.16/12, 192.168/16 (EnableIPv4) and ::1, fe80::/10, fc00::/7 (EnableIPv6) are LAN; otherwise only the listed subnets; "!" entries excluded; an address without prefix is /32 or /128; loopback is always local; IPv4-mapped IPv6 unmapped | src/Jellyfin.Networking/Manager/NetworkManager.cs (InitializeLan, IsInLocalNetwork), MediaBrowser.Common/Net/NetworkUtils.cs (TryParseToSubnet), NetworkConstants.cs | v10.11.11 |
| Remote access: a request whose client (after forwarded headers) is not the server's own address and not LAN gets 503 with an empty body when EnableRemoteAccess is false, or when RemoteIPFilter (allow/deny list by IsRemoteIPFilterBlacklist) refuses it; WRN "Blocking request to {Path} by {RemoteIP} due to IP filtering rule, reason: {Reason}" with the path URL-encoded; /health and the websocket included | Jellyfin.Api/Middleware/IpBasedAccessValidationMiddleware.cs, NetworkManager.cs (ShouldAllowServerAccess, InitializeRemote), MediaBrowser.Common/Extensions/HttpContextExtensions.cs (IsLocal), Jellyfin.Server/Startup.cs (order) | v10.11.11 |
| Playback decision, GET/POST /Items/{id}/PlaybackInfo: the most the client asks (MaxStreamingBitrate, query or body) is capped by system.xml RemoteClientBitrateLimit (> 0) only for a client outside the local networks; whenever a limit is set, INF "RemoteClientBitrateLimit: {0}, RemoteIP: {1}, IsInLocalNetwork: {2}" (category Jellyfin.Api.Helpers.MediaInfoHelper; no per-user limits here). A source whose Bitrate is above that maximum gets SupportsDirectPlay and SupportsDirectStream false and a TranscodingUrl /videos/{id}/stream.mp4?...&VideoBitrate=(maximum less the audio, at least 64000)&AudioBitrate=...; DBG "Bitrate exceeds limit: media bitrate: {MediaBitrate}, max bitrate: {MaxBitrate}" | Jellyfin.Api/Helpers/MediaInfoHelper.cs (GetMaxBitrate), Jellyfin.Api/Controllers/MediaInfoController.cs, MediaBrowser.Model/Dlna/StreamBuilder.cs (IsBitrateLimitExceeded, the video bitrate), MediaBrowser.Model/Dlna/StreamInfo.cs (ToUrl) | v10.11.11 |
| GET /Videos/{id}/stream never looks at RemoteClientBitrateLimit or at where the client is (upstream caps only through PlaybackInfo): static=true sends the file whole, to LAN and remote clients alike; without static=true and with a VideoBitrate it is a progressive transcode: 200, chunked, Accept-Ranges none, as many bytes as the requested video + audio bitrates give for the source's length (never more than the source). The decision line is not logged here, as upstream | Jellyfin.Api/Controllers/VideosController.cs (GetVideoStream), Jellyfin.Api/Helpers/StreamingHelpers.cs (GetStreamingState), Jellyfin.Api/Helpers/FileStreamResponseHelpers.cs (GetTranscodedFile) | v10.11.11 |
| Forwarded headers: KnownProxies empty -> X-Forwarded-* ignored; otherwise walked right to left, no ForwardLimit, trusted = KnownProxies (IP, CIDR, host name) + 127.0.0.0/8 and ::1 | Jellyfin.Server/Extensions/ApiServiceCollectionExtensions.cs | v10.11.11 |
| BaseUrl redirection (302, relative target; /health -> {BaseUrl}/health) before the forwarded headers | Jellyfin.Api/Middleware/BaseUrlRedirectionMiddleware.cs, Jellyfin.Server/Startup.cs | v10.11.7 |
| HTTPS from a PKCS#12 CertificatePath (read once at start; a file that does not load: ERR, HTTP only) on InternalHttpsPort | Emby.Server.Implementations/ApplicationHost.cs, Jellyfin.Server/Extensions/WebHostBuilderExtensions.cs | v10.11.11 |
| RequireHttps (with HTTPS listening): every plain-HTTP client, LAN and loopback included, gets 307 to https://host:InternalHttpsPort; no HSTS header is ever sent | Jellyfin.Server/Startup.cs (UseHttpsRedirection; no UseHsts) | v10.11.11 |
| Binding: each LocalNetworkAddresses entry, else 0.0.0.0 or dual-stack [::]; "Kestrel failed to start!" and exit on a busy port | Jellyfin.Server/Program.cs, WebHostBuilderExtensions.cs | v10.11.7 |
| Authentication log line (Serilog file format, strings quoted; console bare) | Jellyfin.Server.Implementations/Users/UserManager.cs, Jellyfin.Server/Resources/Configuration/logging.json | v10.11.11 |
| GET /health, GET/POST /System/Ping, POST /Users/AuthenticateByName errors, /Videos/{id}/stream ranges, websocket ForceKeepAlive/KeepAlive | Jellyfin.Api/Controllers/*.cs, Emby.Server.Implementations/HttpServer/WebSocketManager.cs | v10.11.7 |
| network.xml written with Jellyfin's defaults when missing (what a server whose wizard saved its network settings has; on a brand-new install the file may appear only later) | Jellyfin.Api/Controllers/StartupController.cs | v10.11.11 |

Not modelled
  Re-saving system.xml when its serialisation differs (the stand-in knows two members of
  ServerConfiguration, so it writes only a missing or unreadable file, and only those two);
  saving network.xml at all after the first start (the real server saves it only from the
  dashboard or the wizard); the wizard's own API (/Startup/*) and what an incomplete wizard
  lets anonymous callers do; per-user remote bitrate limits and remote-access permissions;
  real transcoding (a transcode's bytes are the start of the media file; only its size follows
  the bitrates; no ffmpeg, no log line of its command, no HLS master.m3u8; device profiles are
  ignored: one mp4 source, audio at 192 kbit/s); a non-static stream request without VideoBitrate
  is sent as the file (upstream transcodes it at the source's own bitrates); TLS settings beyond Python's defaults (Kestrel's
  protocol/cipher choice, client certificates, SNI); API keys and access tokens (a successful
  login returns a token that nothing checks; PlaybackInfo needs none here); the websocket's
  token requirement (the real server answers 403 without a token); the web client and its
  static files (served to remote clients even when remote access is off, upstream);
  PublishedServerUriBySubnet; auto discovery (7359/udp); the interface list (only
  TrustAllIPv6Interfaces=false, upstream's only value); log rolling by size; logging.json;
  If-Modified-Since / If-None-Match; multipart ranges (ignored as by ASP.NET). Where the
  real server logs nothing, the stand-in adds a DBG line per request (category
  "Jellyfin.StandIn.RequestLog"): tests may read it here, but a real server at its default
  level (Information) does not write it.

Stand-in settings (environment): JELLYFIN_STANDIN_VERSION (10.11.10),
JELLYFIN_STANDIN_SERVER_NAME (host name), JELLYFIN_STANDIN_MEDIA_MIB (256),
JELLYFIN_STANDIN_USERS (path of a JSON file {"user": "password"}; unset: every login fails),
JELLYFIN_STANDIN_MEDIA_BITRATE (the media source's Bitrate in bits/s, 20000000).
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import email.utils
import hashlib
import http.server
import ipaddress
import json
import os
import random
import re
import signal
import socket
import shutil
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

PRODUCT_NAME = "Jellyfin Server"
DEFAULT_VERSION = "10.11.10"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MIB = 1024 * 1024

# ----------------------------------------------------------------------------- logging


class JellyfinLog:
    """Writes Jellyfin-style log lines: file with quoted string arguments, console bare."""

    LEVELS = {"debug": "DBG", "info": "INF", "warning": "WRN", "error": "ERR", "fatal": "FTL"}
    _hole = re.compile(r"\{([A-Za-z0-9_@]+)(?::[^}]*)?\}")

    def __init__(self, logdir: str | None):
        self.logdir = logdir
        self.lock = threading.Lock()
        self.thread_ids: dict[int, int] = {}
        self._file = None
        self._file_day = None

    def _tid(self) -> int:
        ident = threading.get_ident()
        tid = self.thread_ids.get(ident)
        if tid is None:
            tid = len(self.thread_ids) + 1
            self.thread_ids[ident] = tid
        return tid

    @staticmethod
    def _render(template: str, args: tuple, quote: bool) -> str:
        values = iter(args)

        def sub(_m):
            try:
                value = next(values)
            except StopIteration:
                return _m.group(0)
            if isinstance(value, str):
                return '"' + value.replace('"', '\\"') + '"' if quote else value
            if isinstance(value, bool):
                return "True" if value else "False"
            return str(value)

        return JellyfinLog._hole.sub(sub, template)

    def exception(self, text: str) -> None:
        """The exception Serilog writes on the lines after the entry that carried it."""
        with self.lock:
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            if self._file:
                self._file.write(text + "\n")
                self._file.flush()

    def log(self, level: str, category: str, template: str, *args) -> None:
        now = _dt.datetime.now().astimezone()
        lvl = self.LEVELS[level]
        with self.lock:
            tid = self._tid()
            off = now.strftime("%z")
            zzz = off[:3] + ":" + off[3:]
            file_line = "[%s.%03d %s] [%s] [%d] %s: %s\n" % (
                now.strftime("%Y-%m-%d %H:%M:%S"), now.microsecond // 1000, zzz, lvl, tid,
                category, self._render(template, args, True))
            if level != "debug":
                console = "[%s] [%s] [%d] %s: %s\n" % (
                    now.strftime("%H:%M:%S"), lvl, tid, category, self._render(template, args, False))
                try:
                    sys.stdout.write(console)
                    sys.stdout.flush()
                except (OSError, ValueError):
                    pass
            if self.logdir:
                day = now.strftime("%Y%m%d")
                if day != self._file_day:
                    if self._file:
                        self._file.close()
                    self._file = open(os.path.join(self.logdir, "log_%s.log" % day), "a", encoding="utf-8")
                    self._file_day = day
                self._file.write(file_line)
                self._file.flush()


LOG = JellyfinLog(None)

# ----------------------------------------------------------------------------- config


def _normalise_base_url(value: str | None) -> str:
    if value is None or value.strip() == "":
        return ""
    if value[0] != "/":
        value = "/" + value
    if value[-1] == "/":
        value = value[:-1]
    return value


# What Jellyfin 10.11 writes to network.xml when it starts without one (UTF-8, no BOM,
# two-space indent, no newline after the root's end tag).
DEFAULT_NETWORK_XML = "\n".join([
    '<?xml version="1.0" encoding="utf-8"?>',
    '<NetworkConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
    "  <BaseUrl />",
    "  <EnableHttps>false</EnableHttps>",
    "  <RequireHttps>false</RequireHttps>",
    "  <CertificatePath />",
    "  <CertificatePassword />",
    "  <InternalHttpPort>8096</InternalHttpPort>",
    "  <InternalHttpsPort>8920</InternalHttpsPort>",
    "  <PublicHttpPort>8096</PublicHttpPort>",
    "  <PublicHttpsPort>8920</PublicHttpsPort>",
    "  <AutoDiscovery>true</AutoDiscovery>",
    "  <EnableIPv4>true</EnableIPv4>",
    "  <EnableIPv6>false</EnableIPv6>",
    "  <EnableRemoteAccess>true</EnableRemoteAccess>",
    "  <LocalNetworkSubnets />",
    "  <LocalNetworkAddresses />",
    "  <KnownProxies />",
    "  <IgnoreVirtualInterfaces>true</IgnoreVirtualInterfaces>",
    "  <VirtualInterfaceNames>",
    "    <string>veth</string>",
    "  </VirtualInterfaceNames>",
    "  <EnablePublishedServerUriByRequest>false</EnablePublishedServerUriByRequest>",
    "  <PublishedServerUriBySubnet />",
    "  <RemoteIPFilter />",
    "  <IsRemoteIPFilterBlacklist>false</IsRemoteIPFilterBlacklist>",
    "</NetworkConfiguration>",
])


class ConfigLoadError(Exception):
    """The file does not deserialize: XmlSerializer would throw, Jellyfin uses the defaults."""


_XML_WS = " \t\n\r"


def xml_bool(text: str) -> bool:
    """XmlConvert.ToBoolean: surrounding XML white space trimmed, then exactly true/false/1/0."""
    word = text.strip(_XML_WS)
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    raise ConfigLoadError("The string '%s' is not a valid Boolean value." % text)


def xml_int(text: str) -> int:
    """XmlConvert.ToInt32: optional sign, decimal digits, white space around, Int32 range."""
    word = text.strip(_XML_WS)
    if not re.fullmatch(r"[+-]?[0-9]+", word):
        raise ConfigLoadError("The string '%s' is not a valid Int32 value." % text)
    value = int(word)
    if not -2**31 <= value < 2**31:
        raise ConfigLoadError("Value was either too large or too small for an Int32.")
    return value


class XmlConfig:
    """Reads a configuration file the way XmlSerializer fills Jellyfin's configuration class.

    Members absent from the file keep the class's defaults; unknown elements are skipped; a
    member that is present but does not convert, a file that is not well-formed or a wrong
    root element make the whole file fail (ConfigLoadError)."""

    ROOT = ""
    # element name -> (attribute, kind) with kind in str, baseurl, bool, int, list
    MEMBERS: dict = {}

    def load_members(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ConfigLoadError(str(exc)) from None
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise ConfigLoadError("There is an error in XML document (%s)." % exc) from None
        if root.tag != self.ROOT:
            raise ConfigLoadError("<%s xmlns=''> was not expected." % root.tag)
        for child in root:
            member = self.MEMBERS.get(child.tag)
            if member is None:
                continue
            attr, kind = member
            text = child.text or ""
            if kind == "bool":
                setattr(self, attr, xml_bool(text))
            elif kind == "int":
                setattr(self, attr, xml_int(text))
            elif kind == "list":
                setattr(self, attr, [(s.text or "") for s in child if s.tag == "string"])
            elif kind == "baseurl":
                setattr(self, attr, _normalise_base_url(text))
            else:
                setattr(self, attr, text)


class NetworkConfig(XmlConfig):
    """Jellyfin's NetworkConfiguration (the members the stand-in uses), with its defaults."""

    ROOT = "NetworkConfiguration"
    MEMBERS = {
        "BaseUrl": ("base_url", "baseurl"),
        "EnableHttps": ("enable_https", "bool"),
        "RequireHttps": ("require_https", "bool"),
        "CertificatePath": ("certificate_path", "str"),
        "CertificatePassword": ("certificate_password", "str"),
        "InternalHttpPort": ("internal_http_port", "int"),
        "InternalHttpsPort": ("internal_https_port", "int"),
        "PublicHttpPort": ("public_http_port", "int"),
        "PublicHttpsPort": ("public_https_port", "int"),
        "AutoDiscovery": ("auto_discovery", "bool"),
        "EnableIPv4": ("enable_ipv4", "bool"),
        "EnableIPv6": ("enable_ipv6", "bool"),
        "EnableRemoteAccess": ("enable_remote_access", "bool"),
        "LocalNetworkSubnets": ("local_network_subnets", "list"),
        "LocalNetworkAddresses": ("local_network_addresses", "list"),
        "KnownProxies": ("known_proxies", "list"),
        "IgnoreVirtualInterfaces": ("ignore_virtual_interfaces", "bool"),
        "VirtualInterfaceNames": ("virtual_interface_names", "list"),
        "EnablePublishedServerUriByRequest": ("enable_published_server_uri_by_request", "bool"),
        "PublishedServerUriBySubnet": ("published_server_uri_by_subnet", "list"),
        "RemoteIPFilter": ("remote_ip_filter", "list"),
        "IsRemoteIPFilterBlacklist": ("is_remote_ip_filter_blacklist", "bool"),
        # EnableUPnP is [Obsolete] since 10.11.0: XmlSerializer (.NET 9) neither reads nor writes it.
    }

    def __init__(self):
        self.base_url = ""
        self.enable_https = False
        self.require_https = False
        self.certificate_path = ""
        self.certificate_password = ""
        self.internal_http_port = 8096
        self.internal_https_port = 8920
        self.public_http_port = 8096
        self.public_https_port = 8920
        self.auto_discovery = True
        self.enable_ipv4 = True
        self.enable_ipv6 = False
        self.enable_remote_access = True
        self.local_network_subnets: list[str] = []
        self.local_network_addresses: list[str] = []
        self.known_proxies: list[str] = []
        self.ignore_virtual_interfaces = True
        self.virtual_interface_names = ["veth"]
        self.enable_published_server_uri_by_request = False
        self.published_server_uri_by_subnet: list[str] = []
        self.remote_ip_filter: list[str] = []
        self.is_remote_ip_filter_blacklist = False

    @classmethod
    def load(cls, path: str) -> "NetworkConfig":
        """Raises ConfigLoadError; a missing file gives the defaults."""
        cfg = cls()
        if not os.path.exists(path):
            return cfg
        cfg.load_members(path)
        cfg.certificate_path = cfg.certificate_path.strip()
        cfg.local_network_addresses = [a.strip() for a in cfg.local_network_addresses if a.strip()]
        cfg.known_proxies = [a.strip() for a in cfg.known_proxies if a.strip()]
        return cfg


# What the stand-in writes to a missing system.xml, and how it rewrites one that does not
# load: the two ServerConfiguration members it models (BaseApplicationConfiguration's
# IsStartupWizardCompleted comes first, as XmlSerializer writes base-class members first).
# The real file holds every member of ServerConfiguration.
def system_xml_text(wizard_completed: bool, remote_limit: int) -> str:
    return "\n".join([
        '<?xml version="1.0" encoding="utf-8"?>',
        '<ServerConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
        "  <IsStartupWizardCompleted>%s</IsStartupWizardCompleted>" % ("true" if wizard_completed else "false"),
        "  <RemoteClientBitrateLimit>%d</RemoteClientBitrateLimit>" % remote_limit,
        "</ServerConfiguration>",
    ])


class SystemConfig(XmlConfig):
    """ServerConfiguration (system.xml): the members the stand-in uses."""

    ROOT = "ServerConfiguration"
    MEMBERS = {
        "IsStartupWizardCompleted": ("is_startup_wizard_completed", "bool"),
        "RemoteClientBitrateLimit": ("remote_client_bitrate_limit", "int"),
    }

    def __init__(self):
        self.is_startup_wizard_completed = False
        self.remote_client_bitrate_limit = 0

    @classmethod
    def load_or_reset(cls, path: str) -> "SystemConfig":
        """ConfigurationHelper.GetXmlConfiguration: a missing file or one that does not load is
        replaced by the defaults, written to disk (no log line, as upstream)."""
        cfg = cls()
        if os.path.exists(path):
            try:
                cfg.load_members(path)
                return cfg
            except ConfigLoadError:
                cfg = cls()
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(system_xml_text(cfg.is_startup_wizard_completed, cfg.remote_client_bitrate_limit))
        return cfg


# ----------------------------------------------------------------------------- LAN


_FALLBACK_LAN_V4 = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
_FALLBACK_LAN_V6 = [ipaddress.ip_network(n) for n in ("::1/128", "fe80::/10", "fc00::/7")]


def parse_subnet(entry: str, negated: bool = False):
    """NetworkUtils.TryParseToSubnet: "!" marks an exclusion; CIDR (host bits allowed) or a
    single address (/32, /128); None when it does not parse or its negation does not match."""
    value = entry.strip()
    is_negated = value.startswith("!")
    if is_negated:
        value = value[1:]
    if is_negated != negated:
        return None
    try:
        if "/" in value:
            return ipaddress.ip_network(value, strict=False)
        return ipaddress.ip_network(ipaddress.ip_address(value))
    except ValueError:
        return None


class LanPolicy:
    """NetworkManager.InitializeLan / InitializeRemote / IsInLocalNetwork / ShouldAllowServerAccess."""

    def __init__(self, cfg: NetworkConfig):
        self.cfg = cfg
        subnets = [n for n in (parse_subnet(e) for e in cfg.local_network_subnets) if n is not None]
        if subnets:
            self.lan = subnets
        else:
            # Nothing listed: private ranges and loopback, per enabled address family.
            self.lan = (_FALLBACK_LAN_V6 if cfg.enable_ipv6 else []) + (_FALLBACK_LAN_V4 if cfg.enable_ipv4 else [])
        self.excluded = [n for n in (parse_subnet(e, True) for e in cfg.local_network_subnets) if n is not None]
        self.remote_filter = []
        if cfg.remote_ip_filter and cfg.remote_ip_filter[0].strip():
            for entry in cfg.remote_ip_filter:
                net = parse_subnet(entry) if "/" in entry else None
                if "/" not in entry:
                    try:
                        net = ipaddress.ip_network(ipaddress.ip_address(entry))
                    except ValueError:
                        net = None
                if net is not None:
                    self.remote_filter.append(net)

    @staticmethod
    def _contains(net, addr) -> bool:
        return net.version == addr.version and addr in net

    def is_in_local_network(self, addr) -> bool:
        addr = _unmap(addr)
        if addr.is_loopback:
            return True  # always, whatever LocalNetworkSubnets says
        for net in self.lan:
            if self._contains(net, addr):
                return not any(self._contains(x, addr) for x in self.excluded)
        return False

    def server_access(self, addr) -> str:
        """The RemoteAccessPolicyResult name."""
        addr = _unmap(addr)
        if self.is_in_local_network(addr):
            return "Allow"
        if not self.cfg.enable_remote_access:
            return "RejectDueToRemoteAccessDisabled"
        if not self.remote_filter:
            return "Allow"
        hit = any(self._contains(n, addr) for n in self.remote_filter)
        if self.cfg.is_remote_ip_filter_blacklist:
            return "RejectDueToIPBlocklist" if hit else "Allow"
        return "Allow" if hit else "RejectDueToNotAllowlistedRemoteIP"


def _url_encode(text: str) -> str:
    """HttpUtility.UrlEncode: unreserved -_.!*() kept, space as +, lower-case hex escapes."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote_plus(text, safe="-_.!*()"))


# ----------------------------------------------------------------------------- forwarded headers


def _unmap(addr):
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class ProxyTrust:
    """Known proxies and networks as Jellyfin hands them to ForwardedHeadersMiddleware."""

    def __init__(self, cfg: NetworkConfig):
        self.enabled = bool(cfg.known_proxies)
        self.proxies: set = set()
        self.networks: list = []
        if not self.enabled:
            return
        # ASP.NET Core's defaults, which Jellyfin does not clear when KnownProxies is set.
        self.proxies.add(ipaddress.ip_address("::1"))
        self.networks.append(ipaddress.ip_network("127.0.0.0/8"))
        for entry in cfg.known_proxies:
            self._add_entry(entry, cfg)

    def _add(self, addr, prefix, cfg):
        addr = _unmap(addr)
        if addr.version == 4 and not cfg.enable_ipv4:
            return
        if addr.version == 6 and not cfg.enable_ipv6:
            return
        if prefix == addr.max_prefixlen:
            self.proxies.add(addr)
        else:
            self.networks.append(ipaddress.ip_network("%s/%d" % (addr, prefix), strict=False))

    def _add_entry(self, entry, cfg):
        try:
            addr = ipaddress.ip_address(entry)
        except ValueError:
            addr = None
        if addr is not None:
            self._add(addr, addr.max_prefixlen, cfg)
            return
        if "/" in entry:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                return
            self._add(ipaddress.ip_address(entry.split("/")[0]), net.prefixlen, cfg)
            return
        try:
            infos = socket.getaddrinfo(entry, None, proto=socket.IPPROTO_TCP)
        except OSError:
            LOG.log("debug", "Jellyfin.StandIn.Network", "Known proxy {Host} did not resolve", entry)
            return
        for info in infos:
            try:
                self._add(ipaddress.ip_address(info[4][0].split("%")[0]), 128 if info[0] == socket.AF_INET6 else 32, cfg)
            except ValueError:
                pass

    def is_known(self, addr) -> bool:
        candidates = [addr]
        mapped = _unmap(addr)
        if mapped is not addr:
            candidates.insert(0, mapped)
        for a in candidates:
            if a in self.proxies:
                return True
            for net in self.networks:
                if a.version == net.version and a in net:
                    return True
        return False


def _comma_values(headers, name):
    out = []
    for raw in headers.get_all(name) or []:
        out.extend(v.strip() for v in raw.split(",") if v.strip())
    return out


def _parse_endpoint(text):
    """IPEndPoint.TryParse-like: address with optional port; returns (ip, port) or None."""
    if not text:
        return None
    try:
        return ipaddress.ip_address(text), 0
    except ValueError:
        pass
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?", text)
    if m:
        try:
            return ipaddress.IPv6Address(m.group(1)), int(m.group(2) or 0)
        except ValueError:
            return None
    m = re.fullmatch(r"([0-9.]+):(\d{1,5})", text)
    if m:
        try:
            return ipaddress.IPv4Address(m.group(1)), int(m.group(2))
        except ValueError:
            return None
    return None


_SCHEME_OK = re.compile(r"[+\-.0-9A-Za-z]+")
_HOST_OK = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[!$&'()\-.0-9A-Za-z_~]+)(:\d{1,5})?")


def apply_forwarders(trust: ProxyTrust, peer, headers, scheme, host):
    """Returns (client address, scheme, host) after X-Forwarded-* processing."""
    if not trust.enabled:
        return peer, scheme, host
    fwd_for = _comma_values(headers, "X-Forwarded-For")
    fwd_proto = _comma_values(headers, "X-Forwarded-Proto")
    fwd_host = _comma_values(headers, "X-Forwarded-Host")
    count = max(len(fwd_for), len(fwd_proto), len(fwd_host))  # ForwardLimit is null
    current_ip = peer
    new_ip = new_scheme = new_host = None
    for i in range(count):
        ip_text = fwd_for[len(fwd_for) - i - 1] if i < len(fwd_for) else None
        proto = fwd_proto[len(fwd_proto) - i - 1] if i < len(fwd_proto) else None
        fhost = fwd_host[len(fwd_host) - i - 1] if i < len(fwd_host) else None
        if current_ip is not None and not trust.is_known(current_ip):
            break
        parsed = _parse_endpoint(ip_text)
        if parsed is not None:
            current_ip = new_ip = parsed[0]
        elif ip_text:
            break
        if proto and _SCHEME_OK.fullmatch(proto):
            new_scheme = proto
        if fhost and _HOST_OK.fullmatch(fhost):
            new_host = fhost
    return (new_ip if new_ip is not None else peer,
            new_scheme if new_scheme is not None else scheme,
            new_host if new_host is not None else host)


# ----------------------------------------------------------------------------- helpers


def _path_difference(path1: str, path2: str) -> str:
    """Relative reference from path1 to path2, the way .NET's Uri.MakeRelativeUri builds it."""
    si = -1
    i = 0
    while i < len(path1) and i < len(path2):
        if path1[i] != path2[i]:
            break
        if path1[i] == "/":
            si = i
        i += 1
    if i == 0:
        return path2
    if i == len(path1) and i == len(path2):
        return ""
    ups = "../" * path1[i:].count("/")
    if not ups and len(path2) - 1 == si:
        return "./"
    rel = ups + path2[si + 1:]
    first = rel.split("/", 1)[0]
    if ":" in first:
        rel = "./" + rel
    return rel


def _parse_auth_header(value: str | None) -> dict:
    if not value or " " not in value:
        return {}
    scheme, rest = value.split(" ", 1)
    if scheme.lower() not in ("mediabrowser", "emby"):
        return {}
    out = {}
    for part in re.findall(r'([^=,\s]+)\s*=\s*("[^"]*"|[^,]*)', rest):
        out[part[0]] = urllib.parse.unquote_plus(part[1].strip().strip('"'))
    return out


MIME = {"mp4": "video/mp4", "m4v": "video/x-m4v", "mkv": "video/x-matroska", "webm": "video/webm",
        "ts": "video/mp2t", "avi": "video/x-msvideo", "mov": "video/quicktime"}


# What the stand-in's transcodes carry as audio (AAC stereo), taken from the limit as StreamBuilder does.
TRANSCODE_AUDIO_BITRATE = 192000


def _query_value(query: dict, name: str) -> str:
    """ASP.NET model binding: query keys match case-insensitively; the first value wins."""
    for key, values in query.items():
        if key.lower() == name.lower() and values:
            return values[0].strip()
    return ""


class Media:
    def __init__(self, directory: str, mib: int, bitrate: int = 20_000_000):
        if bitrate <= 0:
            raise ValueError("JELLYFIN_STANDIN_MEDIA_BITRATE must be bits per second above 0, got %d" % bitrate)
        self.bitrate = bitrate
        self.path = os.path.join(directory, "standin-media-%dMiB.bin" % mib)
        self.size = mib * MIB
        if not (os.path.exists(self.path) and os.path.getsize(self.path) == self.size):
            block = random.Random(0x4A656C6C).randbytes(MIB)
            tmp = self.path + ".tmp"
            with open(tmp, "wb") as f:
                for _ in range(mib):
                    f.write(block)
            os.replace(tmp, self.path)
        mtime = int(os.path.getmtime(self.path))
        self.mtime = mtime
        self.last_modified = email.utils.formatdate(mtime, usegmt=True)


def _parse_range(value: str, size: int):
    """Returns None (ignore header), 'unsatisfiable', or (start, end)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(.*)", value, re.I)
    if not m:
        return None
    specs = [s.strip() for s in m.group(1).split(",") if s.strip()]
    if len(specs) != 1:
        return None
    m = re.fullmatch(r"(\d*)\s*-\s*(\d*)", specs[0])
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if m.group(2) and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


# ----------------------------------------------------------------------------- HTTP


# ----------------------------------------------------------------------------- HTTPS

P12_PASS_ENV = "JELLYFIN_STANDIN_P12_PASS"


def load_certificate(path: str, password: str) -> ssl.SSLContext:
    """A server TLS context from a PKCS#12 file; ValueError says why it cannot be used."""
    if not os.path.isfile(path):
        raise ValueError("the file does not exist")
    openssl = shutil.which("openssl")
    if not openssl:
        raise ValueError("openssl is not installed")
    env = dict(os.environ)
    env[P12_PASS_ENV] = password  # never on a command line

    def pem(*flags):
        proc = subprocess.run([openssl, "pkcs12", "-in", path, "-passin", "env:" + P12_PASS_ENV, "-nodes", *flags],
                              env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ValueError("it is not a PKCS#12 file this password opens")
        return proc.stdout

    key, leaf, chain = pem("-nocerts"), pem("-nokeys", "-clcerts"), pem("-nokeys", "-cacerts")
    if "PRIVATE KEY-----" not in key:
        raise ValueError("it holds no private key")
    if "BEGIN CERTIFICATE-----" not in leaf:
        raise ValueError("it holds no certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    scratch = tempfile.mkdtemp(prefix="jellyfin-standin-tls-")  # 0700, removed right after
    try:
        files = {}
        for name, text in (("cert.pem", leaf + chain), ("key.pem", key)):
            files[name] = os.path.join(scratch, name)
            fd = os.open(files[name], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text)
        context.load_cert_chain(files["cert.pem"], files["key.pem"])
    except ssl.SSLError as exc:
        raise ValueError("its key and certificate do not load: %s" % exc.reason) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return context


def _host_name(host: str) -> str:
    """The Host header without its port ("[::1]:8096" -> "[::1]")."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.split(":", 1)[0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""

    def version_string(self):
        return "Kestrel"

    def log_message(self, format, *args):  # noqa: A002 - silence BaseHTTPRequestHandler
        pass

    def setup(self):
        self._tls_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self._tls_failed = True  # plain HTTP or a client that gave up: close
            self.request.settimeout(None)
        super().setup()

    def handle(self):
        if not self._tls_failed:
            super().handle()

    # -- plumbing

    def _send(self, status, body=b"", ctype=None, headers=None, head=False):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)
        self._status = status

    def _json(self, obj, status=200):
        self._send(status, json.dumps(obj, separators=(",", ":")).encode(), "application/json; charset=utf-8")

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        app = self.server.app
        self._status = 0
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path) or "/"
        query = urllib.parse.parse_qs(split.query)
        base = app.cfg.base_url
        peer = _unmap(ipaddress.ip_address(self.client_address[0].split("%")[0]))
        raw_peer = ipaddress.ip_address(self.client_address[0].split("%")[0])
        low, lbase = path.lower(), base.lower()
        body_len = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(body_len) if body_len > 0 else b""

        # BaseUrlRedirectionMiddleware runs before the forwarded headers are applied.
        if low == lbase or low == lbase + "/" or not low.startswith(lbase):
            if low in ("/health", "/health/"):
                LOG.log("debug", "Jellyfin.Api.Middleware.BaseUrlRedirectionMiddleware", "Redirecting /health check")
                self._send(302, headers={"Location": base + "/health"})
            else:
                LOG.log("debug", "Jellyfin.Api.Middleware.BaseUrlRedirectionMiddleware",
                        "Normalizing an URL at {LocalPath}", path)
                target = _path_difference(path, base + "/" + app.default_redirect)
                self._send(302, headers={"Location": target})
            self._request_log(method, path, str(peer))
            return
        if base:
            if not (low == lbase or low.startswith(lbase + "/")):
                self._send(404)
                self._request_log(method, path, str(peer))
                return
            path = path[len(base):] or "/"

        scheme = self.server.scheme
        host = self.headers.get("Host") or ""
        client, scheme, host = apply_forwarders(app.trust, raw_peer, self.headers, scheme, host)
        client = _unmap(client)
        self.client_ip, self.req_scheme, self.req_host = client, scheme, host
        self._api_path = path

        # UseHttpsRedirection, only when RequireHttps and HTTPS listens: every client, LAN and
        # loopback too. Jellyfin adds no HSTS header.
        if app.cfg.require_https and app.https_listening:
            name = _host_name(host)
            if scheme.lower() != "https" and name:
                port = app.cfg.internal_https_port
                location = "https://%s%s%s" % (name, "" if port == 443 else ":%d" % port, self.path)
                self._send(307, headers={"Location": location})
                self._request_log(method, path, str(client))
                return

        # IpBasedAccessValidationMiddleware: after the redirection, before every endpoint and the
        # websocket handler. A request from the server's own address (after forwarding) passes.
        local_ip = _unmap(ipaddress.ip_address(self.connection.getsockname()[0].split("%")[0]))
        if client != local_ip:
            verdict = app.lan.server_access(client)
            if verdict != "Allow":
                LOG.log("warning", "Jellyfin.Api.Middleware.IpBasedAccessValidationMiddleware",
                        "Blocking request to {Path} by {RemoteIP} due to IP filtering rule, reason: {Reason}",
                        _url_encode(path), _Raw(str(client)), _Raw(verdict))
                self._send(503)
                self._request_log(method, path, str(client))
                return

        if self.headers.get("Upgrade", "").lower() == "websocket" and method == "GET":
            self._websocket()
            self._request_log(method, path, str(client))
            return

        route = path.rstrip("/").lower() or "/"
        try:
            if route == "/health":
                self._send(200, b"Healthy", "text/plain", head=method == "HEAD")
            elif route == "/system/ping" and method in ("GET", "POST"):
                self._json(PRODUCT_NAME)
            elif route == "/system/info/public" and method == "GET":
                self._json(self._public_info(app))
            elif route == "/users/authenticatebyname" and method == "POST":
                self._authenticate(body, client)
            elif method in ("GET", "POST") and re.fullmatch(r"/items/[^/]+/playbackinfo", route):
                self._playback_info(route, query, body, client)
            elif method in ("GET", "HEAD") and re.fullmatch(r"/videos/[^/]+/stream(\.[a-z0-9]+)?", route):
                if _query_value(query, "static").lower() != "true" and _query_value(query, "videoBitRate"):
                    self._transcode(query, method == "HEAD")
                else:
                    self._stream(route, query, method == "HEAD")
            else:
                self._send(404)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self._request_log(method, path, str(client))

    def _request_log(self, method, path, client):
        LOG.log("debug", "Jellyfin.StandIn.RequestLog", "Request {Method} {Path} responded {StatusCode} to {RemoteIp}",
                method, path, self._status, client)

    # -- endpoints

    def _public_info(self, app):
        cfg = app.cfg
        if cfg.enable_published_server_uri_by_request and self.req_host:
            host = self.req_host
            default = {"http": ":80", "https": ":443"}.get(self.req_scheme.lower())
            if default and host.endswith(default):
                host = host[: -len(default)]
            local = "%s://%s%s" % (self.req_scheme, host, cfg.base_url)
        else:
            laddr = self.connection.getsockname()[0].split("%")[0]
            a = _unmap(ipaddress.ip_address(laddr))
            hostpart = "[%s]" % a if a.version == 6 else str(a)
            local = "http://%s:%d%s" % (hostpart, cfg.internal_http_port, cfg.base_url)
        return {
            "LocalAddress": local,
            "ServerName": app.server_name,
            "Version": app.version,
            "ProductName": PRODUCT_NAME,
            "OperatingSystem": "",
            "Id": app.system_id,
            "StartupWizardCompleted": app.system.is_startup_wizard_completed,
        }

    def _playback_info(self, route, query, body, client):
        """MediaInfoHelper.GetMaxBitrate, then StreamBuilder's choice for the one media source:
        direct play when no limit applies or the source's bitrate fits, else a transcoding URL
        whose VideoBitrate is the limit less the audio (at least 64 kbit/s)."""
        app = self.server.app
        asked = _query_value(query, "maxStreamingBitrate")
        if not asked and body:
            try:
                dto = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                dto = None
            if isinstance(dto, dict):
                asked = str(next((v for k, v in dto.items() if k.lower() == "maxstreamingbitrate" and v), ""))
        max_bitrate = int(asked) if asked.isdigit() else None
        limit = app.system.remote_client_bitrate_limit  # no per-user limit in the stand-in
        if limit > 0:
            local = app.lan.is_in_local_network(client)
            LOG.log("info", "Jellyfin.Api.Helpers.MediaInfoHelper",
                    "RemoteClientBitrateLimit: {0}, RemoteIP: {1}, IsInLocalNetwork: {2}",
                    limit, _Raw(str(client)), local)
            if not local:
                max_bitrate = min(max_bitrate or limit, limit)
        item_id = route.split("/")[2]
        source = {"Id": item_id, "Protocol": "File", "Container": "mp4", "Size": app.media.size,
                  "Bitrate": app.media.bitrate, "SupportsDirectPlay": True, "SupportsDirectStream": True,
                  "SupportsTranscoding": True}
        if max_bitrate and app.media.bitrate > max_bitrate:
            LOG.log("debug", "MediaBrowser.Model.Dlna.StreamBuilder",
                    "Bitrate exceeds limit: media bitrate: {MediaBitrate}, max bitrate: {MaxBitrate}",
                    app.media.bitrate, max_bitrate)
            video = max(max_bitrate - TRANSCODE_AUDIO_BITRATE, 64000)
            source.update(SupportsDirectPlay=False, SupportsDirectStream=False, TranscodingSubProtocol="http",
                          TranscodingContainer="mp4",
                          TranscodingUrl="/videos/%s/stream.mp4?MediaSourceId=%s&VideoCodec=h264&AudioCodec=aac"
                                         "&VideoBitrate=%d&AudioBitrate=%d" % (item_id, item_id, video,
                                                                               TRANSCODE_AUDIO_BITRATE))
        self._json({"MediaSources": [source], "PlaySessionId": uuid.uuid4().hex})

    def _transcode(self, query, head):
        """A progressive transcode (FileStreamResponseHelpers.GetTranscodedFile): no length, no
        ranges. Its size is what ffmpeg would write at the requested bitrates, never above the
        source's: the stand-in sends that share of the media file."""
        media = self.server.app.media
        video, audio = _query_value(query, "videoBitRate"), _query_value(query, "audioBitRate")
        total = (int(video) if video.isdigit() else 0) + (int(audio) if audio.isdigit() else TRANSCODE_AUDIO_BITRATE)
        length = media.size if total >= media.bitrate else media.size * total // media.bitrate
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "none")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._status = 200
        if head:
            return
        with open(media.path, "rb") as f:
            left = length
            while left > 0:
                chunk = f.read(min(left, 256 * 1024))
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                left -= len(chunk)
        self.wfile.write(b"0\r\n\r\n")

    def _error(self, status, message, method="POST"):
        LOG.log("error", "Jellyfin.Api.Middleware.ExceptionMiddleware",
                "Error processing request: {ExceptionMessage}. URL {Method} {Url}.",
                message.rstrip("."), method, self._api_path)
        self._send(status, b"Error processing request.", "text/plain")

    def _authenticate(self, body, client):
        app = self.server.app
        try:
            req = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            req = None
        if not isinstance(req, dict):
            self._json({"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                        "title": "One or more validation errors occurred.", "status": 400}, 400)
            return
        req = {k.lower(): v for k, v in req.items()}
        username = req.get("username")
        password = req.get("pw") or ""
        auth = _parse_auth_header(self.headers.get("Authorization") or self.headers.get("X-Emby-Authorization"))
        for key, name in (("Client", "request.App"), ("DeviceId", "request.DeviceId"),
                          ("Device", "request.DeviceName"), ("Version", "request.AppVersion")):
            if not auth.get(key):
                msg = ("Value cannot be null. (Parameter '%s')" if auth.get(key) is None
                       else "The value cannot be an empty string. (Parameter '%s')") % name
                self._error(400, msg)
                return
        if not isinstance(username, str) or not username.strip():
            self._error(400, "Invalid username (Parameter 'name')")
            return
        ip = str(client)
        match = next((u for u in app.users if u.lower() == username.lower()), None)
        category = "Jellyfin.Server.Implementations.Users.UserManager"
        if match is not None and app.users[match] == password:
            LOG.log("info", category, "Authentication request for {UserName} has succeeded.", match)
            self._json({
                "User": {"Name": match, "ServerId": app.system_id,
                         "Id": uuid.uuid5(uuid.NAMESPACE_OID, match.lower()).hex},
                "SessionInfo": {"RemoteEndPoint": ip, "Client": auth["Client"], "DeviceId": auth["DeviceId"]},
                "AccessToken": uuid.uuid4().hex,
                "ServerId": app.system_id,
            })
            return
        LOG.log("info", category, "Authentication request for {UserName} has been denied (IP: {IP}).",
                match if match is not None else username, ip)
        self._error(401, "Invalid username or password entered.")

    def _stream(self, route, query, head):
        media = self.server.app.media
        m = re.fullmatch(r"/videos/[^/]+/stream(?:\.([a-z0-9]+))?", route)
        container = m.group(1) or (query.get("container") or [""])[0].lower()
        ctype = MIME.get(container, "video/mp4" if not container else "application/octet-stream")
        size = media.size
        status, start, end = 200, 0, size - 1
        headers = {"Accept-Ranges": "bytes", "Last-Modified": media.last_modified}
        rng = self.headers.get("Range")
        if rng:
            valid = True
            if_range = self.headers.get("If-Range")
            if if_range:
                when = None
                if not if_range.strip().startswith(('"', "W/")):
                    try:
                        when = email.utils.parsedate_to_datetime(if_range)
                    except (TypeError, ValueError):
                        when = None
                if when is not None and media.mtime > when.timestamp():
                    valid = False
            parsed = _parse_range(rng, size) if valid else None
            if parsed == "unsatisfiable":
                headers["Content-Range"] = "bytes */%d" % size
                self._send(416, ctype=ctype, headers=headers)
                return
            if parsed is not None:
                status, (start, end) = 206, parsed
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self._status = status
        if head:
            return
        self.wfile.flush()
        with open(media.path, "rb") as f:
            self.connection.sendfile(f, offset=start, count=length)

    # -- websocket

    def _websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.headers.get("Sec-WebSocket-Version") != "13" or not key:
            self._send(400)
            return
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", "websocket")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self._status = 101
        self.close_connection = True
        ip = str(self.client_ip)
        cat = "Emby.Server.Implementations.HttpServer.WebSocketManager"
        LOG.log("info", cat, "WS {IP} request", ip)
        sock = self.connection
        self._ws_send(sock, 0x1, json.dumps({"Data": 60, "MessageId": uuid.uuid4().hex,
                                             "MessageType": "ForceKeepAlive"}).encode())
        try:
            while True:
                frame = self._ws_read(sock)
                if frame is None:
                    break
                opcode, payload = frame
                if opcode == 0x8:
                    self._ws_send(sock, 0x8, payload[:2] if len(payload) >= 2 else b"")
                    break
                if opcode == 0x9:
                    self._ws_send(sock, 0xA, payload)
                elif opcode == 0x1:
                    try:
                        msg = json.loads(payload.decode("utf-8"))
                    except (ValueError, UnicodeDecodeError):
                        continue
                    if isinstance(msg, dict) and msg.get("MessageType") == "KeepAlive":
                        self._ws_send(sock, 0x1, json.dumps({"MessageId": uuid.uuid4().hex,
                                                             "MessageType": "KeepAlive"}).encode())
        except OSError:
            pass
        LOG.log("info", cat, "WS {IP} closed", ip)

    def _ws_read(self, sock):
        def exact(n):
            data = b""
            while len(data) < n:
                chunk = self.rfile.read(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data

        hdr = exact(2)
        if hdr is None:
            return None
        opcode = hdr[0] & 0x0F
        masked = hdr[1] & 0x80
        length = hdr[1] & 0x7F
        if length == 126:
            ext = exact(2)
            if ext is None:
                return None
            length = struct.unpack("!H", ext)[0]
        elif length == 127:
            ext = exact(8)
            if ext is None:
                return None
            length = struct.unpack("!Q", ext)[0]
        mask = exact(4) if masked else b"\0\0\0\0"
        payload = exact(length) if length else b""
        if mask is None or payload is None:
            return None
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return opcode, payload

    @staticmethod
    def _ws_send(sock, opcode, payload):
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        sock.sendall(hdr + payload)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, family, app, dualstack=False, tls=None):
        self.address_family = family
        self.app = app
        self._dualstack = dualstack
        self.tls = tls
        self.scheme = "https" if tls else "http"
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls is None:
            return sock, addr
        # The handshake runs in the request's thread (Handler.setup), not in the accept loop.
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if self._dualstack else 1)
        socketserver.TCPServer.server_bind(self)
        self.server_name = "jellyfin"
        self.server_port = self.server_address[1]


# ----------------------------------------------------------------------------- main


class UsageParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write("ERROR(S):\n  %s\n" % message)
        sys.exit(1)


def parse_args(argv):
    p = UsageParser(prog="jellyfin", add_help=True)
    p.add_argument("-d", "--datadir")
    p.add_argument("-w", "--webdir")
    p.add_argument("-C", "--cachedir")
    p.add_argument("-c", "--configdir")
    p.add_argument("-l", "--logdir")
    p.add_argument("--nowebclient", action="store_true")
    p.add_argument("--ffmpeg")
    p.add_argument("--service", action="store_true")
    p.add_argument("--package-name")
    p.add_argument("--published-server-url")
    p.add_argument("--nonetchange", action="store_true")
    p.add_argument("--restore-archive")
    p.add_argument("--version", action="version",
                   version=os.environ.get("JELLYFIN_STANDIN_VERSION", DEFAULT_VERSION))
    return p.parse_args(argv)


class App:
    pass


def _fail(message: str) -> int:
    sys.stderr.write("jellyfin (stand-in): %s\n" % message)
    sys.stderr.flush()
    try:
        LOG.log("fatal", "Main", "Error while starting server: {Message}", message)
    except Exception:  # noqa: BLE001 - logging must not mask the original failure
        pass
    return 1


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    env = os.environ
    datadir = os.path.abspath(args.datadir or env.get("JELLYFIN_DATA_DIR") or "/var/lib/jellyfin")
    configdir = os.path.abspath(args.configdir or env.get("JELLYFIN_CONFIG_DIR") or "/etc/jellyfin")
    cachedir = os.path.abspath(args.cachedir or env.get("JELLYFIN_CACHE_DIR") or "/var/cache/jellyfin")
    logdir = os.path.abspath(args.logdir or env.get("JELLYFIN_LOG_DIR") or "/var/log/jellyfin")
    webdir = os.path.abspath(args.webdir or env.get("JELLYFIN_WEB_DIR") or "/usr/share/jellyfin/web")
    try:
        for d in (datadir, logdir, configdir, cachedir):
            os.makedirs(d, exist_ok=True)
    except OSError as exc:
        sys.stderr.write("Error whilst attempting to create folder\n%s\n" % exc)
        return 1
    LOG.logdir = logdir

    app = App()
    app.version = env.get("JELLYFIN_STANDIN_VERSION", DEFAULT_VERSION)
    app.server_name = env.get("JELLYFIN_STANDIN_SERVER_NAME") or socket.gethostname()
    app.default_redirect = "api-docs/swagger" if args.nowebclient else "web/"
    main_log = "Main"
    LOG.log("info", main_log, "Jellyfin version: {Version}", app.version)
    LOG.log("info", main_log, "Program data path: {ProgramDataPath}", datadir)
    LOG.log("info", main_log, "Log directory path: {LogDirectoryPath}", logdir)
    LOG.log("info", main_log, "Config directory path: {ConfigurationDirectoryPath}", configdir)
    LOG.log("info", main_log, "Cache path: {CachePath}", cachedir)
    LOG.log("info", main_log, "Web resources path: {WebPath}", webdir)

    network_xml = os.path.join(configdir, "network.xml")
    if not os.path.exists(network_xml):
        # Like the real server on its first start: save the defaults.
        try:
            with open(network_xml, "x", encoding="utf-8", newline="\n") as f:
                f.write(DEFAULT_NETWORK_XML)
        except OSError as exc:
            return _fail("cannot write network.xml: %s" % exc)
    try:
        app.cfg = NetworkConfig.load(network_xml)
    except ConfigLoadError as exc:
        # BaseConfigurationManager.LoadConfiguration: log, then run on the defaults. The file
        # stays as it is (named configurations are written only when saved).
        LOG.log("error", "Emby.Server.Implementations.AppBase.BaseConfigurationManager",
                "Error loading configuration file: {Path}", network_xml)
        LOG.exception("System.InvalidOperationException: There is an error in XML document. ---> %s" % exc)
        app.cfg = NetworkConfig()
    try:
        app.system = SystemConfig.load_or_reset(os.path.join(configdir, "system.xml"))
    except OSError as exc:
        return _fail("cannot write system.xml: %s" % exc)
    app.lan = LanPolicy(app.cfg)
    try:
        mib = int(env.get("JELLYFIN_STANDIN_MEDIA_MIB", "256"))
        users_path = env.get("JELLYFIN_STANDIN_USERS")
        app.users = {}
        if users_path:
            with open(users_path, encoding="utf-8") as f:
                app.users = {str(k): str(v) for k, v in json.load(f).items()}
        id_path = os.path.join(datadir, "data", "device.txt")
        system_id = None
        if os.path.exists(id_path):
            with open(id_path, encoding="utf-8") as f:
                raw = f.read().strip()
            try:
                system_id = uuid.UUID(raw).hex
            except ValueError:
                system_id = None
        if system_id is None:
            os.makedirs(os.path.dirname(id_path), exist_ok=True)
            system_id = uuid.uuid4().hex
            with open(id_path, "w", encoding="utf-8") as f:
                f.write(system_id)
        app.system_id = system_id
        app.media = Media(cachedir, mib, int(env.get("JELLYFIN_STANDIN_MEDIA_BITRATE", "20000000")))
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    app.trust = ProxyTrust(app.cfg)

    cfg = app.cfg
    port = cfg.internal_http_port
    binds = []
    if cfg.local_network_addresses:
        for entry in cfg.local_network_addresses:
            try:
                a = ipaddress.ip_address(entry.split("%")[0])
            except ValueError:
                return _fail("LocalNetworkAddresses entry is not an IP address: %s" % entry)
            binds.append((str(a), socket.AF_INET6 if a.version == 6 else socket.AF_INET, False, str(a)))
    elif cfg.enable_ipv4 and cfg.enable_ipv6:
        binds.append(("::", socket.AF_INET6, True, "all interfaces"))
    elif cfg.enable_ipv6:
        binds.append(("::", socket.AF_INET6, False, "::"))
    else:
        binds.append(("0.0.0.0", socket.AF_INET, False, "0.0.0.0"))

    # HTTPS: only with EnableHttps and a certificate that loads (read once, here).
    tls = None
    if cfg.enable_https and cfg.certificate_path:
        try:
            tls = load_certificate(cfg.certificate_path, cfg.certificate_password)
        except ValueError as exc:
            LOG.log("error", "Emby.Server.Implementations.ApplicationHost",
                    "Failed to load certificate from {CertificatePath}: {Reason}", cfg.certificate_path, str(exc))
    app.https_listening = tls is not None
    listeners = [(port, None)] + ([(cfg.internal_https_port, tls)] if tls else [])

    servers = []
    try:
        for host, family, dual, label in binds:
            # One line per address, as Jellyfin logs it; the HTTPS port shares the address.
            LOG.log("info", main_log, "Kestrel is listening on {Address}", label if label == "all interfaces" else _Raw(label))
            for listen_port, context in listeners:
                servers.append(Server((host, listen_port), family, app, dualstack=dual, tls=context))
    except OSError as exc:
        for s in servers:
            s.server_close()
        LOG.log("error", main_log, "Kestrel failed to start! This is most likely due to an invalid address or port "
                "bind - correct your bind configuration in network.xml and try again")
        return _fail("cannot listen on port %d: %s" % (listen_port, exc))

    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for s in servers]
    for t in threads:
        t.start()
    LOG.log("info", main_log, "Startup complete {Time}", _Raw("0:00:00.1"))
    while not stop.wait(0.5):
        pass
    LOG.log("info", "Microsoft.Hosting.Lifetime", "Application is shutting down...")
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


class _Raw:
    """A non-string log argument (Serilog renders those without quotes)."""

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text


if __name__ == "__main__":
    sys.exit(main())
