# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host timer's runner (roles/doctor/files/doctor_host.py), installed as the doctor role's
tasks_from: timer installs it (the runner, the probe and the collection's module_utils in their
layout) and run as its service runs it: Jellyfin is a loopback HTTP server answering its two
endpoints, systemctl a stub on PATH, the host record and network.xml real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from harness import loopback_http, stub_command

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "doctor")
NETWORK_XML = """<?xml version="1.0" encoding="utf-8"?>
<NetworkConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <BaseUrl />
  <InternalHttpPort>{port}</InternalHttpPort>
  <KnownProxies>
    <string>127.0.0.1</string>
  </KnownProxies>
</NetworkConfiguration>
"""
SYSTEMCTL = r'''shift 4
first=1
for u in "$@"; do
  [ $first = 1 ] || echo
  first=0
  case "$u" in
    nginx.service) printf 'Id=%s\nLoadState=loaded\nActiveState=%s\n' "$u" "${NGINX_STATE:-active}";;
    *) printf 'Id=%s\nLoadState=not-found\nActiveState=inactive\n' "$u";;
  esac
done
'''


JELLYFIN = {"/System/Info/Public": (200, json.dumps({"Version": "10.11.11", "StartupWizardCompleted": True,
                                                   "Id": "x"}).encode()),
            "/health": (200, b"Healthy")}


@pytest.fixture
def jellyfin_port():
    with loopback_http(JELLYFIN) as port:
        yield port


def installed(tmp_path):
    """The runner's directory as tasks/timer.yml lays it out (its file lists from vars/main.yml)."""
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    root = tmp_path / "lib"
    utils = root / role_vars["__doctor_timer_module_utils"]
    utils.mkdir(parents=True)
    for name in ("doctor_host.py", "probe.py"):
        shutil.copy(os.path.join(ROLE, "files", name), root / name)
    for name in role_vars["__doctor_timer_module_files"]:
        shutil.copy(os.path.join(REPO, "plugins", "module_utils", name), utils / name)
    return root


def run(tmp_path, port, env_extra=None):
    root = installed(tmp_path)
    (tmp_path / "network.xml").write_text(NETWORK_XML.format(port=port))
    (tmp_path / "state.json").write_text(json.dumps({"format": 1, "sections": {
        "site": {"method": "reverse_proxy"}, "reverse_proxy": {"server": "nginx"},
        "jellyfin_network": {"files": {str(tmp_path / "network.xml"): {"settings": {
            "KnownProxies": {"original": [], "added": ["127.0.0.1"], "removed": []}}}}}}}))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"config_path": str(tmp_path / "network.xml"), "textfile": str(tmp_path / "jf.prom"),
                                  "record_path": str(tmp_path / "state.json")}))
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    stub_command(bindir, "systemctl", SYSTEMCTL)
    # A clean interpreter, as the unit starts it (python3 -I -B): no test's sys.path, no collection
    # but its own copy.
    env = {"PATH": "%s:/usr/bin:/bin" % bindir, "LC_ALL": "C", **(env_extra or {})}
    proc = subprocess.run([sys.executable, "-I", "-B", str(root / "doctor_host.py"), str(config)], capture_output=True,
                          text=True, env=env, check=False, timeout=60)
    # As the unit runs it (-B): nothing written beside the runner (the lab's host fingerprints
    # caught the __pycache__ a run left there).
    assert not list(root.rglob("__pycache__")), list(root.rglob("__pycache__"))
    return proc


def gauges(path):
    families = {f.name: f for f in text_string_to_metric_families(path.read_text())}
    return {s.labels["check"]: s.value for s in families["jellyfin_remote_doctor_check"].samples}


def test_the_runner_gives_the_roles_findings_without_ansible(tmp_path, jellyfin_port):
    proc = run(tmp_path, jellyfin_port)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Remote access (reverse_proxy): OK (4 OK, 0 WARN, 0 FAIL)", proc.stdout
    assert any(line.startswith("OK    jellyfin settings") for line in lines), proc.stdout
    assert gauges(tmp_path / "jf.prom") == {"jellyfin health": 0, "jellyfin version": 0, "jellyfin settings": 0,
                                             "unit nginx.service": 0}
    assert (tmp_path / "jf.prom").stat().st_mode & 0o777 == 0o644


def test_a_fail_is_exit_2_and_a_gauge_of_2(tmp_path, jellyfin_port):
    proc = run(tmp_path, jellyfin_port, {"NGINX_STATE": "failed"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "FAIL  unit nginx.service" in proc.stdout
    assert gauges(tmp_path / "jf.prom")["unit nginx.service"] == 2


def test_jellyfin_not_answering_is_a_fail(tmp_path):
    proc = run(tmp_path, 9)  # discard: nothing answers HTTP there
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "FAIL  jellyfin" in proc.stdout and "did not answer at http://127.0.0.1:9" in proc.stdout
