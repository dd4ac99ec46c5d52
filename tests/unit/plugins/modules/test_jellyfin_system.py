# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import os
import stat

import pytest

from harness import run_module, write_file

from ansible_collections.homelab.jellyfin_remote.plugins.modules import jellyfin_system

SYSTEM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<ServerConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    b'xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n'
    b"  <IsStartupWizardCompleted>true</IsStartupWizardCompleted>\n"
    b"  <UnknownToThisModule a=\"1\">kept</UnknownToThisModule>\n"
    b"  <RemoteClientBitrateLimit>0</RemoteClientBitrateLimit>\n"
    b"</ServerConfiguration>"
)


@pytest.fixture
def system(tmp_path):
    return write_file(tmp_path / "system.xml", SYSTEM)


def run(system, args, check=False, diff=False, kind="exit"):
    args = dict(args, path=str(system), record_path=str(system.parent / "record" / "state.json"))
    got, result, warnings = run_module(jellyfin_system.main, args, check, diff)
    assert got == kind, result
    result["warnings_seen"] = warnings
    return result


def test_sets_the_limit_records_it_and_a_second_run_changes_nothing(system):
    result = run(system, {"remote_client_bitrate_limit": 8000000})
    assert (result["changed"], result["changed_settings"]) == (True, ["RemoteClientBitrateLimit"])
    assert system.read_bytes() == SYSTEM.replace(b">0</Remote", b">8000000</Remote")
    assert stat.S_IMODE(os.stat(system).st_mode) == 0o644
    record = json.loads((system.parent / "record" / "state.json").read_text())["sections"]["jellyfin_system"]
    assert record == {"files": {str(system): {"settings": {"RemoteClientBitrateLimit": {"original": 0, "set": 8000000}}}}}
    assert run(system, {"remote_client_bitrate_limit": 8000000})["changed"] is False


def test_check_mode_predicts_and_writes_nothing(system):
    result = run(system, {"remote_client_bitrate_limit": 8000000}, check=True, diff=True)
    assert result["changed"] is True and result["system"] == {"remote_client_bitrate_limit": 8000000}
    assert "<RemoteClientBitrateLimit>8000000<" in result["diff"]["after"]
    assert system.read_bytes() == SYSTEM and not (system.parent / "record").exists()


def test_absent_puts_back_the_owners_value_and_is_idempotent(system):
    run(system, {"remote_client_bitrate_limit": 8000000})
    assert run(system, {"state": "absent"}, check=True)["changed"] is True
    assert system.read_bytes() != SYSTEM
    result = run(system, {"state": "absent"})
    assert result["changed"] is True and system.read_bytes() == SYSTEM
    assert not (system.parent / "record" / "state.json").exists()
    assert run(system, {"state": "absent"})["changed"] is False


def test_absent_leaves_a_limit_the_owner_changed_since(system):
    run(system, {"remote_client_bitrate_limit": 8000000})
    system.write_bytes(SYSTEM.replace(b">0</Remote", b">3000000</Remote"))
    result = run(system, {"state": "absent"})
    assert result["system"] == {"remote_client_bitrate_limit": 3000000}
    assert "RemoteClientBitrateLimit was changed after this collection set it" in result["warnings_seen"][0]


def test_restore_option(system):
    run(system, {"remote_client_bitrate_limit": 8000000})
    result = run(system, {"restore": ["remote_client_bitrate_limit"]})
    assert result["changed"] is True and system.read_bytes() == SYSTEM and result["recorded"] == {}


@pytest.mark.parametrize("args, message", [
    ({"remote_client_bitrate_limit": -1},
     "remote_client_bitrate_limit: -1 is not valid: expected bits per second from 0 (no limit) to 2147483647 (what "
     "Jellyfin reads). Give the limit in bits per second, for example 8000000."),
    ({"state": "absent", "remote_client_bitrate_limit": 1},
     "state: absent puts back every recorded setting and takes no settings and no restore. Remove them, or use "
     "state present with restore."),
])
def test_bad_input_names_the_option(system, args, message):
    assert run(system, args, kind="fail")["msg"] == message
    assert system.read_bytes() == SYSTEM


def test_a_missing_file_is_not_created(tmp_path):
    path = tmp_path / "system.xml"
    result = run(path, {"remote_client_bitrate_limit": 1}, kind="fail")
    assert result["msg"] == (
        "path: %s does not exist. Jellyfin writes system.xml when it starts; start Jellyfin once (or give the path "
        "of its configuration directory's system.xml), then run again." % path)
    assert not path.exists()
