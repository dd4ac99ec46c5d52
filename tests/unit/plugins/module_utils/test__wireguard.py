from __future__ import annotations

import base64
import os
import stat

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard as wg

# RFC 7748, section 6.1 (X25519 Diffie-Hellman test vector).
ALICE_PRIVATE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PUBLIC = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB_PRIVATE = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
BOB_PUBLIC = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")

# The same keys in the base64 form WireGuard uses (wg genkey / wg pubkey output).
ALICE_PRIVATE_B64 = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
ALICE_PUBLIC_B64 = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
BOB_PRIVATE_B64 = "XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os="
BOB_PUBLIC_B64 = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------- X25519


@pytest.mark.parametrize(
    "private, public",
    [(ALICE_PRIVATE, ALICE_PUBLIC), (BOB_PRIVATE, BOB_PUBLIC)],
    ids=["alice", "bob"],
)
def test_rfc7748_vectors_raw(private, public):
    assert wg.derive_public_key(private) == public


@pytest.mark.parametrize(
    "private_b64, public_b64",
    [(ALICE_PRIVATE_B64, ALICE_PUBLIC_B64), (BOB_PRIVATE_B64, BOB_PUBLIC_B64)],
    ids=["alice", "bob"],
)
def test_rfc7748_vectors_in_wireguard_base64(private_b64, public_b64):
    assert wg.public_key_from_text(private_b64) == public_b64
    assert wg.public_key_from_text(private_b64 + "\n") == public_b64


def test_base64_constants_match_the_raw_vectors():
    assert wg.encode_key(ALICE_PRIVATE) == ALICE_PRIVATE_B64
    assert wg.decode_key(BOB_PUBLIC_B64) == BOB_PUBLIC


