# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reports the roles save beside the inventory are never read back as inventory.

An owner's inventory is often a directory (`-i ~/jellyfin-inventory`, the README's own
example), and Ansible parses every file in it: a summary or a doctor report saved in a plain
subdirectory came back on the next run as groups and hosts ("Skipping key (FAIL) in group
(counts)"). The default is a dot directory, which Ansible's inventory loader always skips.
ansible-inventory is run on such a directory here, with the report in the default place and,
as the control that shows the check can fail, in the old plain one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = {"jellyfin_remote": "jellyfin_remote_report_dir", "preflight": "preflight_report_dir",
         "doctor": "doctor_report_dir"}
REPORT = {"host": "server", "status": "FAIL", "counts": {"OK": 3, "WARN": 0, "FAIL": 1},
          "findings": [{"check": "jellyfin health", "status": "FAIL"}]}


def default_dir_name(role, option):
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        value = yaml.safe_load(handle)[option]
    prefix = "{{ inventory_dir | default(playbook_dir, true) }}/"
    assert value.startswith(prefix), value
    return value[len(prefix):]


def inventory_with_report(tmp_path, subdir):
    inventory = tmp_path / "inventory"
    (inventory / subdir).mkdir(parents=True)
    (inventory / "hosts.yml").write_text("jellyfin:\n  hosts:\n    server:\n      ansible_host: 192.0.2.10\n")
    (inventory / subdir / "server-doctor.json").write_text(json.dumps(REPORT))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(inventory),
                           "--list"], capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("role, option", sorted(ROLES.items()))
def test_the_default_report_dir_is_not_read_as_inventory(tmp_path, role, option):
    name = default_dir_name(role, option)
    assert name == ".jellyfin_remote_reports"
    listed, warnings = inventory_with_report(tmp_path, name)
    assert set(listed) == {"_meta", "all", "jellyfin"} and listed["all"]["children"] == ["ungrouped", "jellyfin"], listed
    assert "Skipping" not in warnings and "FAIL" not in warnings, warnings


def test_a_plain_subdirectory_would_be_read_as_inventory(tmp_path):
    listed, warnings = inventory_with_report(tmp_path, "jellyfin_remote_reports")
    assert set(listed) - {"_meta", "all", "jellyfin"} or "Skipping key" in warnings, (listed, warnings)
