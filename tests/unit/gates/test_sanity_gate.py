# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gates/sanity.sh fails on a secret option without no_log and on an undocumented option."""

from __future__ import annotations

import os

import pytest

from .conftest import GATES, REPO, run

pytestmark = pytest.mark.gate

MODULE = '''#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: broken_gate_input
short_description: A module planted by the gate tests
description:
  - Planted by tests/unit/gates/test_sanity_gate.py.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  api_password:
    description:
      - A password.
    type: str
%s
"""

EXAMPLES = r"""
- name: Run it
  homelab.jellyfin_remote.broken_gate_input:
    api_password: x
"""

RETURN = r"""
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(api_password=dict(type="str"%s), extra=dict(type="str")), supports_check_mode=True)
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
'''
DOC_EXTRA = "  extra:\n    description:\n      - Extra.\n    type: str"


def _sanity(collection, tmp_path, *tests):
    env = {
        "SANITY_SRC": str(collection),
        "SANITY_WORK": str(tmp_path / "work"),
        # Reuse the venvs ansible-test made for the real gate: a fresh set takes minutes.
        "SANITY_HOME": os.path.join(REPO, ".cache", "sanity", "home"),
    }
    args = ["bash", os.path.join(GATES, "sanity.sh")]
    for test in tests:
        args += ["--test", test]
    return run(args, env=env)


def test_secret_option_without_no_log_fails(collection_copy, tmp_path):
    (collection_copy / "plugins" / "modules" / "broken_gate_input.py").write_text(MODULE % (DOC_EXTRA, ""))
    code, out = _sanity(collection_copy, tmp_path, "validate-modules")
    assert code != 0, out
    assert "broken_gate_input.py" in out and "no-log-needed" in out, out


def test_undocumented_option_fails(collection_copy, tmp_path):
    (collection_copy / "plugins" / "modules" / "broken_gate_input.py").write_text(MODULE % ("", ", no_log=True"))
    code, out = _sanity(collection_copy, tmp_path, "validate-modules")
    assert code != 0, out
    assert "undocumented-parameter" in out and "extra" in out, out


def test_good_module_passes(collection_copy, tmp_path):
    """The planted module is otherwise clean, so the failures above are the planted faults."""
    (collection_copy / "plugins" / "modules" / "broken_gate_input.py").write_text(MODULE % (DOC_EXTRA, ", no_log=True"))
    code, out = _sanity(collection_copy, tmp_path, "validate-modules")
    assert code == 0, out
