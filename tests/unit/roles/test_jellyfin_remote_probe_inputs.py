"""The site role's blocked ports for site_choice (vars/main.yml __jellyfin_remote_inputs.blocked_ports):
under auto, the preflight's (the owner's and the measured ones) once the port probe ran; else the
owner's jellyfin_remote_preferences.blocked_ports. Rendered with Jinja as Ansible would."""

from __future__ import annotations

import os

import jinja2
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def blocked_ports(**variables):
    with open(os.path.join(REPO, "roles", "jellyfin_remote", "vars", "main.yml"), encoding="utf-8") as handle:
        expr = yaml.safe_load(handle)["__jellyfin_remote_inputs"]["blocked_ports"].strip()
    seen = []
    env = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    env.from_string("{{ capture(%s) }}" % expr.removeprefix("{{").removesuffix("}}")).render(
        capture=seen.append, **variables)
    return seen[0]


PROBED = {"port_probe": {"blocked_ports": [80, 443, 8096], "measured": True}}


@pytest.mark.parametrize("variables, expected", [
    ({"jellyfin_remote_method": "auto", "preflight_result": PROBED,
      "jellyfin_remote_preferences": {"blocked_ports": [8096]}}, [80, 443, 8096]),
    ({"jellyfin_remote_method": "auto", "preflight_result": {"port_probe": None},
      "jellyfin_remote_preferences": {"blocked_ports": [8096]}}, [8096]),
    ({"jellyfin_remote_method": "reverse_proxy", "preflight_result": PROBED,
      "jellyfin_remote_preferences": {"blocked_ports": [443]}}, [443]),
    ({"jellyfin_remote_method": "auto", "jellyfin_remote_preferences": {}}, []),
])
def test_blocked_ports_for_the_choice(variables, expected):
    assert list(blocked_ports(**variables)) == expected
