# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gates/molecule_scenario.sh fails a scenario whose -vvv output holds a secret the lab
created, and passes a clean one. A stand-in `molecule` on PATH plays the scenario: it prints
the output and saves the secrets file as tests/lab/playbooks/destroy.yml does."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys

from .conftest import GATES

SCRIPT = os.path.join(GATES, "molecule_scenario.sh")
SECRET = "uN1tTest-ddns-Passw0rd-7c41"
KEY = base64.b64encode(bytes(range(32))).decode()

FAKE_MOLECULE = """#!/bin/bash
# molecule test -s NAME: print what the scenario printed, save the secrets like destroy.yml.
cat "$FAKE_OUTPUT"
cp "$FAKE_SECRETS" "$JFR_GATE_LOGS/$3.secrets.json"
[ -z "${FAKE_VERIFY_SECRETS:-}" ] || cp "$FAKE_VERIFY_SECRETS" "$JFR_GATE_LOGS/$3.verify.secrets.json"
exit "${FAKE_RC:-0}"
"""


def _run(tmp_path, output, secrets, rc=0, verify_secrets=None):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "molecule"
    fake.write_text(FAKE_MOLECULE)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "out.txt").write_text(output)
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    env = dict(os.environ, PATH="%s%s%s" % (bin_dir, os.pathsep, os.environ["PATH"]),
               JFR_GATE_LOGS=str(tmp_path / "logs"), FAKE_OUTPUT=str(tmp_path / "out.txt"),
               FAKE_SECRETS=str(tmp_path / "secrets.json"), FAKE_RC=str(rc))
    if verify_secrets is not None:
        (tmp_path / "verify.json").write_text(json.dumps(verify_secrets))
        env["FAKE_VERIFY_SECRETS"] = str(tmp_path / "verify.json")
    return subprocess.run(["bash", SCRIPT, "fake_scenario"], env=env, capture_output=True, text=True, check=False)


CLEAN = "INFO     fake_scenario ➜ converge: Executing\n  │ server : ok=3 changed=1 unreachable=0 failed=0\n"


def test_a_clean_scenario_passes(tmp_path):
    proc = _run(tmp_path, CLEAN, {"ddns": SECRET, "wg": KEY})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the two the roles left, and the lab's own made-up credentials (tests/lab/vars)
    lab = len(leak_scan_lab_secrets())
    assert lab >= 3
    assert "%d secrets, 1 logs, 0 leaked" % (2 + lab) in proc.stdout
    assert "scenario fake_scenario passed" in proc.stdout


def test_a_lab_credential_in_the_output_fails(tmp_path):
    password = leak_scan_lab_secrets()["lab:lab_ddns_password"]
    proc = _run(tmp_path, CLEAN + "  │ ddclient login=labuser password=%s\n" % password, {"wg": KEY})
    assert proc.returncode != 0
    assert "LEAK lab:lab_ddns_password" in proc.stdout and password not in proc.stdout


def leak_scan_lab_secrets():
    sys.path.insert(0, os.path.dirname(SCRIPT))
    try:
        import leak_scan
    finally:
        sys.path.pop(0)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(SCRIPT)))
    found = {}
    # The files tests/gates/molecule_scenario.sh passes with --lab-vars (read from the script:
    # one list), merged as leak_scan does.
    with open(SCRIPT, encoding="utf-8") as handle:
        paths = re.findall(r"--lab-vars ([^\s)]+)", handle.read())
    assert len(paths) >= 3, paths
    for path in paths:
        name = os.path.basename(path)
        for label, value in leak_scan.lab_secrets(os.path.join(repo, path)).items():
            found["%s@%s" % (label, name) if found.get(label, value) != value else label] = value
    return found


def test_a_planted_secret_fails_the_scenario_without_showing_it(tmp_path):
    leaked = CLEAN + '  │ "module_args": {"password": "%s"}\n' % SECRET
    proc = _run(tmp_path, leaked, {"ddns": SECRET, "wg": KEY})
    assert proc.returncode != 0
    assert "LEAK ddns" in proc.stdout and "FAILED: a secret is in its -vvv output" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr


def test_a_key_leaked_as_base64_inside_a_payload_is_found(tmp_path):
    leaked = CLEAN + "  │ body: %s\n" % base64.b64encode(b"PrivateKey = " + KEY.encode()).decode()
    proc = _run(tmp_path, leaked, {"wg": KEY})
    assert proc.returncode != 0 and "LEAK wg" in proc.stdout


def test_a_failing_scenario_fails_and_shows_its_tail(tmp_path):
    proc = _run(tmp_path, CLEAN + "fatal: [server]: FAILED!\n", {}, rc=1)
    assert proc.returncode == 1
    assert "scenario fake_scenario FAILED (exit 1)" in proc.stdout and "fatal: [server]" in proc.stdout


def test_no_secret_created_is_said_not_passed_silently(tmp_path):
    proc = _run(tmp_path, CLEAN, {})
    assert proc.returncode == 0
    assert "the roles created no secret on the server in fake_scenario" in proc.stdout


def test_a_secret_saved_only_before_verify_is_scanned_too(tmp_path):
    # A test removed the secret (state absent) before destroy.yml looked: the copy that
    # molecule/conftest.py saved before the tests still counts.
    leaked = CLEAN + '  │ TUNNEL_TOKEN=%s\n' % SECRET
    proc = _run(tmp_path, leaked, {}, verify_secrets={"token": SECRET})
    assert proc.returncode != 0 and "LEAK token" in proc.stdout
