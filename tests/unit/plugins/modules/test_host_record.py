"""host_record and host_record_info as tasks run them."""

from __future__ import annotations

import os

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.modules import host_record, host_record_info


def test_set_read_drop(tmp_path):
    path = str(tmp_path / "state.json")
    kind, result, _ = run_module(host_record.main, dict(section="site", data={"method": "wireguard"}, path=path),
                                 diff=True)
    assert kind == "exit" and result["changed"] and '"wireguard"' in result["diff"]["after"]
    kind, result, _ = run_module(host_record_info.main, dict(section="site", path=path))
    assert kind == "exit" and not result["changed"]
    assert result["section"] == {"method": "wireguard"} and result["record"] == {"site": {"method": "wireguard"}}
    kind, result, _ = run_module(host_record.main, dict(section="site", state="absent", path=path))
    assert kind == "exit" and result["changed"] and result["record"] == {}
    assert not os.path.exists(path)
    kind, result, _ = run_module(host_record_info.main, dict(section="site", path=path))
    assert result["record"] == {} and result["section"] == {}


def test_check_mode_and_no_diff_unless_asked(tmp_path):
    path = str(tmp_path / "state.json")
    kind, result, _ = run_module(host_record.main, dict(section="site", data={"method": "x"}, path=path), check=True)
    assert kind == "exit" and result["changed"] and "diff" not in result and not os.path.exists(path)


def test_errors_name_what_to_change(tmp_path):
    path = str(tmp_path / "state.json")
    kind, result, _ = run_module(host_record.main, dict(section="site", path=path))
    assert kind == "fail" and "data" in result["msg"]
    kind, result, _ = run_module(host_record.main, dict(section="ddns", data={"token": "s3cr3t"}, path=path))
    assert kind == "fail" and "must not hold secrets" in result["msg"] and "s3cr3t" not in result["msg"]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{")
    kind, result, _ = run_module(host_record_info.main, dict(path=path))
    assert kind == "fail" and path in result["msg"] and "move it aside" in result["msg"]
