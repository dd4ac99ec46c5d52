from __future__ import annotations

import os
import stat
import threading

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_requested_mode_and_content(tmp_path):
    target = tmp_path / "secret.key"
    _atomic_file.write_atomic(str(target), b"abc", mode=0o600)
    assert target.read_bytes() == b"abc"
    assert _mode(target) == 0o600


def test_replaces_existing_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "network.xml"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    _atomic_file.write_atomic(str(target), b"new", mode=0o640)
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["network.xml"]


def test_wide_umask_never_shows(tmp_path):
    """Watch the directory while writing: no entry may ever be group/other readable."""
    old = os.umask(0)
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for entry in os.scandir(tmp_path):
                try:
                    seen.append(_mode(entry.path))
                except FileNotFoundError:
                    pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(200):
            _atomic_file.write_atomic(str(tmp_path / "k"), b"x" * i, mode=0o600)
    finally:
        stop.set()
        watcher.join()
        os.umask(old)
    assert seen, "the watcher saw no file at all"
    assert all(m & 0o077 == 0 for m in seen), sorted(set(seen))


def test_failure_removes_temp_and_keeps_old(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def boom(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        _atomic_file.write_atomic(str(target), b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_read_attributes(tmp_path):
    assert _atomic_file.read_attributes(str(tmp_path / "missing")) is None
    f = tmp_path / "f"
    f.write_bytes(b"")
    os.chmod(f, 0o640)
    attrs = _atomic_file.read_attributes(str(f))
    assert attrs == _atomic_file.FileAttributes(0o640, os.getuid(), os.getgid())


def test_rejects_text():
    with pytest.raises(TypeError):
        _atomic_file.write_atomic("/nonexistent/x", "text")


# ---------------------------------------------------------------- owner, group and mode options


@pytest.mark.parametrize(
    "value, expected",
    [("0600", 0o600), ("600", 0o600), ("0o640", 0o640), (0o600, 0o600), ("0400", 0o400), (" 0640 ", 0o640), ("7777", 0o7777)],
)
def test_parse_octal_mode(value, expected):
    assert _atomic_file.parse_octal_mode(value) == expected


@pytest.mark.parametrize("value", ["u=rw", "0800", "rw-------", "", True, "07777777", 2**31, -1, None])
def test_parse_octal_mode_refuses_naming_the_option(value):
    with pytest.raises(_atomic_file.FileAttributeError, match="^mode must be"):
        _atomic_file.parse_octal_mode(value)


def test_resolve_uid_and_gid():
    assert _atomic_file.resolve_uid(None) is None and _atomic_file.resolve_uid("") is None
    assert _atomic_file.resolve_uid("root") == 0 and _atomic_file.resolve_uid(1234) == 1234
    assert _atomic_file.resolve_gid(None) is None and _atomic_file.resolve_gid("0") == 0
    with pytest.raises(_atomic_file.FileAttributeError, match="^owner 'no-such-user-x' is not a user on this host; give an existing user name or a numeric uid$"):
        _atomic_file.resolve_uid("no-such-user-x")
    with pytest.raises(_atomic_file.FileAttributeError, match="^group 'no-such-group-x' is not a group on this host; give an existing group name or a numeric gid$"):
        _atomic_file.resolve_gid("no-such-group-x")
    with pytest.raises(_atomic_file.FileAttributeError, match="^owner %d is larger than any uid" % 2**40):
        _atomic_file.resolve_uid(str(2**40))
    with pytest.raises(_atomic_file.FileAttributeError, match="^group %d is larger than any gid" % 2**63):
        _atomic_file.resolve_gid(str(2**63))


def test_user_and_group_names():
    assert _atomic_file.user_name(0) == "root" and _atomic_file.group_name(0) == "root"
    assert _atomic_file.user_name(2**32 - 3) == str(2**32 - 3)
    assert _atomic_file.group_name(2**32 - 3) == str(2**32 - 3)


def test_current_attributes_of_a_file_or_of_the_directory_for_a_new_one(tmp_path):
    path = tmp_path / "f"
    st = os.stat(tmp_path)
    assert _atomic_file.current_attributes(str(path), created=True) == (None, st.st_uid, st.st_gid)
    path.write_bytes(b"x")
    os.chmod(path, 0o604)
    assert _atomic_file.current_attributes(str(path), created=False) == (0o604, os.stat(path).st_uid, os.stat(path).st_gid)


def test_target_attributes_keep_the_file_s_or_give_a_new_one_its_mode_and_the_directory_s_owner():
    assert _atomic_file.target_attributes(False, (0o604, 10, 20), (None, None, None), 0o640) == (0o604, 10, 20)
    assert _atomic_file.target_attributes(True, (None, 10, 20), (None, None, None), 0o640) == (0o640, 10, 20)
    assert _atomic_file.target_attributes(True, (None, 10, 20), (0o600, 0, None), 0o640) == (0o600, 0, 20)
    assert _atomic_file.target_attributes(False, (0o644, 10, 20), (0o640, None, 30), 0o640) == (0o640, 10, 30)


def test_attributes_differ_leaves_unmanaged_owner_and_group_out():
    current = _atomic_file.FileAttributes(0o640, 10, 20)
    assert not _atomic_file.attributes_differ(current, 0o640)
    assert not _atomic_file.attributes_differ(current, 0o640, 10, 20)
    assert _atomic_file.attributes_differ(current, 0o600)
    assert _atomic_file.attributes_differ(current, 0o640, 11)
    assert _atomic_file.attributes_differ(current, 0o640, None, 21)


def test_set_attributes_never_widens_on_the_way(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    os.chmod(path, 0o604)
    calls = []
    real_chmod, real_chown = os.chmod, os.chown
    monkeypatch.setattr(os, "chmod", lambda p, mode: calls.append(("chmod", mode)) or real_chmod(p, mode))
    monkeypatch.setattr(os, "chown", lambda p, uid, gid: calls.append(("chown", uid, gid)) or real_chown(p, uid, gid))
    _atomic_file.set_attributes(str(path), _atomic_file.read_attributes(str(path)), 0o640, gid=4321)
    # 0604 -> 0600 (what both allow) -> group -> 0640: never other-readable and group-readable at once;
    # the owner not managed (-1: left as it is).
    assert calls == [("chmod", 0o600), ("chown", -1, 4321), ("chmod", 0o640)]
    st = os.stat(path)
    assert (_mode(path), st.st_gid) == (0o640, 4321)
    calls.clear()
    _atomic_file.set_attributes(str(path), _atomic_file.read_attributes(str(path)), 0o640, gid=4321)
    assert calls == []
