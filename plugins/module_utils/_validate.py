# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validators for module options, shared by every module of the collection.

Plain Python, no AnsibleModule. Each validator takes the option name and the value, returns
the value in canonical form (IPv6 compressed, hostnames lower case, ...) and raises
ValidationError when the value is wrong. str(ValidationError) is a complete message for
fail_json: it names the option, the bad value, what was expected and what to change.
Never pass a secret to a validator: the message repeats the value.
"""

from __future__ import annotations

import ipaddress
import re


class ValidationError(ValueError):
    """A user-supplied value is wrong."""

    def __init__(self, option, value, expected, hint):
        self.option = option
        self.value = value
        self.expected = expected
        self.hint = hint
        super().__init__(str(self))

    def __str__(self):
        return "%s: %r is not valid: expected %s. %s" % (self.option, self.value, self.expected, self.hint)


_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
# RFC 3986 pchar without percent (checked separately) plus "/" as the segment separator.
_PATH_CHARS = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+.~][0-9A-Za-z.+~-]*)?$")


def _text(option, value, expected):
    if not isinstance(value, str):
        raise ValidationError(option, value, expected, "Give the value as a string.")
    return value.strip()


def validate_ip(option, value):
    """An IPv4 or IPv6 address, without prefix length. Returns the compressed form."""
    expected = "an IPv4 or IPv6 address such as 192.168.1.10 or fd00::10"
    text = _text(option, value, expected)
    if "/" in text:
        raise ValidationError(
            option,
            value,
            expected,
            "Drop the prefix length: write %s." % text.split("/", 1)[0],
        )
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        raise ValidationError(option, value, expected, "Correct the address.") from None


def validate_network(option, value):
    """A CIDR network with no host bits set. Returns the compressed form."""
    expected = "a CIDR network such as 192.168.1.0/24 or fd00::/64"
    text = _text(option, value, expected)
    if "/" not in text:
        raise ValidationError(option, value, expected, "Add the prefix length, for example %s/24." % text)
    try:
        return ipaddress.ip_network(text, strict=True).compressed
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValidationError(
            option, value, expected, "Correct the address or the prefix length."
        ) from None
    raise ValidationError(
        option,
        value,
        expected,
        "Host bits are set; the network that contains this address is %s." % network.compressed,
    )


def validate_hostname(option, value):
    """A DNS name after RFC 1123: labels of 1-63 letters, digits, hyphens; 253 characters
    in all. A final dot is allowed and dropped. Returns the name in lower case."""
    expected = "a hostname (RFC 1123: labels of letters, digits and hyphens, 1-63 characters each, 253 in all)"
    text = _text(option, value, expected)
    name = text[:-1] if text.endswith(".") else text
    if not name:
        raise ValidationError(option, value, expected, "Give a name such as proxy.home.arpa.")
    if len(name) > 253:
        raise ValidationError(
            option, value, expected, "The name has %d characters; shorten it to 253 or fewer." % len(name)
        )
    for label in name.split("."):
        if not label:
            raise ValidationError(option, value, expected, "Remove the empty label (two dots in a row or a leading dot).")
        if len(label) > 63:
            raise ValidationError(
                option, value, expected, "The label %r has %d characters; shorten it to 63 or fewer." % (label, len(label))
            )
        if not _LABEL.match(label):
            raise ValidationError(
                option,
                value,
                expected,
                "The label %r may hold only letters, digits and inner hyphens." % label,
            )
    if name.rsplit(".", 1)[-1].isdigit():
        raise ValidationError(
            option, value, expected, "The last label is all digits: if this is meant as an IP address, correct it."
        )
    return name.lower()


def validate_ip_or_network(option, value):
    """An IP address or a CIDR network; canonical form returned."""
    expected = "an IP address or a CIDR network such as 192.168.1.10 or 192.168.1.0/24"
    text = _text(option, value, expected)
    if "/" in text:
        try:
            return validate_network(option, text)
        except ValidationError as exc:
            raise ValidationError(option, value, expected, exc.hint) from None
    try:
        return validate_ip(option, text)
    except ValidationError:
        raise ValidationError(option, value, expected, "Correct the address.") from None


def validate_ip_network_or_hostname(option, value):
    """An IP address, a CIDR network or a hostname (as Jellyfin's KnownProxies takes)."""
    expected = "an IP address, a CIDR network or a hostname"
    text = _text(option, value, expected)
    if "/" in text:
        return validate_ip_or_network(option, text)
    if ":" in text or re.match(r"^[0-9.]+$", text):
        try:
            return validate_ip(option, text)
        except ValidationError:
            raise ValidationError(option, value, expected, "Correct the address.") from None
    try:
        return validate_hostname(option, text)
    except ValidationError as exc:
        raise ValidationError(option, value, expected, exc.hint) from None


def validate_port(option, value):
    """A TCP/UDP port number 1-65535."""
    expected = "a port number from 1 to 65535"
    if isinstance(value, bool):
        raise ValidationError(option, value, expected, "Give a number, not a boolean.")
    if isinstance(value, int):
        port = value
    elif isinstance(value, str) and re.match(r"^\s*\d+\s*$", value):
        port = int(value)
    else:
        raise ValidationError(option, value, expected, "Give a whole number.")
    if not 1 <= port <= 65535:
        raise ValidationError(option, value, expected, "Choose a port from 1 to 65535.")
    return port


def validate_base_url(option, value):
    """A URL path prefix as Jellyfin's BaseUrl: returned normalized as Jellyfin does
    (empty stays empty, a leading "/" is added, one trailing "/" removed)."""
    expected = "a URL path prefix such as /jellyfin, or an empty string for none"
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(option, value, expected, "Give the value as a string.")
    if not value.strip():
        return ""
    if value != value.strip() or re.search(r"\s", value):
        raise ValidationError(option, value, expected, "Remove the spaces; encode a needed one as %20.")
    if "://" in value:
        raise ValidationError(
            option, value, expected, "Give only the path part of the address, for example /jellyfin."
        )
    for char in "?#":
        if char in value:
            raise ValidationError(
                option, value, expected, "Remove %r: a query or fragment cannot be part of the base URL." % char
            )
    if "\\" in value:
        raise ValidationError(option, value, expected, "Use '/' instead of '\\' between path segments.")
    if not _PATH_CHARS.match(value):
        bad = sorted({c for c in value if not _PATH_CHARS.match(c)})
        raise ValidationError(
            option, value, expected, "Remove or percent-encode the characters %s." % " ".join(repr(c) for c in bad)
        )
    if _PERCENT.search(value):
        raise ValidationError(option, value, expected, "A '%' must start a percent-encoding such as %20.")
    path = value if value.startswith("/") else "/" + value
    if path.endswith("/"):
        path = path[:-1]
    segments = path.split("/")[1:]
    if any(segment in (".", "..") for segment in segments):
        raise ValidationError(option, value, expected, "Remove the '.' and '..' segments.")
    if any(segment == "" for segment in segments):
        raise ValidationError(option, value, expected, "Remove the empty segment ('//').")
    return path


def parse_version(option, value):
    """A Jellyfin version such as 10.11.7 (a leading v and a suffix like -rc1 allowed).
    Returns a (major, minor, patch) tuple."""
    expected = "a version such as 10.11.7"
    text = _text(option, value, expected)
    match = _VERSION.match(text)
    if not match:
        raise ValidationError(option, value, expected, "Give the server version as major.minor.patch.")
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
