#!/usr/bin/env python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execution environment gate: meta/execution-environment.yml, requirements.txt, bindep.txt.

    tests/gates/ee_check.py [COLLECTION_DIR]     (default: this checkout)

Checks that
- meta/execution-environment.yml is version 3 and names requirements.txt (python) and
  bindep.txt (system), and both files exist;
- every requirements.txt line is a valid requirement, each project once;
- every bindep.txt line is "package [selectors]" with a platform selector, and there are
  Debian ([platform:dpkg]) entries;
- every third-party module that plugins/**/*.py imports (not the standard library, not
  ansible or ansible_collections) is in requirements.txt or named in its "Target-only"
  comment block as "# <name> - why".
Exit status 1 with one line per problem.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import sys

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Import names whose PyPI project has another name.
IMPORT_TO_PROJECT = {
    "dns": "dnspython",
    "yaml": "pyyaml",
    "OpenSSL": "pyopenssl",
    "Crypto": "pycryptodome",
    "jwt": "pyjwt",
    "dateutil": "python-dateutil",
    "bs4": "beautifulsoup4",
}
FIRST_PARTY = {"__future__", "ansible", "ansible_collections"}
BINDEP_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9.+_-]*)(?:\s+\[(?P<selectors>[^\]]+)\])?\s*$")
TARGET_ONLY_ENTRY = re.compile(r"^#\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s+-\s+\S")


def third_party_imports(plugins_dir):
    """{top-level module name: [file:line, ...]} for imports outside stdlib and ansible."""
    found = {}
    for path in sorted(glob.glob(os.path.join(plugins_dir, "**", "*.py"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in FIRST_PARTY or top in sys.stdlib_module_names:
                    continue
                found.setdefault(top, []).append("%s:%d" % (os.path.relpath(path, os.path.dirname(plugins_dir)), node.lineno))
    return found


def read_requirements(path):
    """(set of canonical project names, set of target-only names, problems)."""
    projects, target_only, problems = set(), set(), []
    in_target_block = False
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                if "target-only" in line.lower():
                    in_target_block = True
                elif in_target_block:
                    match = TARGET_ONLY_ENTRY.match(line)
                    if match:
                        target_only.add(canonicalize_name(match.group("name")))
                continue
            try:
                requirement = Requirement(line.split(" #", 1)[0].strip())
            except InvalidRequirement as exc:
                problems.append("requirements.txt:%d: not a requirement: %r (%s)" % (number, line, exc))
                continue
            name = canonicalize_name(requirement.name)
            if name in projects:
                problems.append("requirements.txt:%d: %s is listed twice" % (number, requirement.name))
            projects.add(name)
    return projects, target_only, problems


def check_bindep(path):
    problems, dpkg = [], 0
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = BINDEP_LINE.match(line)
            if not match:
                problems.append("bindep.txt:%d: not 'package [selectors]': %r" % (number, line))
                continue
            selectors = (match.group("selectors") or "").split()
            if not any(s.startswith("platform:") for s in selectors):
                problems.append("bindep.txt:%d: %s has no platform selector ([platform:dpkg] for Debian)" % (number, match.group("name")))
            dpkg += "platform:dpkg" in selectors
    if not dpkg:
        problems.append("bindep.txt: no Debian package ([platform:dpkg])")
    return problems


def check(collection):
    problems = []
    ee_path = os.path.join(collection, "meta", "execution-environment.yml")
    if not os.path.exists(ee_path):
        return ["meta/execution-environment.yml is missing"], {}
    with open(ee_path, encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)
    if not isinstance(ee, dict):
        return ["meta/execution-environment.yml is not a mapping"], {}
    if ee.get("version") != 3:
        problems.append("meta/execution-environment.yml: version must be 3, got %r" % ee.get("version"))
    deps = ee.get("dependencies")
    if not isinstance(deps, dict):
        return problems + ["meta/execution-environment.yml: dependencies must be a mapping"], {}
    unknown = sorted(set(deps) - {"python", "system", "galaxy", "ansible_core", "ansible_runner", "python_interpreter", "exclude"})
    if unknown:
        problems.append("meta/execution-environment.yml: unknown dependencies keys %s" % unknown)
    for key, wanted in (("python", "requirements.txt"), ("system", "bindep.txt")):
        if deps.get(key) != wanted:
            problems.append("meta/execution-environment.yml: dependencies.%s must be %s, got %r" % (key, wanted, deps.get(key)))
        elif not os.path.isfile(os.path.join(collection, wanted)):
            problems.append("%s (dependencies.%s) does not exist" % (wanted, key))
    if problems:
        return problems, {}
    projects, target_only, req_problems = read_requirements(os.path.join(collection, "requirements.txt"))
    problems += req_problems
    problems += check_bindep(os.path.join(collection, "bindep.txt"))
    imports = third_party_imports(os.path.join(collection, "plugins"))
    for module, where in sorted(imports.items()):
        project = canonicalize_name(IMPORT_TO_PROJECT.get(module, module))
        if project not in projects and project not in target_only:
            problems.append(
                "plugins import %s (%s) but requirements.txt neither lists %s nor names it in its Target-only block"
                % (module, ", ".join(where[:3]), project)
            )
    return problems, imports


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    collection = os.path.abspath(argv[0] if argv else REPO)
    problems, imports = check(collection)
    for problem in problems:
        print("FAIL: %s" % problem)
    print("ee: %d third-party imports in plugins (%s), %d problems" % (len(imports), ", ".join(sorted(imports)), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
