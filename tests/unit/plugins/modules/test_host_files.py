"""host_files: several files and directories in one call, written only where they differ."""

from __future__ import annotations

import os
import stat

import pytest

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file
from ansible_collections.homelab.jellyfin_remote.plugins.modules import host_files

ME = dict(owner=str(os.getuid()), group=str(os.getgid()))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def args(tmp_path, **over):
    base = {
        "directories": [dict(ME, path=str(tmp_path / "lib" / "runner"))],
        "files": [
            dict(ME, path=str(tmp_path / "lib" / "runner" / "run.py"), content="print('hi')\n"),
            dict(ME, path=str(tmp_path / "lib" / "runner" / "config.json"), content='{"a": 1}\n', mode="0640"),
            dict(ME, path=str(tmp_path / "units" / "runner.service"), content="[Service]\nExecStart=/bin/true\n"),
        ],
    }
    base.update(over)
    return base


def test_first_run_writes_everything_then_nothing(tmp_path):
    kind, result, _ = run_module(host_files.main, args(tmp_path))
    assert kind == "exit" and result["changed"] is True
    assert result["changed_paths"] == [str(tmp_path / "lib" / "runner"), str(tmp_path / "lib" / "runner" / "run.py"),
                                       str(tmp_path / "lib" / "runner" / "config.json"),
                                       str(tmp_path / "units" / "runner.service")]
    assert (tmp_path / "lib" / "runner" / "run.py").read_text() == "print('hi')\n"
    assert mode(tmp_path / "lib" / "runner") == 0o755 and mode(tmp_path / "lib" / "runner" / "config.json") == 0o640
    assert mode(tmp_path / "units" / "runner.service") == 0o644
    kind, again, _ = run_module(host_files.main, args(tmp_path))
    assert again == {"changed": False, "changed_paths": []}


def test_only_what_differs_is_written_and_check_mode_writes_nothing(tmp_path):
    run_module(host_files.main, args(tmp_path))
    service = tmp_path / "units" / "runner.service"
    service.write_text("edited by hand\n")
    os.chmod(tmp_path / "lib" / "runner" / "run.py", 0o666)
    before = os.stat(tmp_path / "lib" / "runner" / "config.json").st_ino
    _, checked, _ = run_module(host_files.main, args(tmp_path), check=True, diff=True)
    assert checked["changed_paths"] == [str(tmp_path / "lib" / "runner" / "run.py"), str(service)]
    assert service.read_text() == "edited by hand\n" and mode(tmp_path / "lib" / "runner" / "run.py") == 0o666
    assert checked["diff"] == [{"before_header": str(service), "after_header": str(service),
                                "before": "edited by hand\n", "after": "[Service]\nExecStart=/bin/true\n"}]
    _, result, _ = run_module(host_files.main, args(tmp_path))
    assert result["changed_paths"] == checked["changed_paths"]
    assert service.read_text() == "[Service]\nExecStart=/bin/true\n" and mode(tmp_path / "lib" / "runner" / "run.py") == 0o644
    # The unchanged file was not rewritten.
    assert os.stat(tmp_path / "lib" / "runner" / "config.json").st_ino == before


def test_a_secret_file_is_never_shown(tmp_path):
    secret = dict(ME, path=str(tmp_path / "cred.conf"), content="password=hunter2-secret\n", mode="0600", secret=True)
    kind, result, _ = run_module(host_files.main, {"files": [secret]}, diff=True)
    assert kind == "exit" and mode(tmp_path / "cred.conf") == 0o600
    assert "hunter2" not in repr(result)
    assert result["diff"][0]["after"] == "(secret content changed, not shown)\n"


def test_a_new_file_is_never_wider_than_asked_on_the_way(tmp_path, monkeypatch):
    seen = []
    real = _atomic_file.os.replace

    def spy(src, dst):
        seen.append(mode(src))
        return real(src, dst)

    monkeypatch.setattr(_atomic_file.os, "replace", spy)
    run_module(host_files.main, {"files": [dict(ME, path=str(tmp_path / "k"), content="x", mode="0600")]})
    assert seen == [0o600]


@pytest.mark.parametrize("over, message", [
    ({"files": [dict(ME, path="relative/file", content="x")]},
     "files[0] (relative/file): path must be an absolute, normalised path below /, got 'relative/file'"),
    ({"files": [dict(ME, path="/tmp/x", content="x", mode="rw-r--r--")]},
     "files[0] (/tmp/x): mode must be an octal number such as '0600' (symbolic modes are not supported), got 'rw-r--r--'"),
    ({"files": [dict(ME, path="/tmp/x", content="x"), dict(ME, path="/tmp/x", content="y")]},
     "files[1]: /tmp/x is given twice; give each path once"),
    ({"files": [dict(path="/tmp/x", content="x", owner="no-such-user-jfr")]},
     "files[0] (/tmp/x): owner 'no-such-user-jfr' is not a user on this host; give an existing user name or a numeric uid"),
])
def test_bad_entries_are_named(tmp_path, over, message):
    kind, result, _ = run_module(host_files.main, over)
    assert kind == "fail" and result["msg"] == message


def test_a_path_of_the_wrong_kind_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "runner").write_text("a file where a directory is wanted")
    kind, result, _ = run_module(host_files.main, {
        "files": [dict(ME, path=str(tmp_path / "first"), content="x")],
        "directories": [dict(ME, path=str(tmp_path / "runner"))]})
    assert kind == "fail" and result["msg"] == ("directories[0]: %s exists and is not a directory; remove it or "
                                                "choose another path" % (tmp_path / "runner"))
    assert not (tmp_path / "first").exists()
    os.symlink(tmp_path / "runner", tmp_path / "link")
    kind, result, _ = run_module(host_files.main, {"files": [dict(ME, path=str(tmp_path / "link"), content="x")]})
    assert kind == "fail" and "is not a regular file" in result["msg"]
    assert (tmp_path / "runner").read_text() == "a file where a directory is wanted"


# -- host_files_pending: the same question from host_probe's result (a role's `when:`) ----------

def test_pending_agrees_with_the_module_through_host_probe(tmp_path):
    from ansible_collections.homelab.jellyfin_remote.plugins.filter.host_files_pending import host_files_pending
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_probe

    me = dict(owner=_atomic_file.user_name(os.getuid()), group=_atomic_file.group_name(os.getgid()))
    planned = args(tmp_path)
    directories = [dict(d, **me) for d in planned["directories"]]
    files = [dict(f, **me) for f in planned["files"]]

    def look():
        paths = [d["path"] for d in directories] + [f["path"] for f in files]
        return {"paths": {p: _host_probe.describe(p) for p in paths},
                "sha1": {f["path"]: _host_probe.sha1(f["path"]) for f in files}}

    everything = [d["path"] for d in directories] + [f["path"] for f in files]
    assert host_files_pending(files, look(), directories) == everything
    run_module(host_files.main, {"directories": directories, "files": files})
    assert host_files_pending(files, look(), directories) == []
    os.chmod(files[1]["path"], 0o644)  # wanted 0640
    (tmp_path / "units" / "runner.service").write_text("edited\n")
    assert host_files_pending(files, look(), directories) == [files[1]["path"], files[2]["path"]]
    _, result, _ = run_module(host_files.main, {"directories": directories, "files": files}, check=True)
    assert result["changed_paths"] == [files[1]["path"], files[2]["path"]]
    # A path the probe was not asked about counts as pending.
    assert host_files_pending(files, {"paths": {}, "sha1": {}}) == [f["path"] for f in files]
