# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's dynamic DNS stand-in (tests/lab/standins/ddns/ddns_standin.py) for unit tests.

load() imports it from its file (it is a lab program, not a package); start() runs it on
loopback with deSEC's rate limit off, as every unit test wants it.
"""

from __future__ import annotations

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "ddns", "ddns_standin.py")


def load():
    spec = importlib.util.spec_from_file_location("ddns_standin", STANDIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start(**kwargs):
    kwargs.setdefault("desec_interval", 0)
    return load().start(**kwargs)
