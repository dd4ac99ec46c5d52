# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/_host_runner/files/install_code.py, run as the role runs it (python3 -c, the files as
JSON on stdin): writes what differs, nothing on a second run, nothing in check mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, "roles", "_host_runner", "files", "install_code.py")
FILES = {"_a.py": "A = 1\n", "_pkg/__init__.py": "", "_pkg/b.py": "B = 'ü'\n"}


def run(root, mode, files=FILES):
    with open(SCRIPT, encoding="utf-8") as handle:
        code = handle.read()
    proc = subprocess.run([sys.executable, "-c", code, str(root), mode], input=json.dumps(files),
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)["changed"]


def test_writes_then_changes_nothing(tmp_path):
    root = tmp_path / "utils"
    assert len(run(root, "apply")) == 3
    assert (root / "_pkg" / "b.py").read_text(encoding="utf-8") == "B = 'ü'\n"
    assert oct((root / "_a.py").stat().st_mode & 0o777) == "0o644"
    assert oct((root / "_pkg").stat().st_mode & 0o777) == "0o755"
    assert run(root, "apply") == []


def test_check_mode_says_what_differs_and_writes_nothing(tmp_path):
    root = tmp_path / "utils"
    run(root, "apply")
    (root / "_a.py").write_text("A = 2\n")
    (root / "_pkg" / "b.py").chmod(0o664)
    (root / "_pkg").chmod(0o775)
    expected = sorted([str(root / "_pkg"), str(root / "_a.py"), str(root / "_pkg" / "b.py")])
    assert sorted(run(root, "check")) == expected
    assert (root / "_a.py").read_text() == "A = 2\n"
    assert sorted(run(root, "apply")) == expected
    assert run(root, "apply") == []
    assert not [p for p in os.listdir(root) if p.startswith(".install.")]
