#!/usr/bin/env python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every collection the content uses is a declared dependency (run by tests/gates/packaging.sh).

    fqcn_deps.py INSTALLED_COLLECTION_DIR COLLECTIONS_PATH [KNOWN_ROOT ...]

Reads the dependencies from the installed collection's MANIFEST.json (what ansible-galaxy
built from galaxy.yml) and looks at roles/, playbooks/ and plugins/ in it:
- a task or handler key shaped ns.collection.name (in roles/*/tasks, roles/*/handlers,
  playbooks/) is a module or action, whatever the collection;
- elsewhere (Jinja filters, lookups, tests, include_role names, module_defaults groups,
  doc fragments, Python imports of ansible_collections.ns.collection) a dotted ns.collection.x
  counts when ns.collection is a collection found under COLLECTIONS_PATH or a KNOWN_ROOT
  (the venv's bundled collections), so that ansible_facts.default_ipv4.address is not one.
Each use must belong to ansible.builtin / ansible.legacy, this collection, or a declared
dependency; a dependency's module, filter, lookup or test must exist in its copy under
COLLECTIONS_PATH (or be routed by its meta/runtime.yml). Exit 1 with one line per problem.
"""

from __future__ import annotations

import json
import os
import re
import sys

import yaml

CORE = {("ansible", "builtin"), ("ansible", "legacy")}
NAME = r"[a-z][a-z0-9_]*"
TOKEN = re.compile(r"(?<![\w.\-/])(%s)\.(%s)\.(%s)(?![\w])" % (NAME, NAME, NAME))
TASK_KEY = re.compile(r"^\s*(?:-\s+)?(%s)\.(%s)\.(%s)\s*:" % (NAME, NAME, NAME))
IMPORT = re.compile(r"ansible_collections\.(%s)\.(%s)\b" % (NAME, NAME))
PLUGIN_DIRS = ("modules", "action", "filter", "lookup", "test", "doc_fragments", "module_utils", "callback", "connection", "inventory")


def known_collections(roots):
    found = set()
    for root in roots:
        base = os.path.join(root, "ansible_collections")
        if not os.path.isdir(base):
            continue
        for ns in os.listdir(base):
            if os.path.isdir(os.path.join(base, ns)):
                found.update((ns, c) for c in os.listdir(os.path.join(base, ns)) if os.path.isdir(os.path.join(base, ns, c)))
    return found


def uses(collection_dir, known):
    """Yield (relative path, line number, ns, collection, name) for each collection use."""
    for top in ("roles", "playbooks", "plugins"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(collection_dir, top)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel_dir = os.path.relpath(dirpath, collection_dir)
            task_file = top == "playbooks" or os.path.basename(dirpath) in ("tasks", "handlers")
            for filename in sorted(filenames):
                if not filename.endswith((".yml", ".yaml", ".j2", ".py", ".json")):
                    continue
                rel = os.path.join(rel_dir, filename)
                with open(os.path.join(dirpath, filename), encoding="utf-8", errors="replace") as handle:
                    for number, line in enumerate(handle, 1):
                        if filename.endswith(".py"):
                            for match in IMPORT.finditer(line):
                                yield rel, number, match.group(1), match.group(2), None
                            if re.match(r"\s*(from|import)\s", line):
                                continue
                        seen = set()
                        key = TASK_KEY.match(line) if task_file and filename.endswith((".yml", ".yaml")) else None
                        if key:
                            seen.add(key.groups())
                            yield (rel, number) + key.groups()
                        for match in TOKEN.finditer(line):
                            if match.groups() not in seen and match.groups()[:2] in known:
                                seen.add(match.groups())
                                yield (rel, number) + match.groups()


def exists(collections_path, ns, coll, name):
    base = os.path.join(collections_path, "ansible_collections", ns, coll)
    for kind in PLUGIN_DIRS:
        if os.path.exists(os.path.join(base, "plugins", kind, name + ".py")) or os.path.exists(os.path.join(base, "plugins", kind, name + ".yml")):
            return True
    if os.path.isdir(os.path.join(base, "roles", name)):
        return True
    # Filters and tests live several to a file: look for the name in any filter/test plugin.
    for kind in ("filter", "test"):
        folder = os.path.join(base, "plugins", kind)
        if os.path.isdir(folder):
            for filename in os.listdir(folder):
                if filename.endswith(".py"):
                    with open(os.path.join(folder, filename), encoding="utf-8", errors="replace") as handle:
                        if re.search(r"['\"]%s['\"]" % re.escape(name), handle.read()):
                            return True
    runtime = os.path.join(base, "meta", "runtime.yml")
    if os.path.exists(runtime):
        with open(runtime, encoding="utf-8") as handle:
            routing = (yaml.safe_load(handle) or {}).get("plugin_routing") or {}
        if any(name in (entries or {}) for entries in routing.values()):
            return True
    return False


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__.split("\n\n")[1])
    collection_dir, collections_path, roots = argv[1], argv[2], argv[3:]
    with open(os.path.join(collection_dir, "MANIFEST.json"), encoding="utf-8") as handle:
        info = json.load(handle)["collection_info"]
    own = (info["namespace"], info["name"])
    declared = {tuple(dep.split(".", 1)) for dep in (info.get("dependencies") or {})}
    known = known_collections([collections_path] + roots) | CORE | declared | {own}
    problems, counted = [], {}
    for rel, number, ns, coll, name in uses(collection_dir, known):
        fqcn = "%s.%s%s" % (ns, coll, "" if name is None else "." + name)
        counted[(ns, coll)] = counted.get((ns, coll), 0) + 1
        if (ns, coll) in CORE or (ns, coll) == own:
            continue
        if (ns, coll) not in declared:
            problems.append(
                "%s:%d: %s: %s.%s is not a dependency in galaxy.yml (declared: %s); add it with a lower bound, or use ansible.builtin"
                % (rel, number, fqcn, ns, coll, ", ".join(sorted("%s.%s" % d for d in declared)) or "none")
            )
        elif name is not None and not exists(collections_path, ns, coll, name):
            problems.append("%s:%d: %s: no such plugin or role in the installed %s.%s" % (rel, number, fqcn, ns, coll))
    for ns, coll in sorted(declared - set(counted)):
        problems.append("galaxy.yml: %s.%s is declared but nothing in roles/, playbooks/ or plugins/ uses it; remove it" % (ns, coll))
    print("collections used: %s" % ", ".join("%s.%s (%d)" % (k[0], k[1], v) for k, v in sorted(counted.items())))
    for problem in problems:
        print("FAIL: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
