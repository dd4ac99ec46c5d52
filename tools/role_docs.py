#!/usr/bin/env python3
"""Write each role's variable table into its README from meta/argument_specs.yml.

    tools/role_docs.py            rewrite the tables
    tools/role_docs.py --check    exit 1 when a README is out of date (a unit test runs this)

The table sits between the markers <!-- BEGIN VARIABLES --> and <!-- END VARIABLES -->, so
the prose around it stays hand-written and the table cannot drift from the argument spec.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- BEGIN VARIABLES -->"
END = "<!-- END VARIABLES -->"


def _text(value):
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value).split()).replace("|", "\\|")


def _default(spec):
    if "default" not in spec:
        return "(not set)"
    return "`%s`" % yaml.safe_dump(spec["default"], default_flow_style=True).strip().removesuffix("...").strip()


def table(specs):
    rows = []
    for entry, spec in specs["argument_specs"].items():
        rows.append("Entry point `%s`: %s\n" % (entry, _text(spec.get("short_description", ""))))
        rows.append("| Variable | Type | Default | Description |")
        rows.append("|---|---|---|---|")
        for name, option in spec.get("options", {}).items():
            kind = option.get("type", "str")
            if kind == "list" and "elements" in option:
                kind = "list of %s" % option["elements"]
            if "choices" in option:
                kind += " (%s)" % ", ".join(str(c) for c in option["choices"])
            desc = _text(option.get("description", ""))
            if option.get("no_log"):
                desc += " Secret: never logged."
            rows.append("| `%s` | %s | %s | %s |" % (name, kind, _default(option), desc))
        rows.append("")
    return "\n".join(rows).rstrip() + "\n"


def render(readme_text, specs):
    if BEGIN not in readme_text or END not in readme_text:
        raise ValueError("the README has no %s ... %s markers" % (BEGIN, END))
    head, rest = readme_text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return "%s%s\n%s%s%s" % (head, BEGIN, table(specs), END, tail)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for spec_path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml"))):
        role_dir = os.path.dirname(os.path.dirname(spec_path))
        readme = os.path.join(role_dir, "README.md")
        with open(spec_path, encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)
        with open(readme, encoding="utf-8") as handle:
            current = handle.read()
        wanted = render(current, specs)
        if wanted != current:
            stale.append(os.path.relpath(readme, REPO))
            if not args.check:
                with open(readme, "w", encoding="utf-8") as handle:
                    handle.write(wanted)
    if stale and args.check:
        print("out of date (run tools/role_docs.py): %s" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
