from __future__ import annotations

import os

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.homelab.jellyfin_remote.plugins.modules import apt_signing_key

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "module_utils", "fixtures", "openpgp")
FIRST = "A0BE4F79FFDCA53F55F5E5315F574F107C1E2321"
SECOND = "160F6999AFE91C46483B061CF195F90F7DE53E83"


class Done(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise Done("exit", kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.update(failed=True, msg=msg)
        raise Done("fail", kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _run(args):
        with patch_module_args(args):
            try:
                apt_signing_key.main()
            except Done as done:
                return done.kind, done.result
        raise AssertionError("main() returned")

    return _run


def _args(tmp_path, name, fpr, **extra):
    return dict(url="file://%s" % os.path.join(FIXTURES, name), dest=str(tmp_path / "vendor.gpg"), fingerprint=fpr,
                pin_name="cloudflare_tunnel_apt_key_fingerprint", **extra)


def test_installs_then_reports_no_change(run, tmp_path):
    kind, result = run(_args(tmp_path, "first.asc", FIRST))
    assert kind == "exit" and result["changed"] and result["downloaded"] and result["fingerprints"] == [FIRST]
    kind, result = run(_args(tmp_path, "first.asc", FIRST))
    assert kind == "exit" and not result["changed"] and not result["downloaded"]


def test_rotation_replaces_the_key_and_the_diff_shows_fingerprints(run, tmp_path):
    run(_args(tmp_path, "first.gpg", FIRST))
    kind, result = run(_args(tmp_path, "second.gpg", SECOND, _ansible_diff=True))
    assert kind == "exit" and result["changed"]
    assert result["diff"] == {"before": {"fingerprints": [FIRST]}, "after": {"fingerprints": [SECOND], "mode": "0644"}}


def test_check_mode(run, tmp_path):
    kind, result = run(_args(tmp_path, "first.gpg", FIRST, _ansible_check_mode=True))
    assert kind == "exit" and result["changed"] and not (tmp_path / "vendor.gpg").exists()


def test_wrong_pin_fails_with_the_setting_named(run, tmp_path):
    kind, result = run(_args(tmp_path, "second.gpg", FIRST))
    assert kind == "fail" and "not the pinned %s" % FIRST in result["msg"]
    assert "set cloudflare_tunnel_apt_key_fingerprint to it" in result["msg"]
    assert not (tmp_path / "vendor.gpg").exists()


def test_a_missing_file_url_fails_clearly(run, tmp_path):
    kind, result = run(dict(_args(tmp_path, "first.gpg", FIRST), url="file:///nonexistent/key.gpg"))
    assert kind == "fail" and result["msg"].startswith("could not download the signing key from file:///nonexistent/key.gpg")


@pytest.mark.parametrize("mode", ["0x644", "99999"])
def test_bad_mode(run, tmp_path, mode):
    kind, result = run(_args(tmp_path, "first.gpg", FIRST, mode=mode))
    assert kind == "fail" and result["msg"].startswith("mode must be")
