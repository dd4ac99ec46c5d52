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
    """Every default is an option of an entry point (main, or the tasks_from entry point it is for),
    with the same default wherever it is listed."""
    defaults = _load(role, "defaults", "main.yml") or {}
    entry_points = _load(role, "meta", "argument_specs.yml")["argument_specs"]
    listed = {name for spec in entry_points.values() for name in spec.get("options") or {}}
    for name in defaults:
        assert name in listed, "%s: defaults/main.yml sets %s, which argument_specs does not list" % (role, name)
    for entry, spec in entry_points.items():
        for name, option in (spec.get("options") or {}).items():
            if "default" in option:
                assert name in defaults, "%s: argument_specs (%s) gives %s a default that defaults/main.yml lacks" % (
                    role, entry, name)
                assert option["default"] == defaults[name], "%s: %s default differs between defaults and argument_specs " \
                    "(%s)" % (role, name, entry)


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


def _public_ip_module_options():
    import ast

    with open(os.path.join(REPO, "plugins", "modules", "public_ip.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)["options"]
    raise AssertionError("public_ip.py has no DOCUMENTATION")


def _public_ip_option_specs():
    """Every <role>_public_ip_options in every entry point, as (role, entry, name, spec)."""
    found = []
    for role in ROLES:
        for entry, spec in _load(role, "meta", "argument_specs.yml")["argument_specs"].items():
            found += [(role, entry, n, o) for n, o in spec.get("options", {}).items() if n.endswith("_public_ip_options")]
    return found


def test_public_ip_options_have_one_name_and_the_modules_keys():
    """One name (<role>_public_ip_options) and one shape (the module's options, each typed as the
    module types it) wherever a role takes options for public_ip: a key the module gains or changes
    shows up here rather than as a refusal in a run."""
    module = _public_ip_module_options()
    specs = _public_ip_option_specs()
    assert {(r, n) for r, _, n, _ in specs} >= {("preflight", "preflight_public_ip_options"), ("ddns", "ddns_public_ip_options"),
                                                ("port_forward", "port_forward_public_ip_options"),
                                                ("jellyfin_remote", "jellyfin_remote_public_ip_options")}
    for role, entry, name, spec in specs:
        assert name == role + "_public_ip_options", (role, entry, name)
        assert spec["type"] == "dict" and spec.get("default") == {}, (role, name)
        options = spec.get("options", {})
        assert sorted(options) == sorted(module), "%s: %s keys differ from public_ip's options" % (role, name)
        for key, option in options.items():
            for field in ("type", "elements", "choices"):
                assert option.get(field) == module[key].get(field), "%s: %s.%s %s differs from public_ip's" % (role, name, key, field)


def test_public_ip_is_looked_up_only_by_the_shared_task_file():
    """The preflight's tasks/public_ip.yml (entry point public_ip) is the one place that calls the module;
    the other roles include it with their options."""
    callers = []
    for path in glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            if "homelab.jellyfin_remote.public_ip:" in handle.read():
                callers.append(os.path.relpath(path, REPO))
    assert callers == [os.path.join("roles", "preflight", "tasks", "public_ip.yml")]
    entry = _load("preflight", "meta", "argument_specs.yml")["argument_specs"]["public_ip"]
    assert list(entry["options"]) == ["preflight_public_ip_options"]


def test_roles_take_the_port_forwarding_advice_from_the_modules():
    """The "ways in without an open port" advice is written once, in module_utils/_addresses.py;
    public_ip returns it (port_forwarding_advice) and upnp_port_mapping fails with it. So are the
    words for forwarding by hand (_upnp.manual_instructions). A role that kept its own copy would
    drift from them."""
    sys.path.insert(0, os.path.join(REPO, "tests", "unit"))
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _addresses

    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upnp

    sentences = [s.strip() for s in _addresses.WAYS_WITHOUT_FORWARDING.split(". ") if len(s) > 30]
    # upnp_port_mapping's words for forwarding by hand (the role's summary takes them by a filter).
    sentences.append(_upnp.manual_instructions("TCP", 1, None, 1).split(": ", 1)[1].split(" and add")[0])
    assert len(sentences) > 2
    copies = []
    for path in glob.glob(os.path.join(REPO, "roles", "**", "*.*"), recursive=True):
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = " ".join(handle.read().split())
        copies += [(os.path.relpath(path, REPO), s[:40]) for s in sentences if " ".join(s.split())[:60] in text]
    assert copies == []


def test_a_role_that_changes_jellyfins_settings_has_one_switch_named_manage_jellyfin():
    """Whether a method role touches Jellyfin's settings (through jellyfin_network) is one bool,
    <role>_manage_jellyfin, in every such role (no set_known_proxies / jellyfin_local_subnet names)."""
    users = set()
    for path in glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            if "name: homelab.jellyfin_remote.jellyfin_network" in handle.read():
                users.add(path.split(os.sep)[-3])
    # itself, the site role, and the roles that only read (tasks_from: read)
    users -= {"jellyfin_network", "jellyfin_remote", "preflight", "doctor"}
    users = {r for r in users if not r.startswith("_")}
    assert users >= {"reverse_proxy", "jellyfin_https", "wireguard", "openvpn", "tailscale", "cloudflare_tunnel"}
    for role in users:
        options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        assert options.get(role + "_manage_jellyfin", {}).get("type") == "bool", role
        assert not [n for n in options if n.endswith(("_set_known_proxies", "_jellyfin_local_subnet"))], role


def _output_facts():
    """Facts the roles set for others: the set_fact names and the names listed for the misspelt-variable
    check (roles/jellyfin_remote/vars/main.yml), by the role whose prefix they carry."""
    roles_vars = _load("jellyfin_remote", "vars", "main.yml")
    names = (set(roles_vars["__jellyfin_remote_other_variables"]) | _set_fact_names()) - {"jellyfin_remote_hosts"}
    by_role = {}
    for name in names:
        owner = max((r for r in ROLES if name.startswith(r + "_")), key=len, default=None)
        if owner is not None:
            by_role.setdefault(owner, set()).add(name)
    return by_role


def _output_facts_section(role):
    with open(os.path.join(REPO, "roles", role, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    if "\n## Output facts\n" not in text:
        return ""
    return text.split("\n## Output facts\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("role", sorted(_output_facts()))
def test_each_output_fact_is_documented_in_its_roles_readme(role):
    section = _output_facts_section(role)
    missing = sorted(f for f in _output_facts()[role] if "`%s`" % f not in section)
    assert missing == [], "roles/%s/README.md: the '## Output facts' section does not describe %s" % (role, missing)


def test_output_facts_are_found():
    facts = _output_facts()
    assert {"preflight_result", "port_forward_public_ipv4", "wireguard_server_addresses"} <= set().union(*facts.values())
