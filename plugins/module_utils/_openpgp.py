# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenPGP public keyrings as apt uses them: read the keys' fingerprints (plain Python, no gpg).

RFC 4880 (packets, ASCII armor, v4 fingerprints) and RFC 9580 (v6 fingerprints). A vendor's
keyring file (binary, or ASCII-armored) holds public-key packets (tag 6) and subkey packets
(tag 14); a v4 key's fingerprint is the SHA-1 of 0x99, the two-octet body length and the
packet body; a v6 key's is the SHA-256 of 0x9B, the four-octet length and the body (v5,
from the LibrePGP drafts: 0x9A, same shape).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

ARMOR_BEGIN = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
ARMOR_END = b"-----END PGP PUBLIC KEY BLOCK-----"
TAG_PUBLIC_KEY = 6
TAG_PUBLIC_SUBKEY = 14


class OpenPGPError(Exception):
    """Not a readable OpenPGP public keyring."""


def normalize_fingerprint(value):
    """'CC94 B39C ...' -> 'CC94B39C...'; 40 (v4) or 64 (v6) hex digits, else ValueError."""
    text = re.sub(r"[\s:]", "", str(value or "")).upper()
    if text.startswith("0X"):
        text = text[2:]
    if not re.fullmatch(r"[0-9A-F]{40}|[0-9A-F]{64}", text):
        raise ValueError("%r is not a key fingerprint (40 hexadecimal digits for an OpenPGP v4 key, 64 for v6)" % value)
    return text


def is_armored(data):
    return data.lstrip().startswith(ARMOR_BEGIN)


def dearmor(data):
    """The binary packets of an ASCII-armored public key block (the CRC line is not needed)."""
    text = data.strip()
    if not text.startswith(ARMOR_BEGIN) or ARMOR_END not in text:
        raise OpenPGPError("the ASCII armor has no BEGIN/END PGP PUBLIC KEY BLOCK lines")
    body = text[len(ARMOR_BEGIN):text.index(ARMOR_END)]
    lines = body.replace(b"\r", b"").split(b"\n")
    # Armor headers ("Version: ...", "Comment: ...") end at the first empty line.
    if b"" in lines[1:]:
        first_blank = lines.index(b"", 1)
        if any(b":" in line for line in lines[1:first_blank]):
            lines = lines[first_blank + 1:]
    payload = b"".join(line.strip() for line in lines if line.strip() and not line.strip().startswith(b"="))
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpenPGPError("the ASCII armor does not hold valid base64: %s" % exc) from None


def packets(data):
    """Yield (tag, body) for each packet of binary OpenPGP data."""
    pos = 0
    size = len(data)
    while pos < size:
        head = data[pos]
        pos += 1
        if not head & 0x80:
            raise OpenPGPError("byte %d is not the start of an OpenPGP packet" % (pos - 1))
        if head & 0x40:  # new format
            tag = head & 0x3F
            body = b""
            while True:
                if pos >= size:
                    raise OpenPGPError("a packet length runs past the end of the data")
                first = data[pos]
                if first < 192:
                    length, pos = first, pos + 1
                    partial = False
                elif first < 224:
                    if pos + 1 >= size:
                        raise OpenPGPError("a packet length runs past the end of the data")
                    length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
                    partial = False
                elif first == 255:
                    length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
                    partial = False
                else:
                    length, pos = 1 << (first & 0x1F), pos + 1
                    partial = True
                body += data[pos:pos + length]
                pos += length
                if not partial:
                    break
        else:  # old format
            tag = (head >> 2) & 0x0F
            kind = head & 0x03
            if kind == 3:
                length = size - pos
            else:
                width = (1, 2, 4)[kind]
                length, pos = int.from_bytes(data[pos:pos + width], "big"), pos + width
            body = data[pos:pos + length]
            pos += length
        if pos > size:
            raise OpenPGPError("a packet runs past the end of the data")
        yield tag, body