def test_generated_private_keys_are_valid_clamped_and_unique():
    keys = [wg.generate_private_key() for _ in range(64)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert len(key) == 32
        text = wg.encode_key(key)
        assert len(text) == 44 and text.endswith("=")
        assert wg.decode_key(text) == key
        # clamped exactly like `wg genkey`
        assert key[0] & 7 == 0
        assert key[31] & 0x80 == 0
        assert key[31] & 0x40 == 0x40
        assert len(wg.derive_public_key(key)) == 32


def test_generated_preshared_keys_are_32_bytes_and_unique():
    keys = [wg.generate_preshared_key() for _ in range(64)]
    assert len(set(keys)) == len(keys)
    assert all(len(k) == 32 for k in keys)
    assert all(wg.decode_key(wg.encode_key(k)) == k for k in keys)


def test_clamping_does_not_change_the_public_key():
    """X25519 clamps anyway, so an unclamped key file (e.g. RFC vector) stays usable."""
    assert wg.derive_public_key(wg._clamp(ALICE_PRIVATE)) == ALICE_PUBLIC


def test_fingerprint_is_a_short_sha256_prefix():
    fp = wg.fingerprint(ALICE_PUBLIC)
    assert fp == "sha256:300c9c9603b92a4b"
    assert fp != wg.fingerprint(BOB_PUBLIC)
    assert ALICE_PUBLIC_B64 not in fp and ALICE_PUBLIC.hex() not in fp


@pytest.mark.parametrize("bad", [b"", b"x" * 31, b"x" * 33, "x" * 32])
def test_encode_and_derive_reject_wrong_sizes(bad):
    with pytest.raises(ValueError):
        wg.encode_key(bad)
    with pytest.raises(ValueError):
        wg.derive_public_key(bad)


def test_missing_cryptography_is_reported(monkeypatch):
    monkeypatch.setattr(wg, "HAS_CRYPTOGRAPHY", False)
    assert wg.cryptography_problem() == "the Python library cryptography is not installed"
    with pytest.raises(wg.WireGuardKeyError, match="cryptography is not installed"):
        wg.generate_private_key()
    # preshared keys do not need it
    assert len(wg.generate_preshared_key()) == 32


# ---------------------------------------------------------------- strict parsing

_VALID = ALICE_PUBLIC_B64
_NON_CANONICAL = _VALID[:42] + "p" + "="  # 'o' (101000) -> 'p' (101001): an unused low bit set


@pytest.mark.parametrize(
    "text",
    [
        _VALID,
        _VALID + "\n",  # as written by wg genkey
        _VALID + "\r\n",
        _VALID + "  \t\n",
        _VALID.encode("ascii") + b"\n",
    ],
    ids=["bare", "newline", "crlf", "trailing-blanks", "bytes"],
)
def test_accepted_key_text(text):
    assert wg.decode_key(text) == ALICE_PUBLIC
    assert wg.validate_key(text) is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("\n", "is empty"),
        (_VALID[:-1], "is not 32 bytes of base64 (expected 44 characters, found 43)"),
        (_VALID + "A", "is not 32 bytes of base64 (expected 44 characters, found 45)"),
        (base64.b64encode(b"k" * 24).decode(), "is not 32 bytes of base64 (expected 44 characters, found 32)"),
        (base64.b64encode(b"k" * 64).decode(), "is not 32 bytes of base64 (expected 44 characters, found 88)"),
        (_VALID[:-1] + "A", "is not 32 bytes of base64 (expected 43 base64 characters followed by a single '=')"),
        (_VALID[:-2] + "==", "is not 32 bytes of base64 (expected 43 base64 characters followed by a single '=')"),
        ("=" + _VALID[1:], "is not 32 bytes of base64 (expected 43 base64 characters followed by a single '=')"),
        (_VALID.replace("/", "_"), "is not 32 bytes of base64 (it contains characters outside the standard base64 alphabet)"),
        (_VALID.replace("+", "-").replace("/", "-"), "is not 32 bytes of base64 (it contains characters outside the standard base64 alphabet)"),
        ("é" + _VALID[1:], "is not 32 bytes of base64 (it contains characters outside the standard base64 alphabet)"),
        (b"\xff" + _VALID[1:].encode(), "is not 32 bytes of base64 (it contains characters outside the standard base64 alphabet)"),
        (" " + _VALID, "is not 32 bytes of base64 (whitespace is only allowed after the key)"),
        (_VALID[:20] + " " + _VALID[20:], "is not 32 bytes of base64 (whitespace is only allowed after the key)"),
        (_VALID + "\n" + _VALID + "\n", "is not 32 bytes of base64 (whitespace is only allowed after the key)"),
        (_NON_CANONICAL, "is not canonical base64 (the character before '=' has non-zero padding bits, "
                         "so this text is not what a WireGuard tool writes)"),
    ],
    ids=[
        "empty", "only-newline", "43-chars", "45-chars", "24-byte-key", "64-byte-key",
        "no-padding", "double-padding", "padding-first", "urlsafe-underscore", "urlsafe-dash",
        "non-ascii-str", "non-ascii-bytes", "leading-space", "inner-space", "two-lines",
        "non-canonical",
    ],
)
def test_rejected_key_text_has_exact_message(text, message):
    with pytest.raises(wg.InvalidKey) as caught:
        wg.decode_key(text)
    assert str(caught.value) == message
    assert wg.validate_key(text) == message
    # the message never repeats the key text
    stripped = text.strip() if isinstance(text, str) else text.decode("latin-1").strip()
    if len(stripped) > 8:
        assert stripped[:8] not in str(caught.value)


def test_the_non_canonical_text_decodes_leniently_elsewhere():
    """Guard the test case itself: plain b64decode accepts it, only our check refuses."""
    assert base64.b64decode(_NON_CANONICAL) == ALICE_PUBLIC


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "value, expected",
    [("0600", 0o600), ("600", 0o600), ("0o640", 0o640), (0o600, 0o600), ("0400", 0o400), (" 0640 ", 0o640)],
)
def test_parse_mode(value, expected):
    assert wg.parse_mode(value) == expected


@pytest.mark.parametrize("value", ["u=rw", "0800", "rw-------", "", True, "07777777"])
def test_parse_mode_refuses(value):
    with pytest.raises(wg.WireGuardKeyError, match="^mode must be"):
        wg.parse_mode(value)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400, 0o440, 0o000])
def test_secret_modes_allowed(mode):
    wg.check_secret_mode(mode)


