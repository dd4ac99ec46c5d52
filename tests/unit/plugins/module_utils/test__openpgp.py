"""Keyring fingerprints read without gpg, checked against GnuPG's own answers for the fixtures."""

from __future__ import annotations

import os

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _openpgp

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "openpgp")
# What `gpg --show-keys --with-colons FILE` prints as fpr for each fixture (ed25519 v4 keys).
FIRST = "A0BE4F79FFDCA53F55F5E5315F574F107C1E2321"
SECOND = "160F6999AFE91C46483B061CF195F90F7DE53E83"
LAB = "E91167915406BE8AC92C5AAD9227F401605FFB9C"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))


def _read(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("name, fpr", [("first.gpg", FIRST), ("second.gpg", SECOND), ("first.asc", FIRST)])
def test_fingerprints_match_gnupg(name, fpr):
    info = _openpgp.keyring_fingerprints(_read(name))
    assert info["primary"] == [fpr] and info["armored"] is name.endswith(".asc")


def test_the_lab_keyring_too():
    with open(os.path.join(REPO, "tests", "lab", "playbooks", "files", "lab-archive-keyring.gpg"), "rb") as handle:
        assert _openpgp.keyring_fingerprints(handle.read())["primary"] == [LAB]


def test_a_keyring_with_two_keys_lists_both():
    assert _openpgp.keyring_fingerprints(_read("first.gpg") + _read("second.gpg"))["primary"] == [FIRST, SECOND]


def test_armor_is_turned_into_the_binary_packets():
    assert _openpgp.binary_keyring(_read("first.asc")) == _read("first.gpg")


@pytest.mark.parametrize("raw, expected", [
    ("a0be 4f79 ffdc a53f 55f5  e531 5f57 4f10 7c1e 2321", FIRST),
    ("0x" + FIRST.lower(), FIRST),
    ("A0:BE:4F:79:FF:DC:A5:3F:55:F5:E5:31:5F:57:4F:10:7C:1E:23:21", FIRST),
])
def test_fingerprints_are_normalized(raw, expected):
    assert _openpgp.normalize_fingerprint(raw) == expected


@pytest.mark.parametrize("raw", ["", "5F574F107C1E2321", "Z" * 40, FIRST + "00"])
def test_short_ids_and_junk_are_not_fingerprints(raw):
    with pytest.raises(ValueError, match="is not a key fingerprint"):
        _openpgp.normalize_fingerprint(raw)


@pytest.mark.parametrize("data", [b"", b"hello", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n", b"\x99\x00\x05ab"])
def test_junk_is_no_keyring(data):
    with pytest.raises(_openpgp.OpenPGPError):
        _openpgp.keyring_fingerprints(data)


# ------------------------------------------------------------------ ensure_keyring


def _ensure(tmp_path, fpr, served, check_mode=False):
    calls = []

    def download():
        calls.append(1)
        return served

    result = _openpgp.ensure_keyring(str(tmp_path / "k.gpg"), download, fpr, check_mode=check_mode,
                                     pin_name="cloudflare_tunnel_apt_key_fingerprint", url="file:///srv/k.gpg")
    return result, len(calls)


def test_a_missing_key_is_downloaded_then_kept(tmp_path):
    result, calls = _ensure(tmp_path, FIRST, _read("first.asc"))
    assert result["changed"] and calls == 1 and result["fingerprints"] == [FIRST]
    assert (tmp_path / "k.gpg").read_bytes() == _read("first.gpg")  # dearmored for apt
    assert os.stat(tmp_path / "k.gpg").st_mode & 0o777 == 0o644
    result, calls = _ensure(tmp_path, FIRST, _read("first.asc"))
    assert not result["changed"] and calls == 0


def test_a_rotated_key_under_the_same_name_is_replaced(tmp_path):
    (tmp_path / "k.gpg").write_bytes(_read("first.gpg"))
    result, calls = _ensure(tmp_path, SECOND, _read("second.gpg"))
    assert result["changed"] and calls == 1
    assert result["previous_fingerprints"] == [FIRST] and result["fingerprints"] == [SECOND]
    assert (tmp_path / "k.gpg").read_bytes() == _read("second.gpg")


def test_check_mode_predicts_and_writes_nothing(tmp_path):
    (tmp_path / "k.gpg").write_bytes(_read("first.gpg"))
    result, _ = _ensure(tmp_path, SECOND, _read("second.gpg"), check_mode=True)
    assert result["changed"] and (tmp_path / "k.gpg").read_bytes() == _read("first.gpg")


def test_a_download_without_the_pinned_key_is_refused_and_changes_nothing(tmp_path):
    (tmp_path / "k.gpg").write_bytes(_read("first.gpg"))
    with pytest.raises(_openpgp.OpenPGPError) as err:
        _ensure(tmp_path, "CC94B39C77AE7342A68B89628A682D308D4E5E73", _read("second.gpg"))
    text = str(err.value)
    assert "has the fingerprint %s, not the pinned CC94B39C77AE7342A68B89628A682D308D4E5E73" % SECOND in text
    assert "set cloudflare_tunnel_apt_key_fingerprint to it" in text and "file:///srv/k.gpg" in text
    assert (tmp_path / "k.gpg").read_bytes() == _read("first.gpg")


def test_a_bad_pin_names_the_setting(tmp_path):
    with pytest.raises(_openpgp.OpenPGPError, match="^cloudflare_tunnel_apt_key_fingerprint: '8A682D308D4E5E73' is not"):
        _ensure(tmp_path, "8A682D308D4E5E73", _read("first.gpg"))


def test_a_file_that_is_no_key_is_refused(tmp_path):
    with pytest.raises(_openpgp.OpenPGPError, match="is not an OpenPGP public key"):
        _ensure(tmp_path, FIRST, b"<html>Not found</html>")
