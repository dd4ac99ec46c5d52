"""One source for each version the collection states, and a test holding the copies that cannot
import it (YAML, Markdown, module_utils that run on the host without galaxy.yml)."""

from __future__ import annotations

import glob
import os
import re

import yaml

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import SECURITY_FLOOR

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLOOR = ".".join(str(part) for part in SECURITY_FLOOR)
# The ways the documentation names the floor.
FLOOR_MENTIONS = (
    re.compile(r"security floor\W{1,4}(\d+\.\d+\.\d+)"),
    # (not "enable_upnp only with jellyfin_version older than 10.11.0": a setting's removal, not the floor)
    re.compile(r"(?<!jellyfin_version )older than (\d+\.\d+\.\d+)"),
    re.compile(r"(\d+\.\d+\.\d+) \(the security floor\)"),
    re.compile(r"\((\d+\.\d+\.\d+) or newer\)"),
)


def _documents():
    patterns = ("README.md", "docs/**/*.md", "roles/*/README.md", "roles/*/defaults/*.yml",
                "roles/*/meta/argument_specs.yml", "playbooks/*.yml", "plugins/modules/*.py")
    for pattern in patterns:
        for path in glob.glob(os.path.join(REPO, pattern), recursive=True):
            with open(path, encoding="utf-8") as handle:
                yield os.path.relpath(path, REPO), " ".join(handle.read().replace("#", " ").split())


def test_the_ddns_user_agent_carries_the_collection_version():
    # module_utils run on the host, where galaxy.yml is not: the copy is held here.
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        assert _ddns.VERSION == yaml.safe_load(handle)["version"]
    assert _ddns.USER_AGENT == "homelab.jellyfin_remote/%s ddns_update" % _ddns.VERSION


def test_every_mention_of_the_security_floor_is_the_constant():
    """_jellyfin_network.SECURITY_FLOOR decides; the READMEs, defaults and argument specs say it in
    words. A raised floor that one of them still calls 10.11.10 fails here."""
    found = []
    for path, text in _documents():
        for pattern in FLOOR_MENTIONS:
            found += [(path, version) for version in pattern.findall(text)]
    wrong = [(p, v) for p, v in found if v != FLOOR]
    assert wrong == [], "these mention a security floor other than %s (SECURITY_FLOOR)" % FLOOR
    # The places known today, so that a pattern that stops matching is noticed.
    assert {p for p, _ in found} >= {"README.md", "roles/jellyfin_network/README.md", "roles/jellyfin_remote/README.md",
                                     "roles/jellyfin_remote/defaults/main.yml", "roles/port_forward/README.md",
                                     "roles/jellyfin_network/meta/argument_specs.yml",
                                     "roles/jellyfin_remote/meta/argument_specs.yml", "plugins/modules/jellyfin_network.py"}
