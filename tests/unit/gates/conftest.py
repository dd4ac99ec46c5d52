# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the gate tests: each gate must fail on a broken input.

Tests that run a whole tool (ansible-test, ansible-lint, ansible-galaxy, antsibull-*) are
marked `gate`; `pytest -m "not gate"` leaves them out.
"""

from __future__ import annotations

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GATES = os.path.join(REPO, "tests", "gates")
VENV_BIN = os.path.join(REPO, ".venv", "bin")


def pytest_configure(config):
    config.addinivalue_line("markers", "gate: runs a whole quality-gate tool on a broken input (slow)")


def run(command, cwd=None, env=None, timeout=900):
    environment = dict(os.environ)
    environment["PATH"] = VENV_BIN + os.pathsep + environment.get("PATH", "")
    environment.pop("ANSIBLE_COLLECTIONS_PATH", None)
    environment.update(env or {})
    proc = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def collection_copy(tmp_path):
    """A copy of the files git would publish, at TMP/ansible_collections/homelab/jellyfin_remote."""
    dest = tmp_path / "ansible_collections" / "homelab" / "jellyfin_remote"
    dest.mkdir(parents=True)
    listing = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "-co", "--exclude-standard"], capture_output=True, check=True).stdout
    files = [f for f in listing.decode().split("\0") if f and os.path.exists(os.path.join(REPO, f))]
    subprocess.run(["tar", "-C", REPO, "--null", "-T", "-", "-cf", str(tmp_path / "c.tar")], input="\0".join(files).encode(), check=True)
    subprocess.run(["tar", "-C", str(dest), "-xf", str(tmp_path / "c.tar")], check=True)
    return dest
