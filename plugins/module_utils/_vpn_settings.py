# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of every value the wireguard and openvpn roles write into a configuration file.

wg-quick runs the PostUp/PreUp lines of the file it reads as root, and an OpenVPN
configuration can name scripts to run; nftables rules are written with interface names in
them. A value holding a newline, a quote or a second section would add lines of its own, so
each value is checked against what the program accepts there, before anything is written,
and the error names the option (never the value of a key: a pasted private key must not
reach a log).

Plain Python, no Ansible imports: the filter vpn_settings_check wraps check_settings();
_wireguard_config uses the same checks for the client files.
"""

from __future__ import annotations

import ipaddress
import re

# \A and \Z, not ^ and $: "$" also matches before a final newline, which would let a name
# or a key carry a line break into a configuration file.
PEER_NAME_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z"
_PEER_NAME = re.compile(PEER_NAME_PATTERN)
# 43 base64 characters (the last one carries 4 bits) and '=': what `wg` prints for a 32-byte key.
_KEY = re.compile(r"\A[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\Z")
_CLIENT_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_IFNAME = re.compile(r"\A[A-Za-z0-9_=+.-]{1,15}\Z")
_LABEL = re.compile(r"\A(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_INSTANCE = re.compile(r"\A[A-Za-z0-9_-]{1,32}\Z")

# File stems of the OpenVPN PKI (tasks/pki.yml): a client may not carry one of these names.
OPENVPN_RESERVED = ("ca", "crl", "tls-crypt")


class VpnSettingsError(Exception):
    """A value that cannot be written safely; the text names the option."""


def is_key(value):
    """A WireGuard key exactly as `wg` prints it: 44 characters, nothing before or after."""
    return isinstance(value, str) and bool(_KEY.match(value))


def is_hostname(value):
    """A DNS name (letters, digits, '-' per label, dot-separated, optional final dot)."""
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    return all(_LABEL.match(label) for label in labels)


def _ip(value):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def check_host(value, option, required=False):
    """An endpoint: a DNS name, an IPv4 address or an IPv6 address (brackets allowed)."""
    if value is None or value == "":
        if required:
            raise VpnSettingsError("%s is empty: set it to the DNS name or public address clients connect to" % option)
        return ""
    text = value if isinstance(value, str) else str(value)
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if _ip(bare) is not None or is_hostname(text):
        return text
    raise VpnSettingsError(
        "%s: %r is neither a DNS name (letters, digits, '-' and '.') nor an IP address; set it to the "
        "name or public address clients connect to" % (option, text))


def check_interface(value, option, required=True):
    if (value is None or value == "") and not required:
        return ""
    if not isinstance(value, str) or not _IFNAME.match(value):
        raise VpnSettingsError("%s: %r is not an interface name (1-15 letters, digits or _=+.-)" % (option, value))
    return value


def check_dns(values, option, search_domains=False):
    """DNS servers: IP addresses; with search_domains (wg-quick), also DNS names, which
    wg-quick sets as search domains."""
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise VpnSettingsError("%s must be a list of IP addresses, got %r" % (option, values))
    out = []
    for value in values:
        text = value if isinstance(value, str) else str(value)
        if _ip(text) is not None or (search_domains and is_hostname(text)):
            out.append(text)
            continue
        raise VpnSettingsError("%s: %r is not an IP address%s" % (
            option, text, " or a search domain" if search_domains else " (OpenVPN pushes only addresses)"))
    return out


def check_ports(values, option):
    out = []
    for value in values or []:
        if isinstance(value, bool) or not str(value).isdigit() or not 0 < int(value) < 65536:
            raise VpnSettingsError("%s: %r is not a TCP port number between 1 and 65535" % (option, value))
        if int(value) not in out:
            out.append(int(value))
    return out


def check_lines(values, option):
    """Whole directives, one per entry: no line breaks (an entry would become several)."""
    for value in values or []:
        text = value if isinstance(value, str) else str(value)
        if any(c in text for c in "\r\n\x00") or text.lstrip().startswith("<"):
            raise VpnSettingsError(
                "%s: each entry must be one directive on one line (no line break, no inline <file> block); "
                "got %r" % (option, text))
    return list(values or [])


def check_peers(peers, option="wireguard_peers"):
    """wireguard_peers: names fit for file names, public keys as `wg` prints them, sane numbers."""
    names = []
    for index, peer in enumerate(peers or []):
        if not isinstance(peer, dict):
            raise VpnSettingsError("%s[%d] must be a dictionary with a name" % (option, index))
        name = peer.get("name")
        if not isinstance(name, str) or not _PEER_NAME.match(name):
            raise VpnSettingsError(
                "%s[%d]: peer name %r must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or "
                "digit (it names the peer's files)" % (option, index, name))
        names.append(name)
        key = peer.get("public_key")
        if key not in (None, "") and not is_key(key):
            # Not echoed: a pasted value may be a private key.
            raise VpnSettingsError(
                "%s: peer %s has a public_key that is not a WireGuard public key (exactly 44 base64 "
                "characters ending in '=', as 'wg pubkey' prints it, on one line)" % (option, name))
        keepalive = peer.get("persistent_keepalive", 0)
        if isinstance(keepalive, bool) or not str(keepalive or 0).isdigit() or int(keepalive or 0) > 65535:
            raise VpnSettingsError("%s: peer %s has persistent_keepalive %r; use seconds from 0 (off) to 65535"
                                   % (option, name, keepalive))
        if not isinstance(peer.get("psk", True), bool):
            raise VpnSettingsError("%s: peer %s has psk %r; use true or false" % (option, name, peer.get("psk")))
    return names


def check_clients(names, server_cn, option="openvpn_clients"):
    """openvpn_clients: names fit for file names, unique, none equal to a PKI file's stem."""
    if not isinstance(names, (list, tuple)):
        raise VpnSettingsError("%s must be a list of client names" % option)
    seen = []
    reserved = set(OPENVPN_RESERVED) | {server_cn}
    for name in names:
        if not isinstance(name, str) or not _CLIENT_NAME.match(name):
            raise VpnSettingsError(
                "%s: %r must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
                "(it names the client's key, certificate and profile)" % (option, name))
        if name.lower() in {r.lower() for r in reserved}:
            raise VpnSettingsError(
                "%s: %r is the name of a file of the server's PKI (reserved: %s); choose another client name"
                % (option, name, ", ".join(sorted(reserved))))
        if name in seen:
            raise VpnSettingsError("%s: %r is listed twice; client names must be unique" % (option, name))
        seen.append(name)
    return seen


