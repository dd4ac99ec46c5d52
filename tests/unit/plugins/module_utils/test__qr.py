from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _qr

segno = pytest.importorskip("segno")

CONTENT = "[Interface]\nPrivateKey = dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n"


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_png_is_a_png_and_deterministic():
    png = _qr.render_png(CONTENT)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == _qr.render_png(CONTENT)


def test_text_is_unicode_blocks_without_the_content():
    text = _qr.render_text(CONTENT)
    assert "█" in text and "PrivateKey" not in text


def test_files_written_private_then_unchanged(tmp_path):
    png, txt = str(tmp_path / "p.png"), str(tmp_path / "p.txt")
    first = _qr.ensure_qr_files(CONTENT, png, txt)
    assert first["changed"] and _mode(png) == 0o600 and _mode(txt) == 0o600
    second = _qr.ensure_qr_files(CONTENT, png, txt)
    assert not second["changed"]
    assert CONTENT not in repr(second)


def test_check_mode_predicts_and_writes_nothing(tmp_path):
    png = str(tmp_path / "p.png")
    assert _qr.ensure_qr_files(CONTENT, png, None, check_mode=True)["changed"]
    assert not os.path.exists(png)


def test_mode_is_fixed_without_rewriting(tmp_path):
    png = str(tmp_path / "p.png")
    _qr.ensure_qr_files(CONTENT, png, None)
    os.chmod(png, 0o640)
    assert _qr.ensure_qr_files(CONTENT, png, None)["changed"]
    assert _mode(png) == 0o600


def test_changed_content_rewrites(tmp_path):
    png = str(tmp_path / "p.png")
    _qr.ensure_qr_files(CONTENT, png, None)
    assert _qr.ensure_qr_files(CONTENT + "#\n", png, None)["changed"]


def test_absent_removes(tmp_path):
    png, txt = str(tmp_path / "p.png"), str(tmp_path / "p.txt")
    _qr.ensure_qr_files(CONTENT, png, txt)
    assert _qr.ensure_qr_files(None, png, txt, state="absent")["changed"]
    assert not os.path.exists(png) and not os.path.exists(txt)
    assert not _qr.ensure_qr_files(None, png, txt, state="absent")["changed"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(png_path=None, text_path=None), "set png_path, text_path or both"),
        (dict(error="X"), "error must be one of L, M, Q, H"),
        (dict(content=""), "content is empty"),
        (dict(content="x" * 5000), "more than a QR code holds"),
        (dict(scale=0), "scale must be a whole number of pixels, 1 or more; got 0"),
        (dict(border=-1), "border must be 0 or more modules; got -1"),
        (dict(png_path="a\x00b"), "png_path: path .* is not a valid file name"),
        (dict(png_path="/nonexistent-dir/x/p.png"), "png_path: cannot write /nonexistent-dir/x/p.png"),
    ],
)
def test_errors(tmp_path, kwargs, message):
    args = dict(content=CONTENT, png_path=str(tmp_path / "p.png"), text_path=None)
    args.update(kwargs)
    content = args.pop("content")
    with pytest.raises(_qr.QrError, match=message):
        _qr.ensure_qr_files(content, **args)


@pytest.mark.parametrize("value, expected", [("0600", 0o600), ("0o640", 0o640), (0o400, 0o400)])
def test_parse_mode(value, expected):
    assert _qr.parse_mode(value) == expected


@pytest.mark.parametrize("value", ["0644", "abc", "0700"])
def test_parse_mode_refuses(value):
    with pytest.raises(_qr.QrError):
        _qr.parse_mode(value)


@pytest.mark.parametrize("value", [2**31, -1, -(10**30), 0o10600, "10600"])
def test_parse_mode_refuses_what_is_no_file_mode(value):
    """Found by the module fuzz test: 2**31 passed the width check and made os.chmod overflow."""
    with pytest.raises(_qr.QrError, match="^mode must be"):
        _qr.parse_mode(value)


def test_symlink_is_refused(tmp_path):
    target = tmp_path / "t"
    target.write_bytes(b"x")
    link = tmp_path / "p.png"
    link.symlink_to(target)
    with pytest.raises(_qr.QrError, match="not a regular file"):
        _qr.ensure_qr_files(CONTENT, str(link), None)
