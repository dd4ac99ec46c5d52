# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tests of the roles' read-only probes (files/probe.py) share (importable as `probes`).

stub(bindir, name, body): a shell script standing in for a system tool (dpkg-query,
systemctl, nft) on PATH. run(path, args, bindir=None, search_path=None): runs the probe as the
roles run it (`python3 -c SOURCE ARGS_JSON`) with bindir first on PATH (or PATH set to
search_path), asserts it succeeded and returns (its output, the JSON it printed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def probe_path(role):
    return os.path.join(REPO, "roles", role, "files", "probe.py")


def stub(bindir, name, body):
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def run(path, args, bindir=None, search_path=None):
    env = dict(os.environ, PATH=search_path if search_path is not None else "%s:/usr/bin:/bin" % bindir)
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    proc = subprocess.run([sys.executable, "-c", source, json.dumps(args)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(proc.stdout)
