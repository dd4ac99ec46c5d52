# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gates/units_trixie.sh fails when a test fails in the Debian 13 container, and the
tests there run with trixie's Python 3.13 (UNITS_TRIXIE_TESTS points it at a tiny test file)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import GATES, REPO, run

pytestmark = pytest.mark.gate

IMAGE = os.environ.get("UNITS_TRIXIE_IMAGE", "localhost/jellyfin-remote-lab:trixie")

TESTS = """import sys


def test_runs_on_trixies_python():
    assert sys.version_info[:2] == (3, 13), sys.version


def test_planted_failure():
    assert 1 + 1 == 3, "planted by test_units_trixie_gate.py"
"""


def _image_exists():
    if not shutil.which("podman"):
        return False
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "tests", "lab", "containers.conf"))
    return subprocess.run(["podman", "image", "exists", IMAGE], env=env, check=False).returncode == 0


@pytest.mark.skipif(not _image_exists(), reason="no podman or no image %s (make image)" % IMAGE)
def test_a_failing_test_fails_the_gate(tmp_path):
    tests = tmp_path / "test_planted.py"
    tests.write_text(TESTS)
    code, out = run(["bash", os.path.join(GATES, "units_trixie.sh")], env={"UNITS_TRIXIE_TESTS": str(tests)})
    assert code != 0, out
    assert "1 failed, 1 passed" in out and "planted by test_units_trixie_gate.py" in out, out
    assert "python: 3.13" in out and "Debian GNU/Linux 13 (trixie)" in out, out
