# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gates/fqcn_deps.py on small made-up collections (fast; the whole gate is in test_tool_gates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import GATES

SCRIPT = os.path.join(GATES, "fqcn_deps.py")


def _collection(root, deps, files):
    """An installed homelab.demo with MANIFEST.json deps, files {relpath: text}, and a
    dependency community.general holding one module (ufw) and one filter (dict_kv)."""
    demo = root / "ansible_collections" / "homelab" / "demo"
    demo.mkdir(parents=True)
    info = {"namespace": "homelab", "name": "demo", "dependencies": deps}
    (demo / "MANIFEST.json").write_text(json.dumps({"collection_info": info}))
    for rel, text in files.items():
        (demo / rel).parent.mkdir(parents=True, exist_ok=True)
        (demo / rel).write_text(text)
    general = root / "ansible_collections" / "community" / "general" / "plugins"
    (general / "modules").mkdir(parents=True)
    (general / "modules" / "ufw.py").write_text("")
    (general / "filter").mkdir()
    (general / "filter" / "dict_kv.py").write_text("def filters():\n    return {'dict_kv': None}\n")
    (root / "ansible_collections" / "community" / "docker").mkdir(parents=True)  # known, not declared
    return demo


def _run(demo, root):
    proc = subprocess.run([sys.executable, SCRIPT, str(demo), str(root)], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


TASKS = """---
- name: Open the port
  community.general.ufw:
    rule: allow
- name: Facts are no collection
  ansible.builtin.debug:
    msg: "{{ ansible_facts.default_ipv4.address }} {{ {'a': 1} | community.general.dict_kv('x') }}"
"""


def test_declared_and_builtin_uses_pass(tmp_path):
    demo = _collection(tmp_path, {"community.general": ">=6.0.0"}, {"roles/r/tasks/main.yml": TASKS})
    code, out = _run(demo, tmp_path)
    assert code == 0, out
    assert "ansible.builtin (1), community.general (2)" in out, out


def test_undeclared_collection_fails_naming_file_line_and_option(tmp_path):
    files = {
        "roles/r/tasks/main.yml": TASKS + "- name: Docker\n  community.docker.docker_host_info:\n- name: Nowhere\n  example.missing.thing:\n",
        "plugins/modules/m.py": "from ansible_collections.community.docker.plugins.module_utils import common\n",
    }
    demo = _collection(tmp_path, {"community.general": ">=6.0.0"}, files)
    code, out = _run(demo, tmp_path)
    assert code == 1, out
    assert "roles/r/tasks/main.yml:9: community.docker.docker_host_info: community.docker is not a dependency in galaxy.yml" in out
    assert "roles/r/tasks/main.yml:11: example.missing.thing: example.missing is not a dependency in galaxy.yml" in out
    assert "plugins/modules/m.py:1: community.docker: community.docker is not a dependency" in out


def test_missing_plugin_and_unused_dependency_fail(tmp_path):
    files = {"roles/r/tasks/main.yml": "---\n- name: Typo\n  community.general.ufww:\n    rule: allow\n"}
    demo = _collection(tmp_path, {"community.general": ">=6.0.0", "ansible.posix": ">=1.0.0"}, files)
    code, out = _run(demo, tmp_path)
    assert code == 1, out
    assert "community.general.ufww: no such plugin or role in the installed community.general" in out
    assert "galaxy.yml: ansible.posix is declared but nothing in roles/, playbooks/ or plugins/ uses it" in out