def _fingerprint(body):
    version = body[0] if body else 0
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version == 5:
        return hashlib.sha256(b"\x9a" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    if version == 6:
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    return None  # v3 keys (MD5 fingerprints) are not accepted by apt any more


def keyring_fingerprints(data):
    """{'primary': [...], 'subkeys': [...], 'armored': bool} of a keyring file's bytes."""
    armored = is_armored(data)
    binary = dearmor(data) if armored else data
    primary, subkeys = [], []
    for tag, body in packets(binary):
        if tag in (TAG_PUBLIC_KEY, TAG_PUBLIC_SUBKEY):
            fpr = _fingerprint(body)
            if fpr:
                (primary if tag == TAG_PUBLIC_KEY else subkeys).append(fpr)
    if not primary:
        raise OpenPGPError("no OpenPGP public key in it")
    return {"primary": primary, "subkeys": subkeys, "armored": armored}


def binary_keyring(data):
    """The bytes to install for apt's Signed-By (binary packets; an armored file is dearmored)."""
    return dearmor(data) if is_armored(data) else data


def holds(data, fingerprint):
    """Whether the keyring bytes hold a key (primary or subkey) with this fingerprint."""
    info = keyring_fingerprints(data)
    return normalize_fingerprint(fingerprint) in info["primary"] + info["subkeys"]


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def ensure_keyring(dest, download, fingerprint, mode=0o644, check_mode=False, pin_name="fingerprint", url=""):
    """Make dest a binary keyring that holds the pinned key, downloading it only when needed.

    download() returns the vendor's key file as bytes (or raises OSError). The installed file is
    kept while it holds a key with this fingerprint; otherwise (missing, unreadable, a rotated
    key under the same name, ASCII armor) the vendor's file is fetched, checked against the
    pin, and written atomically. A download that does not hold the pinned key is refused and
    dest stays as it was. Returns the module result (changed, fingerprints, diff).
    Raises OpenPGPError with a message for the user.
    """
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file

    try:
        pin = normalize_fingerprint(fingerprint)
    except ValueError as exc:
        raise OpenPGPError("%s: %s. Give the fingerprint the vendor publishes for its signing key." % (pin_name, exc)) from None
    current = _read(dest)
    before = []
    if current is not None:
        try:
            info = keyring_fingerprints(current)
            before = info["primary"] + info["subkeys"]
            if pin in before and not info["armored"]:
                attrs = _atomic_file.read_attributes(dest)
                changed = attrs.mode != mode
                if changed and not check_mode:
                    _atomic_file.write_atomic(dest, current, mode=mode, uid=attrs.uid, gid=attrs.gid)
                return {"changed": changed, "downloaded": False, "fingerprints": info["primary"],
                        "previous_fingerprints": info["primary"],
                        "diff": {"before": {"fingerprints": info["primary"], "mode": "%04o" % attrs.mode},
                                 "after": {"fingerprints": info["primary"], "mode": "%04o" % mode}}}
        except OpenPGPError:
            before = []
    try:
        fetched = download()
    except OSError as exc:
        raise OpenPGPError("could not download the signing key from %s: %s" % (url, exc)) from None
    try:
        info = keyring_fingerprints(fetched)
    except OpenPGPError as exc:
        raise OpenPGPError("the file at %s is not an OpenPGP public key (%s)" % (url, exc)) from None
    found = info["primary"] + info["subkeys"]
    if pin not in found:
        raise OpenPGPError(
            "The signing key at %s has the fingerprint %s, not the pinned %s (%s). The vendor may have rotated "
            "its key again, or the download was tampered with: check the fingerprint the vendor announces, then "
            "set %s to it. %s was left as it was."
            % (url, ", ".join(info["primary"]), pin, pin_name, pin_name, dest))
    data = binary_keyring(fetched)
    if not check_mode:
        _atomic_file.write_atomic(dest, data, mode=mode, uid=0 if _is_root() else None, gid=0 if _is_root() else None)
    return {"changed": True, "downloaded": True, "fingerprints": info["primary"],
            "previous_fingerprints": [f for f in before if f],
            "diff": {"before": {"fingerprints": before} if current is not None else {"state": "absent"},
                     "after": {"fingerprints": info["primary"], "mode": "%04o" % mode}}}


def _is_root():
    import os

    return os.geteuid() == 0
