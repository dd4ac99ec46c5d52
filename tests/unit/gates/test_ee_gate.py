# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execution environment files: the real ones pass, planted faults fail."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from .conftest import GATES, REPO

sys.path.insert(0, GATES)
try:
    import ee_check
finally:
    sys.path.pop(0)


@pytest.fixture
def ee_copy(tmp_path):
    for name in ("meta", "plugins"):
        shutil.copytree(os.path.join(REPO, name), tmp_path / name)
    for name in ("requirements.txt", "bindep.txt"):
        shutil.copy(os.path.join(REPO, name), tmp_path / name)
    return tmp_path


def test_the_collection_passes():
    problems, imports = ee_check.check(REPO)
    assert not problems
    assert {"cryptography", "dns", "miniupnpc"} <= set(imports)


def test_an_unlisted_import_fails(ee_copy):
    (ee_copy / "plugins" / "module_utils" / "_planted.py").write_text("try:\n    import requests_toolbelt.multipart\nexcept ImportError:\n    pass\n")
    problems, _ = ee_check.check(str(ee_copy))
    assert len(problems) == 1 and "requests_toolbelt" in problems[0] and "_planted.py:2" in problems[0]


def test_target_only_needs_its_comment(ee_copy):
    path = ee_copy / "requirements.txt"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("# miniupnpc")))
    problems, _ = ee_check.check(str(ee_copy))
    assert any("miniupnpc" in p for p in problems)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (("meta/execution-environment.yml", "version: 3", "version: 1"), "version must be 3"),
        (("meta/execution-environment.yml", "python: requirements.txt", "python: reqs.txt"), "dependencies.python"),
        (("requirements.txt", "segno>=1.5.2", "segno>=>1"), "not a requirement"),
        (("bindep.txt", "iproute2 [platform:dpkg]", "iproute2"), "no platform selector"),
    ],
)
def test_broken_files_fail(ee_copy, edit, expected):
    name, old, new = edit
    path = ee_copy / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    problems, _ = ee_check.check(str(ee_copy))
    assert any(expected in p for p in problems), problems


def test_stdlib_and_ansible_imports_are_not_third_party(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "x.py").write_text("import os, json\nfrom ansible.module_utils.basic import AnsibleModule\nfrom . import sibling\nimport xml.etree.ElementTree\n")
    assert ee_check.third_party_imports(str(plugins)) == {}
