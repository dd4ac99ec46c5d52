# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each tool gate fails on a deliberately broken input: lint, docs, packaging, changelog."""

from __future__ import annotations

import os
import shutil

import pytest

from .conftest import GATES, REPO, run

pytestmark = pytest.mark.gate

BROKEN_TASKS = """---
- ansible.builtin.command: /bin/true
- name: Run a shell without saying whether it changed anything
  shell: echo hi
"""


def test_ansible_lint_fails_on_a_broken_role(tmp_path):
    shutil.copy(os.path.join(REPO, ".ansible-lint"), tmp_path / ".ansible-lint")
    tasks = tmp_path / "roles" / "broken" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text(BROKEN_TASKS)
    code, out = run(["ansible-lint", "--nocolor", "-f", "pep8", "--project-dir", str(tmp_path)], cwd=tmp_path)
    assert code != 0, out
    for rule in ("name[missing]", "no-changed-when", "fqcn[action-core]"):
        assert rule in out, out


def test_docs_gate_fails_on_a_reference_to_a_missing_option(collection_copy):
    module = collection_copy / "plugins" / "modules" / "jellyfin_network.py"
    text = module.read_text()
    module.write_text(text.replace("description:\n", "description:\n  - See O(no_such_option).\n", 1))
    code, out = run(["bash", os.path.join(GATES, "docs.sh"), str(collection_copy)])
    assert code != 0, out
    assert "no_such_option" in out, out


def test_docs_gate_passes_on_the_unbroken_copy(collection_copy):
    code, out = run(["bash", os.path.join(GATES, "docs.sh"), str(collection_copy)])
    assert code == 0, out


def test_packaging_fails_on_a_bad_version(collection_copy):
    galaxy = collection_copy / "galaxy.yml"
    galaxy.write_text(galaxy.read_text().replace("\nversion: ", "\nversion: one.two-", 1))
    code, out = run(["bash", os.path.join(GATES, "packaging.sh")], env={"PACKAGE_SRC": str(collection_copy)})
    assert code != 0, out
    assert "version" in out.lower(), out


def test_packaging_fails_when_build_ignore_lets_a_venv_in(collection_copy):
    stray = collection_copy / ".pytest_cache" / "v"
    stray.mkdir(parents=True)
    (stray / "nodeids").write_text("[]")
    galaxy = collection_copy / "galaxy.yml"
    galaxy.write_text(galaxy.read_text().replace("  - .pytest_cache\n", ""))
    code, out = run(["bash", os.path.join(GATES, "packaging.sh")], env={"PACKAGE_SRC": str(collection_copy)})
    assert code != 0 and ".pytest_cache" in out, out


def test_packaging_fails_on_a_collection_it_does_not_declare(collection_copy):
    """A role using a collection galaxy.yml does not list: bundled with ansible (community.docker) or nowhere."""
    tasks = collection_copy / "roles" / "preflight" / "tasks" / "main.yml"
    tasks.write_text(
        tasks.read_text()
        + "\n- name: Use a collection nobody declared\n  community.docker.docker_host_info:\n  when: false\n"
        + "\n- name: Use a collection that exists nowhere\n  example.missing.thing:\n  when: false\n"
    )
    code, out = run(["bash", os.path.join(GATES, "packaging.sh")], env={"PACKAGE_SRC": str(collection_copy)})
    assert code != 0, out
    assert "roles/preflight/tasks/main.yml" in out and "community.docker.docker_host_info: community.docker is not a dependency in galaxy.yml" in out, out
    assert "example.missing.thing: example.missing is not a dependency in galaxy.yml" in out, out
    assert "packaging: passed" not in out


def test_changelog_lint_fails_on_an_unknown_section(collection_copy):
    (collection_copy / "changelogs" / "fragments" / "zz_broken.yml").write_text("---\nshiny_new_things:\n  - something.\n")
    code, out = run(["bash", os.path.join(GATES, "changelog.sh"), str(collection_copy)])
    assert code != 0, out
    assert "zz_broken.yml" in out and "shiny_new_things" in out, out


def test_changelog_lint_passes_on_the_unbroken_copy(collection_copy):
    code, out = run(["bash", os.path.join(GATES, "changelog.sh"), str(collection_copy)])
    assert code == 0, out
