"""Every role: argument_specs and defaults agree, and the README table is generated."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(REPO, "roles", "*", "tasks")))


def _load(role, *parts):
    path = os.path.join(REPO, "roles", role, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def test_there_are_roles():
    assert "jellyfin_network" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_specified_with_the_same_value(role):
    defaults = _load(role, "defaults", "main.yml") or {}
    options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, value in defaults.items():
        assert name in options, "%s: defaults/main.yml sets %s, which argument_specs does not list" % (role, name)
        assert options[name].get("default") == value, "%s: %s default differs between defaults and argument_specs" % (role, name)
    for name, option in options.items():
        if "default" in option:
            assert name in defaults, "%s: argument_specs gives %s a default that defaults/main.yml lacks" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_are_prefixed(role):
    options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    bad = [n for n in options if not n.startswith(role + "_")]
    assert not bad, "%s: variables without the %s_ prefix: %s" % (role, role, bad)


def test_readmes_are_generated_from_argument_specs():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "tools", "role_docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stale_readme_is_caught(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "tools"))
    try:
        import role_docs
    finally:
        sys.path.pop(0)
    specs = {"argument_specs": {"main": {"short_description": "x", "options": {"r_a": {"type": "int", "default": 1, "description": "A."}}}}}
    text = "# r\n%s\nold table\n%s\n" % (role_docs.BEGIN, role_docs.END)
    rendered = role_docs.render(text, specs)
    assert "old table" not in rendered and "| `r_a` | int | `1` | A. |" in rendered
    assert role_docs.render(rendered, specs) == rendered


def _set_fact_names():
    """Public names the roles set with set_fact (output facts), from every tasks file."""
    names = set()
    for path in glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            tasks = yaml.safe_load(handle) or []
        stack = list(tasks)
        while stack:
            task = stack.pop()
            if not isinstance(task, dict):
                continue
            for key in ("block", "rescue", "always"):
                stack += task.get(key) or []
            facts = task.get("ansible.builtin.set_fact") or {}
            names |= {n for n in facts if isinstance(facts, dict) and not n.startswith("_") and n != "cacheable"}
    return names


def test_the_misspelt_variable_check_knows_every_name_the_roles_use():
    """jellyfin_remote warns about unknown prefixed names: every option and every output fact must
    be known to it, or owners would be warned about the collection's own variables."""
    roles_vars = _load("jellyfin_remote", "vars", "main.yml")
    known = set(roles_vars["__jellyfin_remote_other_variables"])
    assert sorted(roles_vars["__jellyfin_remote_roles"]) == sorted(r for r in ROLES if not r.startswith("_"))
    for role in roles_vars["__jellyfin_remote_roles"]:
        known |= set(_load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"])
    prefixes = tuple(roles_vars["__jellyfin_remote_variable_prefixes"])
    facts = {n for n in _set_fact_names() if n.startswith(prefixes)}
    assert facts - known == set(), "output facts missing from __jellyfin_remote_other_variables"
    assert "jellyfin_remote_summary" in facts and "wireguard_server_addresses" in facts
