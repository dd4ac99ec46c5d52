# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard keys: generation, strict parsing, fingerprints and key files on disk.

Plain Python, no AnsibleModule: the wireguard_keypair module maps its options onto
KeyFileSpec, calls ensure_key_file() and turns WireGuardKeyError into fail_json.

Secrets are handled as raw bytes and only turned into base64 text to be written. No
message, exception text, diff or result built here ever contains secret bytes: problems
with a key are described by what is wrong (length, alphabet, padding), never by content.

X25519 runs in process through the ``cryptography`` package (no ``wg genkey``: no process
start, no key material in pipes or command lines). Preshared keys need no cryptography:
they are 32 bytes from the operating system's CSPRNG.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
import traceback

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

# cryptography 2.0 has X25519 but can only serialize/load raw keys from 2.5 on
# (X25519PrivateKey.private_bytes / from_private_bytes with Encoding.Raw).
MIN_CRYPTOGRAPHY_VERSION = "2.5"

PRIVATE_KEY = "private_key"
PRESHARED_KEY = "preshared_key"
KEY_TYPES = (PRIVATE_KEY, PRESHARED_KEY)
_LABELS = {PRIVATE_KEY: "private key", PRESHARED_KEY: "preshared key"}

REGENERATE_CHOICES = ("never", "invalid", "always")

KEY_BYTES = 32
KEY_BASE64_CHARS = 44  # 43 significant characters and one '='
FINGERPRINT_HEX_CHARS = 16
MAX_KEY_FILE_BYTES = 1024

SECRET_MODE_LIMIT = 0o640  # widest mode a secret key file may get
PUBLIC_KEY_MODE = 0o644

# The whitespace `wg` itself ignores after the key in a key file (C isspace()).
_TRAILING_WHITESPACE = " \t\n\r\v\f"
_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")

# Messages (also asserted by the unit tests). Each completes a sentence "The key ...".
MSG_EMPTY = "is empty"
MSG_NOT_BASE64 = "is not 32 bytes of base64"
MSG_ALPHABET = MSG_NOT_BASE64 + " (it contains characters outside the standard base64 alphabet)"
MSG_WHITESPACE = MSG_NOT_BASE64 + " (whitespace is only allowed after the key)"
MSG_LENGTH = MSG_NOT_BASE64 + " (expected %d characters, found %%d)" % KEY_BASE64_CHARS
MSG_PADDING = MSG_NOT_BASE64 + " (expected 43 base64 characters followed by a single '=')"
MSG_NOT_CANONICAL = (
    "is not canonical base64 (the character before '=' has non-zero padding bits, "
    "so this text is not what a WireGuard tool writes)"
)
MSG_TOO_LARGE = MSG_NOT_BASE64 + " (the file is larger than %d bytes)" % MAX_KEY_FILE_BYTES


class WireGuardKeyError(Exception):
    """A failure whose text is safe to show: it never contains key material."""


class InvalidKey(WireGuardKeyError):
    """Key text that is not a WireGuard key. str() is a phrase such as 'is empty'."""


# --------------------------------------------------------------------------------------
# Keys in memory
# --------------------------------------------------------------------------------------


def cryptography_problem():
    """Return None when cryptography can do raw X25519, else a sentence saying why not."""
    if not HAS_CRYPTOGRAPHY:
        return "the Python library cryptography is not installed"
    if not hasattr(x25519.X25519PrivateKey, "private_bytes"):
        return "the Python library cryptography is too old for raw X25519 keys (need >= %s)" % (
            MIN_CRYPTOGRAPHY_VERSION
        )
    try:
        x25519.X25519PrivateKey.from_private_bytes(b"\x01" * KEY_BYTES)
    except UnsupportedAlgorithm:
        return "the OpenSSL used by the Python library cryptography does not support X25519"
    return None


def encode_key(raw):
    """Standard base64 of a 32-byte key, as WireGuard writes it (44 characters)."""
    if not isinstance(raw, bytes) or len(raw) != KEY_BYTES:
        raise ValueError("a WireGuard key is exactly %d bytes" % KEY_BYTES)
    return base64.b64encode(raw).decode("ascii")


