# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ddns role's read-only probe (roles/ddns/files/probe.py).

Run as the role runs it (`python3 -c SOURCE ARGS_JSON`), with dpkg-query and systemctl
replaced by stubs on PATH that answer as the real tools do, and ddclient's files in the
test's temp directory. ddclient.conf holds a password: the probe prints its hash only.
"""

from __future__ import annotations

import hashlib
import os
import sys

import pytest

import probes
from probes import stub

PROBE = probes.probe_path("ddns")
PASSWORD = "Probe-test-pw-NOT-TO-BE-PRINTED"


@pytest.fixture
def host(tmp_path):
    """Stubs: ddclient installed, python3-dnspython not; ddclient enabled and active."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub(bindir, "dpkg-query", 'shift 3\nfor p in "$@"; do case "$p" in ddclient) echo "ddclient installed";; '
          'python3-dnspython) echo "python3-dnspython not-installed";; '
          '*) echo "dpkg-query: no packages found matching $p" >&2;; esac; done\n')
    stub(bindir, "systemctl", 'case "$1" in is-enabled) echo enabled;; is-active) echo active;; esac\n')
    conf = tmp_path / "ddclient.conf"
    conf.write_text("protocol=dyndns2\nlogin=lab\npassword='%s'\n" % PASSWORD)
    conf.chmod(0o600)
    args = {"packages": ["python3-dnspython", "ddclient"], "files": [str(conf), str(tmp_path / "ddclient-tsig.key")],
            "unit": "ddclient"}
    return {"bin": bindir, "args": args, "conf": conf}


def probe(host, path=None, **changes):
    return probes.run(PROBE, dict(host["args"], **changes), host["bin"], path)


def test_reports_packages_files_and_the_service(host):
    raw, out = probe(host)
    conf, key = host["args"]["files"]
    assert out["missing_packages"] == ["python3-dnspython"]
    assert out["paths"][conf].startswith("600 ") and out["paths"][key] == "absent"
    assert out["sha1"] == {conf: hashlib.sha1(host["conf"].read_bytes()).hexdigest(), key: None}
    assert out["unit"] == {"enabled": True, "active": True}
    assert PASSWORD not in raw


def test_a_changed_password_changes_the_hash_only(host):
    raw1, before = probe(host)
    host["conf"].write_text(host["conf"].read_text().replace(PASSWORD, PASSWORD + "2"))
    raw2, after = probe(host)
    conf = host["args"]["files"][0]
    assert before["sha1"][conf] != after["sha1"][conf]
    assert PASSWORD not in raw2


def test_stopped_service_and_wider_mode(host):
    stub(host["bin"], "systemctl", 'case "$1" in is-enabled) echo disabled; exit 1;; is-active) echo inactive; exit 3;; esac\n')
    host["conf"].chmod(0o644)
    _, out = probe(host)
    assert out["unit"] == {"enabled": False, "active": False}
    assert out["paths"][host["args"]["files"][0]].startswith("644 ")


def test_without_the_tools(host):
    _, out = probe(host, path=os.path.dirname(sys.executable))
    assert out["missing_packages"] == ["python3-dnspython", "ddclient"]
    assert out["unit"] == {"enabled": False, "active": False}