def check_settings(settings, role):
    """Check the role's settings (a dict of option name -> value); return True or raise."""
    s = dict(settings or {})
    if role == "wireguard":
        check_interface(s.get("wireguard_interface"), "wireguard_interface")
        check_interface(s.get("wireguard_lan_interface"), "wireguard_lan_interface", required=False)
        check_host(s.get("wireguard_endpoint_host"), "wireguard_endpoint_host")
        check_dns(s.get("wireguard_client_dns"), "wireguard_client_dns", search_domains=True)
        check_ports(s.get("wireguard_host_ports"), "wireguard_host_ports")
        check_peers(s.get("wireguard_peers"))
    elif role == "openvpn":
        instance = s.get("openvpn_instance")
        if not isinstance(instance, str) or not _INSTANCE.match(instance):
            raise VpnSettingsError("openvpn_instance: %r must be 1-32 letters, digits, _ or -" % (instance,))
        check_interface(s.get("openvpn_interface"), "openvpn_interface")
        check_interface(s.get("openvpn_lan_interface"), "openvpn_lan_interface", required=False)
        check_host(s.get("openvpn_endpoint_host"), "openvpn_endpoint_host")
        check_dns(s.get("openvpn_client_dns"), "openvpn_client_dns")
        check_ports(s.get("openvpn_host_ports"), "openvpn_host_ports")
        check_lines(s.get("openvpn_server_extra_directives"), "openvpn_server_extra_directives")
        check_clients(s.get("openvpn_clients"), "%s-server" % instance)
    else:
        raise VpnSettingsError("vpn_settings_check: role must be wireguard or openvpn, got %r" % (role,))
    return True
