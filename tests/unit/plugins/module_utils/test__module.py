# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's AnsibleModule logs an invocation with a NUL character in it, so the module
gets to name the option (Python 3.12+ syslog refuses NUL; simulated here on older Pythons)."""

from __future__ import annotations

import syslog

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _module

SECRET = "pass\x00word-0f3e9a"


class Failed(Exception):
    pass


class Exited(Exception):
    pass


@pytest.fixture
def logged(monkeypatch):
    """What reaches syslog; a NUL raises ValueError there, as Python 3.12 and later do."""
    lines = []

    def strict_syslog(*args):
        message = args[-1]
        if "\x00" in message:
            raise ValueError("embedded null character")
        lines.append(message)

    monkeypatch.setattr(syslog, "syslog", strict_syslog)
    monkeypatch.setattr(basic, "has_journal", False)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", lambda self, msg, **kw: (_ for _ in ()).throw(Failed(msg)))
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", lambda self, **kw: (_ for _ in ()).throw(Exited(kw)))
    return lines


SPEC = dict(owner=dict(type="str"), token=dict(type="str", no_log=True))


def test_ansible_cores_module_fails_on_a_nul_before_the_module_can_check(logged):
    """What happens without the subclass on Python 3.12+ (the reason it exists)."""
    with patch_module_args({"owner": "ro\x00ot"}), pytest.raises(Failed, match="Failed to log to syslog"):
        basic.AnsibleModule(argument_spec=SPEC)


def test_a_nul_is_logged_as_text_and_the_module_runs(logged):
    with patch_module_args({"owner": "ro\x00ot"}):
        module = _module.AnsibleModule(argument_spec=SPEC)
    assert module.params["owner"] == "ro\x00ot"
    assert logged == ["Invoked with owner=ro\\x00ot token=NOT_LOGGING_PARAMETER"]


def test_a_secret_with_a_nul_is_still_masked(logged):
    with patch_module_args({"owner": "root", "token": SECRET}):
        module = _module.AnsibleModule(argument_spec=SPEC)
        module.log("reached the provider with %s" % SECRET)
    assert logged[-1] == "reached the provider with ********"
    assert not any("word-0f3e9a" in line or "pass" in line for line in logged), logged


def test_no_log_modules_log_nothing(logged):
    with patch_module_args({"owner": "ro\x00ot", "_ansible_no_log": True}):
        module = _module.AnsibleModule(argument_spec=SPEC)
        module.log("anything")
    assert logged == []


@pytest.mark.parametrize("value, expected", [("a\x00b", "a\\x00b"), (b"a\x00b", b"a\\x00b"), (None, None), (3, 3)])
def test_printable(value, expected):
    assert _module.printable(value) == expected