@pytest.mark.parametrize("mode", [0o644, 0o660, 0o700, 0o604, 0o4600, 0o1130])
def test_secret_modes_too_wide(mode):
    with pytest.raises(wg.WireGuardKeyError) as caught:
        wg.check_secret_mode(mode)
    assert str(caught.value).startswith("mode %04o is wider than 0640" % mode)


def test_owner_and_group_resolution():
    assert wg.resolve_owner(None) == os.geteuid()
    assert wg.resolve_owner("root") == 0
    assert wg.resolve_owner("1234") == 1234
    assert wg.resolve_group(None) is None
    assert wg.resolve_group("0") == 0
    with pytest.raises(wg.WireGuardKeyError, match="owner 'no-such-user-x' is not a user on this host"):
        wg.resolve_owner("no-such-user-x")
    with pytest.raises(wg.WireGuardKeyError, match="group 'no-such-group-x' is not a group on this host"):
        wg.resolve_group("no-such-group-x")


def test_spec_refuses_public_key_path_for_psk(tmp_path):
    with pytest.raises(wg.WireGuardKeyError, match="public_key_path is only valid with type=private_key"):
        wg.KeyFileSpec(str(tmp_path / "k"), key_type="preshared_key", public_key_path=str(tmp_path / "p"))


# ---------------------------------------------------------------- key files


def test_read_key_file_states(tmp_path):
    missing = wg.read_key_file(str(tmp_path / "none"))
    assert not missing.exists and not missing.valid

    good = tmp_path / "good"
    good.write_text(ALICE_PRIVATE_B64 + "\n")
    state = wg.read_key_file(str(good))
    assert state.valid and state.key == ALICE_PRIVATE and state.problem is None
    assert ALICE_PRIVATE_B64 not in repr(state)

    bad = tmp_path / "bad"
    bad.write_text("hello\n")
    state = wg.read_key_file(str(bad))
    assert state.exists and not state.valid
    assert state.problem == "is not 32 bytes of base64 (expected 44 characters, found 5)"

    big = tmp_path / "big"
    big.write_bytes(b"A" * 5000)
    assert wg.read_key_file(str(big)).problem == "is not 32 bytes of base64 (the file is larger than 1024 bytes)"


def test_read_key_file_refuses_symlink_and_directory(tmp_path):
    target = tmp_path / "real"
    target.write_text(ALICE_PRIVATE_B64 + "\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(wg.WireGuardKeyError, match="is a symbolic link"):
        wg.read_key_file(str(link))
    with pytest.raises(wg.WireGuardKeyError, match="exists but is not a regular file"):
        wg.read_key_file(str(tmp_path))


def test_ensure_creates_then_keeps(tmp_path):
    spec = wg.KeyFileSpec(str(tmp_path / "wg0.key"), public_key_path=str(tmp_path / "wg0.pub"))
    first = wg.ensure_key_file(spec)
    assert first.changed and first.generated
    assert _mode(tmp_path / "wg0.key") == 0o600
    assert _mode(tmp_path / "wg0.pub") == 0o644
    assert (tmp_path / "wg0.pub").read_text() == first.public_key + "\n"
    second = wg.ensure_key_file(spec)
    assert not second.changed and not second.generated
    assert second.public_key == first.public_key
    assert second.secret == first.secret


def test_fix_attributes_never_widens_on_the_way(tmp_path, monkeypatch):
    path = tmp_path / "k"
    path.write_text(ALICE_PRIVATE_B64 + "\n")
    os.chmod(path, 0o604)
    seen = []
    real_chmod = os.chmod

    def spy(p, mode, *args, **kwargs):
        seen.append(mode)
        return real_chmod(p, mode, *args, **kwargs)

    monkeypatch.setattr(wg.os, "chmod", spy)
    spec = wg.KeyFileSpec(str(path), mode=0o640)
    assert wg.ensure_key_file(spec).changed
    # 0604 -> 0600 (intersection) -> 0640: never other-readable and group-readable at once
    assert seen == [0o600, 0o640]
    assert _mode(path) == 0o640
    assert path.read_text() == ALICE_PRIVATE_B64 + "\n"