def decode_key(text):
    """Parse WireGuard key text (str or bytes) strictly; return the 32 raw bytes.

    Accepted: exactly 44 characters of standard base64 ending in one '=', canonical (the
    unused low bits are zero), optionally followed by whitespace such as the newline that
    `wg genkey` writes. Anything else raises InvalidKey with a phrase that describes the
    problem without quoting the text.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidKey(MSG_ALPHABET) from None
    key = text.rstrip(_TRAILING_WHITESPACE)
    if not key:
        raise InvalidKey(MSG_EMPTY)
    if any(c.isspace() for c in key):
        raise InvalidKey(MSG_WHITESPACE)
    if any(c not in _BASE64_ALPHABET for c in key):
        raise InvalidKey(MSG_ALPHABET)
    if len(key) != KEY_BASE64_CHARS:
        raise InvalidKey(MSG_LENGTH % len(key))
    if key[-1] != "=" or "=" in key[:-1]:
        raise InvalidKey(MSG_PADDING)
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        raise InvalidKey(MSG_ALPHABET) from None
    if len(raw) != KEY_BYTES:  # pragma: no cover - 43 characters + '=' are always 32 bytes
        raise InvalidKey(MSG_LENGTH % len(key))
    if base64.b64encode(raw).decode("ascii") != key:
        raise InvalidKey(MSG_NOT_CANONICAL)
    return raw


def validate_key(text):
    """Return None when text is a valid key, else the problem phrase."""
    try:
        decode_key(text)
    except InvalidKey as exc:
        return str(exc)
    return None


def _clamp(raw):
    """Clamp an X25519 scalar the way `wg genkey` does (RFC 7748, section 5)."""
    clamped = bytearray(raw)
    clamped[0] &= 248
    clamped[31] = (clamped[31] & 127) | 64
    return bytes(clamped)


def generate_private_key():
    """A new X25519 private key (32 raw bytes, clamped like `wg genkey` output)."""
    _require_cryptography()
    private = x25519.X25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return _clamp(raw)


def generate_preshared_key():
    """A new preshared key: 32 bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def derive_public_key(private_raw):
    """The 32-byte X25519 public key of a 32-byte private key (clamping included)."""
    if not isinstance(private_raw, bytes) or len(private_raw) != KEY_BYTES:
        raise ValueError("a WireGuard private key is exactly %d bytes" % KEY_BYTES)
    _require_cryptography()
    private = x25519.X25519PrivateKey.from_private_bytes(private_raw)
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_text(private_text):
    """Base64 public key for base64 private key text (what `wg pubkey` prints)."""
    return encode_key(derive_public_key(decode_key(private_text)))


def fingerprint(raw):
    """'sha256:' and the first FINGERPRINT_HEX_CHARS hex digits of SHA-256(raw).

    For a private key pass the *public* key bytes; for a preshared key the key itself
    (a 64-bit prefix of the hash of 256 random bits reveals nothing usable about it).
    """
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:FINGERPRINT_HEX_CHARS]


def _require_cryptography():
    problem = cryptography_problem()
    if problem:
        raise WireGuardKeyError("Cannot handle X25519 keys: %s." % problem)


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


def parse_mode(value):
    """Mode option (octal string such as '0600', or an int already converted by YAML)."""
    try:
        return _atomic_file.parse_octal_mode(value)
    except _atomic_file.FileAttributeError as exc:
        raise WireGuardKeyError(str(exc)) from None


def check_secret_mode(mode):
    """Refuse modes that give more than owner read/write and group read."""
    if mode & ~SECRET_MODE_LIMIT:
        raise WireGuardKeyError(
            "mode %04o is wider than %04o: a WireGuard secret key must not be readable by other "
            "users, writable by the group or executable; use mode '0600' (or '0640' with a service "
            "group), written as a quoted string" % (mode, SECRET_MODE_LIMIT)
        )


def resolve_owner(owner):
    """uid for a user name or number; None means the user running the module."""
    try:
        uid = _atomic_file.resolve_uid(owner)
    except _atomic_file.FileAttributeError as exc:
        raise WireGuardKeyError(str(exc)) from None
    return os.geteuid() if uid is None else uid


def resolve_group(group):
    """gid for a group name or number; None means 'not managed'."""
    try:
        return _atomic_file.resolve_gid(group)
    except _atomic_file.FileAttributeError as exc:
        raise WireGuardKeyError(str(exc)) from None


# --------------------------------------------------------------------------------------
# Key files
# --------------------------------------------------------------------------------------


class KeyFileState:
    """What is at a key file path: exists, attributes, raw key or the problem with it."""

    __slots__ = ("path", "exists", "attributes", "key", "problem")

    def __init__(self, path, exists=False, attributes=None, key=None, problem=None):
        self.path = path
        self.exists = exists
        self.attributes = attributes
        self.key = key
        self.problem = problem

    @property
    def valid(self):
        return self.key is not None

    def __repr__(self):
        # Never show the key.
        return "KeyFileState(path=%r, exists=%r, attributes=%r, valid=%r, problem=%r)" % (
            self.path,
            self.exists,
            self.attributes,
            self.valid,
            self.problem,
        )


