from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter import method_advice as plugin
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._advice import rank_methods

COLLECTIONS = os.environ["JFR_COLLECTIONS_ROOT"]  # set by tests/unit/conftest.py
RESULT = {"changed": False, "classification": "cgnat", "port_forwarding_possible": False, "ipv6_global": False}


def test_filter_is_registered():
    assert plugin.FilterModule().filters() == {"method_advice": plugin.method_advice}


def test_filter_passes_preferences_through():
    got = plugin.method_advice(RESULT, has_vps=True, security_priority="high")
    assert got == rank_methods(RESULT, {"has_vps": True, "security_priority": "high"})
    assert got[0]["method"] == "tailscale"


def test_filter_unknown_preference_names_it():
    with pytest.raises(AnsibleFilterError, match="method_advice: unknown preference 'vps'"):
        plugin.method_advice(RESULT, vps=True)


def test_filter_bad_input():
    with pytest.raises(AnsibleFilterError, match="facts must be the dict"):
        plugin.method_advice(["not", "a", "result"])


def _ansible(tool, tmp_path, *args):
    """Run an ansible-core CLI from this venv with the collection on its path (no network)."""
    binary = os.path.join(os.path.dirname(sys.executable), tool)
    if not os.path.exists(binary):
        pytest.skip("%s is not installed next to %s" % (tool, sys.executable))
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
        ANSIBLE_HOME=str(tmp_path),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_NOCOLOR="1",
    )
    return subprocess.run([binary] + list(args), env=env, capture_output=True, text=True, timeout=60)


def test_filter_in_a_playbook_template(tmp_path):
    """Through ansible-core's own templating, as a playbook calls it (debug runs on the controller)."""
    expr = (
        "{{ {'classification': 'cgnat', 'port_forwarding_possible': false}"
        " | homelab.jellyfin_remote.method_advice(has_domain=true, blocked_ports=[80])"
        " | map(attribute='method') | first }}"
    )
    done = _ansible("ansible", tmp_path, "localhost", "-m", "ansible.builtin.debug", "-a", "msg=" + expr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"msg": "tailscale"' in done.stdout


def test_filter_docs_render_with_ansible_doc(tmp_path):
    done = _ansible("ansible-doc", tmp_path, "-t", "filter", "--json", "homelab.jellyfin_remote.method_advice")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)["homelab.jellyfin_remote.method_advice"]
    assert doc["doc"]["name"] == "method_advice"
    assert doc["return"]["_value"]["elements"] == "dict"


def test_docs_are_valid_yaml_and_cover_every_preference():
    docs = yaml.safe_load(plugin.DOCUMENTATION)
    assert docs["name"] == "method_advice"
    options = set(docs["options"]) - {"_input"}
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._advice import PREFERENCE_DEFAULTS

    assert options == set(PREFERENCE_DEFAULTS)
    yaml.safe_load(plugin.EXAMPLES)
    assert "_value" in yaml.safe_load(plugin.RETURN)
