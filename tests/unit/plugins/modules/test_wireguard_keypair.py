from __future__ import annotations

import json
import os
import stat

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard as wg
from ansible_collections.homelab.jellyfin_remote.plugins.modules import wireguard_keypair

ALICE_PRIVATE_B64 = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="  # RFC 7748 section 6.1
ALICE_PUBLIC_B64 = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="


@pytest.fixture
def run():
    """Run main() with the given args; return ('exit'|'fail', result). Keeps every output."""
    outputs = []

    def _run(args):
        kind, result, _warnings = run_module(wireguard_keypair.main, args)
        outputs.append(result)
        return kind, result

    _run.outputs = outputs
    return _run


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _key(path):
    return open(path).read().strip()


def _snapshot(directory):
    """Everything check mode must not touch: names, bytes, modes and owners."""
    snap = {}
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        st = os.lstat(entry.path)
        with open(entry.path, "rb") as handle:
            snap[entry.name] = (handle.read(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return snap


# ---------------------------------------------------------------- creation and idempotence


def test_creation_first_observed_mode_is_0600(run, tmp_path, monkeypatch):
    key_path = tmp_path / "wg0.key"
    observed = []
    real_replace = os.replace

    def spy_replace(src, dst, *args, **kwargs):
        if os.path.abspath(dst) == str(key_path):
            observed.append((os.path.exists(dst), _mode(src), os.stat(src).st_uid))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(_atomic_file.os, "replace", spy_replace)
    old_umask = os.umask(0)
    try:
        kind, result = run({"path": str(key_path)})
    finally:
        os.umask(old_umask)

    assert kind == "exit"
    assert observed == [(False, 0o600, os.geteuid())]
    assert _mode(key_path) == 0o600
    text = key_path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    assert wg.validate_key(text) is None
    assert result["changed"] is True and result["generated"] is True
    assert result["path"] == str(key_path)
    assert result["public_key"] == wg.public_key_from_text(text)
    assert result["fingerprint"] == wg.fingerprint(wg.decode_key(result["public_key"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wg0.key"]


def test_second_run_is_unchanged(run, tmp_path):
    args = {"path": str(tmp_path / "wg0.key"), "public_key_path": str(tmp_path / "wg0.pub")}
    _, first = run(args)
    before = _snapshot(tmp_path)
    _, second = run(args)
    assert first["changed"] is True
    assert second["changed"] is False and second["generated"] is False
    assert second["public_key"] == first["public_key"]
    assert _snapshot(tmp_path) == before
    assert (tmp_path / "wg0.pub").read_text() == first["public_key"] + "\n"
    assert _mode(tmp_path / "wg0.pub") == 0o644


def test_existing_wg_genkey_file_is_kept(run, tmp_path):
    path = tmp_path / "wg0.key"
    path.write_text(ALICE_PRIVATE_B64 + "\n")
    os.chmod(path, 0o600)
    kind, result = run({"path": str(path)})
    assert kind == "exit"
    assert result["changed"] is False
    assert result["public_key"] == ALICE_PUBLIC_B64
    assert _key(path) == ALICE_PRIVATE_B64


def test_stale_public_key_file_is_rewritten(run, tmp_path):
    path = tmp_path / "wg0.key"
    pub = tmp_path / "wg0.pub"
    path.write_text(ALICE_PRIVATE_B64 + "\n")
    os.chmod(path, 0o600)
    pub.write_text("stale\n")
    _, result = run({"path": str(path), "public_key_path": str(pub), "_ansible_diff": True})
    assert result["changed"] is True and result["generated"] is False
    assert pub.read_text() == ALICE_PUBLIC_B64 + "\n"
    assert result["diff"]["before"]["public_key_file"] == "outdated"
    assert _key(path) == ALICE_PRIVATE_B64
    _, again = run({"path": str(path), "public_key_path": str(pub)})
    assert again["changed"] is False


def test_preshared_key(run, tmp_path):
    path = tmp_path / "phone.psk"
    _, result = run({"path": str(path), "type": "preshared_key"})
    assert result["changed"] is True
    raw = wg.decode_key(path.read_text())
    assert len(raw) == 32
    assert result["fingerprint"] == wg.fingerprint(raw)
    assert "public_key" not in result
    assert _mode(path) == 0o600
    _, again = run({"path": str(path), "type": "preshared_key"})
    assert again["changed"] is False


def test_preshared_key_refuses_public_key_path(run, tmp_path):
    kind, result = run(
        {"path": str(tmp_path / "p.psk"), "type": "preshared_key", "public_key_path": str(tmp_path / "p.pub")}
    )
    assert kind == "fail"
    assert result["msg"].startswith("public_key_path is only valid with type=private_key")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- regenerate policies

MALFORMED = ALICE_PRIVATE_B64[:-1]  # 43 characters: a truncated key


def _malformed(tmp_path):
    path = tmp_path / "wg0.key"
    path.write_text(MALFORMED + "\n")
    os.chmod(path, 0o600)
    return path


def test_regenerate_never_fails_on_malformed_key(run, tmp_path):
    path = _malformed(tmp_path)
    kind, result = run({"path": str(path)})
    assert kind == "fail"
    assert result["msg"] == (
        "The private key in %s is not 32 bytes of base64 (expected 44 characters, found 43); "
        "set regenerate=invalid to replace it, or fix the file" % path
    )
    assert MALFORMED not in json.dumps(result)
    assert _key(path) == MALFORMED


def test_regenerate_never_fails_on_empty_psk(run, tmp_path):
    path = tmp_path / "x.psk"
    path.write_text("")
    kind, result = run({"path": str(path), "type": "preshared_key"})
    assert kind == "fail"
    assert result["msg"] == (
        "The preshared key in %s is empty; set regenerate=invalid to replace it, or fix the file" % path
    )


def test_regenerate_invalid_replaces_malformed_key(run, tmp_path):
    path = _malformed(tmp_path)
    _, result = run({"path": str(path), "regenerate": "invalid"})
    assert result["changed"] is True and result["generated"] is True
    assert wg.validate_key(path.read_text()) is None
    assert result["public_key"] == wg.public_key_from_text(path.read_text())
    _, again = run({"path": str(path), "regenerate": "invalid"})
    assert again["changed"] is False and again["public_key"] == result["public_key"]


def test_regenerate_invalid_keeps_valid_key(run, tmp_path):
    path = tmp_path / "wg0.key"
    path.write_text(ALICE_PRIVATE_B64 + "\n")
    os.chmod(path, 0o600)
    _, result = run({"path": str(path), "regenerate": "invalid"})
    assert result["changed"] is False
    assert _key(path) == ALICE_PRIVATE_B64


def test_regenerate_always_makes_a_new_key_each_run(run, tmp_path):
    args = {"path": str(tmp_path / "wg0.key"), "public_key_path": str(tmp_path / "wg0.pub"), "regenerate": "always"}
    seen = set()
    for _ in range(3):
        _, result = run(args)
        assert result["changed"] is True and result["generated"] is True
        assert (tmp_path / "wg0.pub").read_text() == result["public_key"] + "\n"
        seen.add(_key(tmp_path / "wg0.key"))
    assert len(seen) == 3


# ---------------------------------------------------------------- check mode


def _valid(tmp_path, mode=0o600):
    path = tmp_path / "wg0.key"
    path.write_text(ALICE_PRIVATE_B64 + "\n")
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    "prepare, extra, expected",
    [
        (lambda d: None, {}, True),
        (_valid, {}, False),
        (_valid, {"regenerate": "always"}, True),
        (_malformed, {"regenerate": "invalid"}, True),
        (lambda d: _valid(d, 0o640), {}, True),
        (lambda d: _valid(d, 0o640), {"mode": "0640"}, False),
        (_valid, {"public_key_path": "PUB"}, True),
        (_valid, {"state": "absent"}, True),
        (lambda d: None, {"state": "absent"}, False),
    ],
    ids=[
        "missing", "valid", "always", "malformed-invalid", "mode-differs", "mode-same",
        "public-file-missing", "absent-existing", "absent-missing",
    ],
)
def test_check_mode_predicts_changed_and_writes_nothing(run, tmp_path, prepare, extra, expected):
    prepare(tmp_path)
    args = {"path": str(tmp_path / "wg0.key")}
    args.update(extra)
    if args.get("public_key_path") == "PUB":
        args["public_key_path"] = str(tmp_path / "wg0.pub")
    before = _snapshot(tmp_path)

    kind, predicted = run(dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert kind == "exit"
    assert predicted["changed"] is expected
    assert _snapshot(tmp_path) == before

    kind, real = run(args)
    assert kind == "exit"
    assert real["changed"] is expected


def test_check_mode_fails_like_the_real_run_on_malformed_key(run, tmp_path):
    path = _malformed(tmp_path)
    kind, result = run({"path": str(path), "_ansible_check_mode": True})
    assert kind == "fail"
    assert "set regenerate=invalid to replace it" in result["msg"]


def test_check_mode_new_key_has_no_public_key_yet(run, tmp_path):
    _, result = run({"path": str(tmp_path / "wg0.key"), "_ansible_check_mode": True})
    assert result["generated"] is True
    assert result["public_key"] is None and result["fingerprint"] is None


# ---------------------------------------------------------------- diff


def test_diff_shows_public_key_never_private_key(run, tmp_path):
    path = _valid(tmp_path, 0o644 & 0o640)  # 0640 -> fixed to 0600
    _, result = run({"path": str(path), "_ansible_diff": True})
    diff = result["diff"]
    assert diff["before"]["public_key"] == ALICE_PUBLIC_B64
    assert diff["after"]["public_key"] == ALICE_PUBLIC_B64
    assert diff["before"]["mode"] == "0640" and diff["after"]["mode"] == "0600"
    assert diff["after"]["fingerprint"] == wg.fingerprint(wg.decode_key(ALICE_PUBLIC_B64))
    dumped = json.dumps(result)
    assert ALICE_PRIVATE_B64 not in dumped
    assert ALICE_PRIVATE_B64[:20] not in dumped
    assert wg.decode_key(ALICE_PRIVATE_B64).hex() not in dumped


def test_diff_of_regenerated_key(run, tmp_path):
    _valid(tmp_path)
    _, result = run({"path": str(tmp_path / "wg0.key"), "regenerate": "always", "_ansible_diff": True})
    assert result["diff"]["before"]["public_key"] == ALICE_PUBLIC_B64
    assert result["diff"]["after"]["public_key"] == result["public_key"] != ALICE_PUBLIC_B64
    assert result["diff"]["after"]["generated"] is True


def test_no_diff_without_diff_mode(run, tmp_path):
    _, result = run({"path": str(tmp_path / "wg0.key")})
    assert "diff" not in result


# ---------------------------------------------------------------- return_secret


def test_return_secret_without_no_log_fails_and_writes_nothing(run, tmp_path):
    kind, result = run({"path": str(tmp_path / "wg0.key"), "return_secret": True})
    assert kind == "fail"
    assert "add 'no_log: true' to the task" in result["msg"]
    assert "return_secret" in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key_type", ["private_key", "preshared_key"])
def test_return_secret_with_no_log(run, tmp_path, key_type):
    path = tmp_path / "k"
    kind, result = run({"path": str(path), "type": key_type, "return_secret": True, "_ansible_no_log": True})
    assert kind == "exit"
    assert result[key_type] == _key(path)
    if key_type == "private_key":
        assert result["public_key"] == wg.public_key_from_text(result["private_key"])
    other = "preshared_key" if key_type == "private_key" else "private_key"
    assert other not in result


def test_secret_is_masked_by_ansible_when_not_returned(tmp_path, capsys, monkeypatch):
    """Defence in depth: with the real exit_json the key is registered as a no_log value,
    so even a (simulated) bug that put it into the result would be masked."""
    path = tmp_path / "wg0.key"
    path.write_text(ALICE_PRIVATE_B64 + "\n")
    os.chmod(path, 0o600)
    real_result = wg.Outcome.result

    def leaky_result(self, key_type):
        out = real_result(self, key_type)
        out["simulated_bug"] = "key is " + self.secret
        return out

    monkeypatch.setattr(wg.Outcome, "result", leaky_result)
    with patch_module_args({"path": str(path)}):
        with pytest.raises(SystemExit) as exited:
            wireguard_keypair.main()
    module_result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0
    assert module_result["public_key"] == ALICE_PUBLIC_B64
    assert module_result["simulated_bug"] == "key is ********"
    assert ALICE_PRIVATE_B64 not in json.dumps(module_result)


# ---------------------------------------------------------------- attributes


def test_mode_fix_without_content_change(run, tmp_path):
    path = _valid(tmp_path, 0o400)
    inode = os.stat(path).st_ino
    _, result = run({"path": str(path), "mode": "0600"})
    assert result["changed"] is True and result["generated"] is False
    assert _mode(path) == 0o600
    assert _key(path) == ALICE_PRIVATE_B64
    assert os.stat(path).st_ino == inode  # fixed in place, not rewritten
    _, again = run({"path": str(path), "mode": "0600"})
    assert again["changed"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_owner_fix_without_content_change(run, tmp_path):
    path = _valid(tmp_path)
    os.chown(path, 65534, 65534)
    _, result = run({"path": str(path)})  # owner defaults to the running user (root)
    assert result["changed"] is True and result["generated"] is False
    st = os.stat(path)
    assert st.st_uid == 0 and st.st_gid == 65534  # group not managed when not given
    assert _key(path) == ALICE_PRIVATE_B64
    _, result = run({"path": str(path), "owner": "65534", "group": "0", "mode": "0640"})
    assert result["changed"] is True
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, _mode(path)) == (65534, 0, 0o640)
    _, again = run({"path": str(path), "owner": "65534", "group": "0", "mode": "0640"})
    assert again["changed"] is False


@pytest.mark.parametrize("mode", ["0644", "0660", "0700", "0604"])
def test_mode_too_wide_is_refused(run, tmp_path, mode):
    kind, result = run({"path": str(tmp_path / "wg0.key"), "mode": mode})
    assert kind == "fail"
    assert result["msg"].startswith("mode %s is wider than 0640" % mode)
    assert list(tmp_path.iterdir()) == []


def test_symbolic_mode_is_refused(run, tmp_path):
    kind, result = run({"path": str(tmp_path / "wg0.key"), "mode": "u=rw"})
    assert kind == "fail"
    assert result["msg"] == (
        "mode must be an octal number such as '0600' (symbolic modes are not supported), got 'u=rw'"
    )


def test_unknown_owner_is_refused(run, tmp_path):
    kind, result = run({"path": str(tmp_path / "wg0.key"), "owner": "no-such-user-x"})
    assert kind == "fail"
    assert result["msg"].startswith("owner 'no-such-user-x' is not a user on this host")


def test_missing_directory_is_reported(run, tmp_path):
    kind, result = run({"path": str(tmp_path / "nope" / "wg0.key")})
    assert kind == "fail"
    assert result["msg"].startswith("cannot write private key file %s" % (tmp_path / "nope" / "wg0.key"))


# ---------------------------------------------------------------- state absent


def test_state_absent_removes_key_and_public_file(run, tmp_path):
    args = {"path": str(tmp_path / "wg0.key"), "public_key_path": str(tmp_path / "wg0.pub")}
    run(args)
    _, result = run(dict(args, state="absent", _ansible_diff=True))
    assert result["changed"] is True
    assert list(tmp_path.iterdir()) == []
    assert result["diff"]["after"] == {"state": "absent", "public_key_file": "absent"}
    _, again = run(dict(args, state="absent"))
    assert again["changed"] is False


# ---------------------------------------------------------------- missing library


def test_missing_cryptography(run, tmp_path, monkeypatch):
    monkeypatch.setattr(wg, "HAS_CRYPTOGRAPHY", False)
    monkeypatch.setattr(wg, "CRYPTOGRAPHY_IMPORT_ERROR", "Traceback: ImportError")
    kind, result = run({"path": str(tmp_path / "wg0.key")})
    assert kind == "fail"
    assert "Failed to import the required Python library (cryptography)" in result["msg"]
    assert list(tmp_path.iterdir()) == []
    # a preshared key needs no cryptography
    kind, result = run({"path": str(tmp_path / "x.psk"), "type": "preshared_key"})
    assert kind == "exit" and result["changed"] is True


# ---------------------------------------------------------------- leak scan


def test_no_secret_in_any_result_or_failure(run, tmp_path):
    """Drive every path; every key ever on disk must be absent from every output."""
    key = str(tmp_path / "wg0.key")
    psk = str(tmp_path / "p.psk")
    pub = str(tmp_path / "wg0.pub")
    secrets_seen = set()

    def remember():
        for p in (key, psk):
            if os.path.exists(p):
                text = open(p).read().strip()
                if text:
                    secrets_seen.add(text)

    scenarios = [
        {"path": key, "public_key_path": pub},
        {"path": key, "public_key_path": pub},
        {"path": key, "public_key_path": pub, "_ansible_check_mode": True},
        {"path": key, "regenerate": "always", "public_key_path": pub},
        {"path": key, "mode": "0640"},
        {"path": key, "mode": "0644"},
        {"path": key, "return_secret": True},
        {"path": key, "owner": "no-such-user-x"},
        {"path": psk, "type": "preshared_key"},
        {"path": psk, "type": "preshared_key", "regenerate": "always"},
        {"path": psk, "type": "preshared_key", "public_key_path": pub},
        {"path": psk, "type": "preshared_key", "return_secret": True},
    ]
    for args in scenarios:
        remember()
        run(dict(args, _ansible_diff=True))
        remember()
    # malformed but secret-looking content (a truncated real key) must not leak either
    for p, key_type in ((key, "private_key"), (psk, "preshared_key")):
        truncated = open(p).read().strip()[:-1]
        secrets_seen.add(truncated)
        with open(p, "w") as handle:
            handle.write(truncated + "\n")
        run({"path": p, "type": key_type, "_ansible_diff": True})
        run({"path": p, "type": key_type, "regenerate": "invalid", "_ansible_diff": True})
        remember()
    for p, key_type in ((key, "private_key"), (psk, "preshared_key")):
        run({"path": p, "type": key_type, "state": "absent", "_ansible_diff": True})

    assert len(secrets_seen) >= 8
    kinds = {"fail" if out.get("failed") else "exit" for out in run.outputs}
    assert kinds == {"exit", "fail"}
    dumped = json.dumps(run.outputs) + json.dumps(ansible_warnings.get_warning_messages())
    for secret in secrets_seen:
        assert secret not in dumped
        assert secret[:16] not in dumped


# ---------------------------------------------------------------- keys: several key files in one run


def _keys(d):
    return [
        {"path": str(d / "wg0.key"), "public_key_path": str(d / "wg0.pub")},
        {"path": str(d / "phone.key"), "public_key_path": str(d / "phone.pub")},
        {"path": str(d / "phone.psk"), "type": "preshared_key"},
    ]


def test_keys_creates_each_file_then_changes_nothing(run, tmp_path):
    kind, first = run({"keys": _keys(tmp_path), "return_secret": True, "_ansible_no_log": True})
    assert kind == "exit" and first["changed"] is True
    assert [r["path"] for r in first["key_files"]] == [k["path"] for k in _keys(tmp_path)]
    assert all(r["changed"] and r["generated"] for r in first["key_files"])
    server, phone, psk = first["key_files"]
    assert server["private_key"] == _key(tmp_path / "wg0.key")
    assert server["public_key"] == (tmp_path / "wg0.pub").read_text().strip()
    assert phone["public_key"] == wg.public_key_from_text(_key(tmp_path / "phone.key"))
    assert psk["preshared_key"] == _key(tmp_path / "phone.psk") and "public_key" not in psk
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == {
        "wg0.key": 0o600, "wg0.pub": 0o644, "phone.key": 0o600, "phone.pub": 0o644, "phone.psk": 0o600}
    assert "path" not in first and "diff" not in first
    before = _snapshot(tmp_path)

    _, again = run({"keys": _keys(tmp_path), "return_secret": True, "_ansible_no_log": True})
    assert again["changed"] is False and not any(r["changed"] for r in again["key_files"])
    assert [r["private_key"] for r in again["key_files"][:2]] == [server["private_key"], phone["private_key"]]
    assert again["key_files"][2]["preshared_key"] == psk["preshared_key"]
    assert _snapshot(tmp_path) == before


def test_keys_only_the_one_that_differs_changes(run, tmp_path):
    run({"keys": _keys(tmp_path)})
    os.chmod(tmp_path / "phone.key", 0o640)
    (tmp_path / "wg0.pub").write_text("stale\n")
    _, result = run({"keys": _keys(tmp_path)})
    assert [r["changed"] for r in result["key_files"]] == [True, True, False]
    assert not any(r["generated"] for r in result["key_files"])
    assert _mode(tmp_path / "phone.key") == 0o600
    assert (tmp_path / "wg0.pub").read_text().strip() == result["key_files"][0]["public_key"]


def test_keys_one_malformed_file_fails_naming_it_and_writes_nothing(run, tmp_path):
    (tmp_path / "phone.psk").write_text("not a key\n")
    os.chmod(tmp_path / "phone.psk", 0o600)
    before = _snapshot(tmp_path)
    kind, result = run({"keys": _keys(tmp_path)})
    assert kind == "fail"
    assert result["msg"].startswith("keys[2].") and str(tmp_path / "phone.psk") in result["msg"]
    assert _snapshot(tmp_path) == before  # the server's and the phone's keys were not made either
    kind, result = run({"keys": _keys(tmp_path), "regenerate": "invalid"})
    assert kind == "exit" and [r["generated"] for r in result["key_files"]] == [True, True, True]


def test_keys_check_mode_predicts_and_writes_nothing(run, tmp_path):
    kind, predicted = run({"keys": _keys(tmp_path), "_ansible_check_mode": True, "_ansible_diff": True})
    assert kind == "exit" and predicted["changed"] is True
    assert list(tmp_path.iterdir()) == []
    assert [r["public_key"] for r in predicted["key_files"][:2]] == [None, None]
    assert len(predicted["diff"]) == 3 and predicted["diff"][2]["after"]["generated"] is True
    run({"keys": _keys(tmp_path)})
    before = _snapshot(tmp_path)
    _, predicted = run({"keys": _keys(tmp_path), "_ansible_check_mode": True})
    assert predicted["changed"] is False and _snapshot(tmp_path) == before
    _, predicted = run({"keys": _keys(tmp_path), "state": "absent", "_ansible_check_mode": True})
    assert predicted["changed"] is True and _snapshot(tmp_path) == before
    _, removed = run({"keys": _keys(tmp_path), "state": "absent"})
    assert removed["changed"] is True and list(tmp_path.iterdir()) == []


def test_keys_return_secret_needs_no_log_and_secrets_stay_out_otherwise(run, tmp_path):
    kind, result = run({"keys": _keys(tmp_path), "return_secret": True})
    assert kind == "fail" and "add 'no_log: true' to the task" in result["msg"]
    assert list(tmp_path.iterdir()) == []
    _, result = run({"keys": _keys(tmp_path), "_ansible_diff": True})
    dumped = json.dumps(result)
    for name in ("wg0.key", "phone.key", "phone.psk"):
        assert _key(tmp_path / name) not in dumped
    assert all("private_key" not in r and "preshared_key" not in r for r in result["key_files"])


@pytest.mark.parametrize(
    "args, message",
    [
        ({"keys": [{"path": "/tmp/a.key"}, {"path": "/tmp/a.key", "type": "preshared_key"}]},
         "keys[1].path: /tmp/a.key is already keys[0].path"),
        ({"keys": [{"path": "/tmp/a.key", "public_key_path": "/tmp/b"}, {"path": "/tmp/b"}]},
         "keys[1].path: /tmp/b is already keys[0].public_key_path"),
        ({"keys": [{"path": "/tmp/a.key"}, {"path": ""}]}, "keys[1].path is empty"),
        ({"keys": [{"path": "/tmp/a\x00"}]}, "keys[0].path contains a NUL byte"),
        ({"keys": [{"path": "/tmp/a.psk", "type": "preshared_key", "public_key_path": "/tmp/a.pub"}]},
         "keys[0].public_key_path is only valid with type=private_key"),
        ({"keys": [{"path": "/tmp/a.key"}], "path": "/tmp/b.key"}, "mutually exclusive"),
        ({"keys": [{"path": "/tmp/a.key"}], "public_key_path": "/tmp/b.pub"}, "mutually exclusive"),
        ({"type": "preshared_key"}, "one of the following is required: path, keys"),
    ],
)
def test_keys_bad_input_fails_naming_the_option(run, args, message):
    outcome, result = run(args)
    assert outcome == "fail" and message in result["msg"]


# ---------------------------------------------------------------- documentation


def test_documentation_matches_argument_spec(monkeypatch):
    """Options in DOCUMENTATION and the argument spec agree (type, default, choices, required)."""
    import yaml

    captured = {}

    class Stop(Exception):
        pass

    def fake_init(self, argument_spec, **kwargs):
        captured.update(argument_spec)
        captured["__kwargs__"] = kwargs
        raise Stop

    monkeypatch.setattr(basic.AnsibleModule, "__init__", fake_init)
    with pytest.raises(Stop):
        wireguard_keypair.main()
    kwargs = captured.pop("__kwargs__")
    assert kwargs.get("supports_check_mode") is True

    doc = yaml.safe_load(wireguard_keypair.DOCUMENTATION)
    options = doc["options"]
    assert set(options) == set(captured)
    for name, spec in captured.items():
        assert options[name].get("type", "str") == spec.get("type", "str"), name
        assert options[name].get("default") == spec.get("default"), name
        assert options[name].get("choices") == spec.get("choices"), name
        assert bool(options[name].get("required")) == bool(spec.get("required")), name
    suboptions = options["keys"]["suboptions"]
    assert set(suboptions) == set(captured["keys"]["options"])
    for name, spec in captured["keys"]["options"].items():
        assert suboptions[name].get("type", "str") == spec.get("type", "str"), name
        assert suboptions[name].get("default") == spec.get("default"), name
        assert suboptions[name].get("choices") == spec.get("choices"), name
        assert bool(suboptions[name].get("required")) == bool(spec.get("required")), name
    assert captured["public_key_path"]["no_log"] is False
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"

    returned = yaml.safe_load(wireguard_keypair.RETURN)
    assert {"path", "public_key", "fingerprint", "generated", "private_key", "preshared_key", "diff",
            "key_files"} <= set(returned)
    for task in yaml.safe_load(wireguard_keypair.EXAMPLES):
        modules = [k for k in task if "." in k]
        assert modules and all(k.count(".") == 2 for k in modules), task["name"]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"path": ""}, "path is empty"),
        ({"path": "   "}, "path is empty"),
        ({"path": "/tmp/k\x00x"}, "path contains a NUL byte"),
        ({"path": "/tmp/k", "public_key_path": "/tmp/p\x00"}, "public_key_path contains a NUL byte"),
        ({"path": "/tmp/k", "public_key_path": ""}, "public_key_path is empty"),
        ({"path": "/tmp/k", "group": "\x00"}, "group contains a NUL byte"),
        ({"path": "/tmp/k", "owner": "ro\x00ot"}, "owner contains a NUL byte"),
        ({"path": "/tmp/k", "group": str(2**63)}, "group %d is larger than any gid" % 2**63),
        ({"path": "/tmp/k", "owner": str(2**40)}, "owner %d is larger than any uid" % 2**40),
    ],
)
def test_bad_paths_fail_naming_the_option(run, args, message):
    """Found by fuzzing: these used to end in a traceback or a message naming no option."""
    outcome, result = run(args)
    assert outcome == "fail" and message in result["msg"]