def _check_regular_file(path, what):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WireGuardKeyError("cannot inspect %s %s: %s" % (what, path, exc.strerror)) from None
    if stat.S_ISLNK(st.st_mode):
        raise WireGuardKeyError(
            "%s %s is a symbolic link; point the option at the real file so that its mode and "
            "owner are the ones managed" % (what, path)
        )
    if not stat.S_ISREG(st.st_mode):
        raise WireGuardKeyError("%s %s exists but is not a regular file; give the path of a key file, "
                                "not of a directory or device" % (what, path))
    return True


def read_key_file(path):
    """Read a key file without following symlinks. Returns a KeyFileState.

    Raises WireGuardKeyError for things no regeneration can fix (a directory, a symlink,
    an unreadable file); a malformed key is reported in KeyFileState.problem instead.
    """
    if not _check_regular_file(path, "path: the key file"):
        return KeyFileState(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise WireGuardKeyError("path: cannot read key file %s: %s" % (path, exc.strerror)) from None
    attributes = _atomic_file.read_attributes(path)
    if len(data) > MAX_KEY_FILE_BYTES:
        return KeyFileState(path, True, attributes, problem=MSG_TOO_LARGE)
    try:
        key = decode_key(data)
    except InvalidKey as exc:
        return KeyFileState(path, True, attributes, problem=str(exc))
    return KeyFileState(path, True, attributes, key=key)


def _read_small(path):
    """Content of a (public) file, None when missing; at most MAX_KEY_FILE_BYTES + 1 bytes."""
    if not _check_regular_file(path, "public_key_path: the public key file"):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise WireGuardKeyError("public_key_path: cannot read public key file %s: %s" % (path, exc.strerror)) from None


class KeyFileSpec:
    """Desired state of a key file, in resolved form (ints for mode, uid, gid)."""

    def __init__(
        self,
        path,
        key_type=PRIVATE_KEY,
        public_key_path=None,
        regenerate="never",
        mode=0o600,
        uid=None,
        gid=None,
        state="present",
    ):
        if key_type not in KEY_TYPES:
            raise WireGuardKeyError("type must be one of %s, got %r" % (", ".join(KEY_TYPES), key_type))
        if regenerate not in REGENERATE_CHOICES:
            raise WireGuardKeyError(
                "regenerate must be one of %s, got %r" % (", ".join(REGENERATE_CHOICES), regenerate)
            )
        if public_key_path and key_type != PRIVATE_KEY:
            raise WireGuardKeyError(
                "public_key_path is only valid with type=private_key (a preshared key has no public "
                "part); remove public_key_path or set type=private_key"
            )
        if public_key_path and os.path.abspath(public_key_path) == os.path.abspath(path):
            raise WireGuardKeyError("public_key_path must differ from path (%s)" % path)
        check_secret_mode(mode)
        self.path = path
        self.key_type = key_type
        self.public_key_path = public_key_path or None
        self.regenerate = regenerate
        self.mode = mode
        self.uid = os.geteuid() if uid is None else uid
        self.gid = gid
        self.state = state

    @property
    def label(self):
        return _LABELS[self.key_type]


class Outcome:
    """Result of ensure_key_file(). The secret is kept apart from result()."""

    def __init__(self, path):
        self.path = path
        self.changed = False
        self.generated = False
        self.public_key = None
        self.fingerprint = None
        self.before = {}
        self.after = {}
        self._secret = None

    @property
    def secret(self):
        """Base64 text of the secret (private key or PSK), or None when not known."""
        return None if self._secret is None else encode_key(self._secret)

    def result(self, key_type):
        out = {
            "changed": self.changed,
            "path": self.path,
            "generated": self.generated,
            "fingerprint": self.fingerprint,
            "diff": {
                "before_header": self.path,
                "after_header": self.path,
                "before": self.before,
                "after": self.after,
            },
        }
        if key_type == PRIVATE_KEY:
            out["public_key"] = self.public_key
        return out


def _describe(state, key_type, public_key=None):
    """Diff view of a key file: metadata only."""
    if not state.exists:
        return {"state": "absent"}
    view = {
        "state": "present",
        "mode": "%04o" % state.attributes.mode,
        "owner": _atomic_file.user_name(state.attributes.uid),
        "group": _atomic_file.group_name(state.attributes.gid),
    }
    if state.valid:
        if key_type == PRIVATE_KEY and public_key is None and cryptography_problem():
            view["fingerprint"] = None  # state=absent without cryptography: cannot derive
        elif key_type == PRIVATE_KEY:
            pub = derive_public_key(state.key) if public_key is None else public_key
            view["public_key"] = encode_key(pub)
            view["fingerprint"] = fingerprint(pub)
        else:
            view["fingerprint"] = fingerprint(state.key)
    else:
        view["valid"] = False
    return view


def _fix_attributes(path, current, mode, uid, gid):
    """Set mode/owner/group in place, never widening access on the way."""
    try:
        _atomic_file.set_attributes(path, current, mode, uid, gid)
    except OSError as exc:
        raise WireGuardKeyError(
            "cannot set mode/owner/group of %s: %s" % (path, exc.strerror)
        ) from None


def _write(path, data, mode, uid, gid, what):
    try:
        _atomic_file.write_atomic(path, data, mode=mode, uid=uid, gid=gid)
    except OSError as exc:
        raise WireGuardKeyError("cannot write %s %s: %s" % (what, path, exc.strerror)) from None


def _remove(path, what):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise WireGuardKeyError("cannot remove %s %s: %s" % (what, path, exc.strerror)) from None


def invalid_key_message(spec, problem):
    return "The %s in %s %s; set regenerate=invalid to replace it, or fix the file" % (
        spec.label,
        spec.path,
        problem,
    )


def ensure_key_file(spec, check_mode=False):
    """Bring the key file (and the public key file) to spec. Returns an Outcome.

    In check mode nothing is written and the Outcome predicts `changed` exactly; a key that
    would be generated is not known, so public_key/fingerprint stay None.
    """
    if spec.key_type == PRIVATE_KEY and spec.state == "present":
        _require_cryptography()
    outcome = Outcome(spec.path)
    current = read_key_file(spec.path)
    outcome.before = _describe(current, spec.key_type)
    public_current = None
    if spec.public_key_path:
        public_current = _read_small(spec.public_key_path)
        outcome.before["public_key_file"] = "absent" if public_current is None else "present"

    if spec.state == "absent":
        return _ensure_absent(spec, current, public_current, outcome, check_mode)

    if not current.exists:
        generate = True
    elif not current.valid:
        if spec.regenerate == "never":
            raise WireGuardKeyError(invalid_key_message(spec, current.problem))
        generate = True
    else:
        generate = spec.regenerate == "always"

    key = None
    if generate:
        outcome.changed = True
        outcome.generated = True
        if not check_mode:
            if spec.key_type == PRIVATE_KEY:
                key = generate_private_key()
            else:
                key = generate_preshared_key()
            _write(
                spec.path,
                (encode_key(key) + "\n").encode("ascii"),
                spec.mode,
                spec.uid,
                spec.gid,
                spec.label + " file",
            )
    else:
        key = current.key
        if _atomic_file.attributes_differ(current.attributes, spec.mode, spec.uid, spec.gid):
            outcome.changed = True
            if not check_mode:
                _fix_attributes(spec.path, current.attributes, spec.mode, spec.uid, spec.gid)

    public_raw = None
    if key is not None:
        outcome._secret = key
        if spec.key_type == PRIVATE_KEY:
            public_raw = derive_public_key(key)
            outcome.public_key = encode_key(public_raw)
            outcome.fingerprint = fingerprint(public_raw)
        else:
            outcome.fingerprint = fingerprint(key)

    if spec.public_key_path:
        if _ensure_public_file(spec, public_current, public_raw, generate, check_mode):
            outcome.changed = True
            if public_current is not None:
                outcome.before["public_key_file"] = "outdated"

    after = {
        "state": "present",
        "mode": "%04o" % spec.mode,
        "owner": _atomic_file.user_name(spec.uid),
    }
    if spec.gid is not None:
        after["group"] = _atomic_file.group_name(spec.gid)
    elif current.exists and not generate:
        after["group"] = outcome.before.get("group")
    if generate:
        after["generated"] = True
    if outcome.public_key is not None:
        after["public_key"] = outcome.public_key
    if outcome.fingerprint is not None:
        after["fingerprint"] = outcome.fingerprint
    if spec.public_key_path:
        after["public_key_file"] = "present"
    outcome.after = after
    return outcome


def _ensure_public_file(spec, current_content, public_raw, generated, check_mode):
    """Keep public_key_path in step with the private key. Returns whether it changed."""
    if public_raw is None:
        # Check mode with a key still to be generated: the public file changes with it.
        return generated
    wanted = (encode_key(public_raw) + "\n").encode("ascii")
    path = spec.public_key_path
    if current_content == wanted:
        attributes = _atomic_file.read_attributes(path)
        if not _atomic_file.attributes_differ(attributes, PUBLIC_KEY_MODE, spec.uid, spec.gid):
            return False
    if not check_mode:
        _write(path, wanted, PUBLIC_KEY_MODE, spec.uid, spec.gid, "public key file")
    return True


def _ensure_absent(spec, current, public_current, outcome, check_mode):
    if current.exists:
        outcome.changed = True
        if not check_mode:
            _remove(spec.path, spec.label + " file")
    if spec.public_key_path and public_current is not None:
        outcome.changed = True
        if not check_mode:
            _remove(spec.public_key_path, "public key file")
    outcome.after = {"state": "absent"}
    if spec.public_key_path:
        outcome.after["public_key_file"] = "absent"
    return outcome
