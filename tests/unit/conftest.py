"""Make the collection importable as ansible_collections.homelab.jellyfin_remote.

Unit tests import plugins by their collection path, as Ansible does. The repository is
linked into .cache/collections/ansible_collections/homelab/jellyfin_remote, and that
root goes on sys.path before any test module is imported. JFR_COLLECTIONS_ROOT names
another root for the link (tests/gates/units_trixie.sh: the checkout is mounted read-only
there); tests that start ansible-core's CLIs read the root from that variable too.
"""

from __future__ import annotations

import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ROOT = os.environ.get("JFR_COLLECTIONS_ROOT") or os.path.join(_REPO, ".cache", "collections")
os.environ["JFR_COLLECTIONS_ROOT"] = _ROOT
_LINK = os.path.join(_ROOT, "ansible_collections", "homelab", "jellyfin_remote")

if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(_REPO, _LINK)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


import pytest  # noqa: E402 - after the collection root is on sys.path

from harness import NetworkGuard, run_module as _run_module  # noqa: E402
from standins import ddns as ddns_standin  # noqa: E402


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """The one network guard (harness.NetworkGuard) on every unit test; fails the test on any attempt."""
    guard = NetworkGuard().install(monkeypatch)
    yield guard
    assert not guard.violations, "a test tried to reach the network: %s" % guard.violations


@pytest.fixture
def run_module():
    """harness.run_module: run a module's main(), get (kind, result, warnings)."""
    return _run_module


@pytest.fixture
def standin():
    """The DDNS providers' stand-in (standins/ddns.py) on loopback, for the test; stopped after it."""
    running = ddns_standin.start()
    yield running
    running.stop()
