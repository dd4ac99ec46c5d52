from __future__ import annotations

import os

import pytest

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.modules import wireguard_qr

pytest.importorskip("segno")

CONTENT = "[Interface]\nPrivateKey = dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n"


@pytest.fixture
def run():
    def _run(args):
        kind, result, _warnings = run_module(wireguard_qr.main, args)
        return kind, result

    return _run


def test_writes_then_reports_no_change(run, tmp_path):
    args = dict(content=CONTENT, png_path=str(tmp_path / "a.png"), text_path=str(tmp_path / "a.txt"))
    kind, result = run(args)
    assert kind == "exit" and result["changed"]
    assert os.stat(tmp_path / "a.png").st_mode & 0o777 == 0o600
    kind, result = run(args)
    assert kind == "exit" and not result["changed"]
    assert CONTENT not in repr(result) and "diff" not in result


def test_check_mode_and_diff_show_metadata_only(run, tmp_path):
    args = dict(content=CONTENT, png_path=str(tmp_path / "a.png"), _ansible_check_mode=True, _ansible_diff=True)
    kind, result = run(args)
    assert kind == "exit" and result["changed"]
    assert result["diff"]["before"]["png"] == {"state": "absent"}
    assert not os.path.exists(tmp_path / "a.png")
    assert "PrivateKey" not in repr(result)


def test_present_needs_content(run, tmp_path):
    kind, result = run(dict(png_path=str(tmp_path / "a.png")))
    assert kind == "fail" and "content" in result["msg"]


def test_wide_mode_is_refused(run, tmp_path):
    kind, result = run(dict(content=CONTENT, png_path=str(tmp_path / "a.png"), mode="0644"))
    assert kind == "fail"
    assert result["msg"] == "mode 0644 is wider than 0640; the QR code holds a private key"
    assert not os.path.exists(tmp_path / "a.png")


def test_absent(run, tmp_path):
    run(dict(content=CONTENT, png_path=str(tmp_path / "a.png")))
    kind, result = run(dict(png_path=str(tmp_path / "a.png"), state="absent"))
    assert kind == "exit" and result["changed"] and not os.path.exists(tmp_path / "a.png")
