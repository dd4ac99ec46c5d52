# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes the module_utils files a runner imports, all in one call (one round trip instead of
several per file): run by roles/_host_runner as python3 -c with the target directory and
"check" or "apply" as arguments and {relative path: text} as JSON on stdin. Each file that
differs (content or mode) is written to a temporary file in its directory, made 0644 root, and
moved into place; missing directories are made 0755. Prints {"changed": [paths]} (in check
mode: what would change; nothing is written). Standard library only; holds no secret.
"""

import json
import os
import sys
import tempfile


def main(root, check, files):
    changed = []
    for directory in sorted({root} | {os.path.dirname(os.path.join(root, r)) for r in files}):
        try:
            mode = os.stat(directory).st_mode & 0o7777
        except OSError:
            mode = None  # made below, with the first file in it
        if mode is not None and mode != 0o755:
            changed.append(directory)
            if not check:
                os.chmod(directory, 0o755)
    for relative, text in sorted(files.items()):
        path = os.path.join(root, relative)
        data = text.encode("utf-8")
        try:
            with open(path, "rb") as handle:
                same = handle.read() == data and (os.stat(path).st_mode & 0o7777) == 0o644
        except OSError:
            same = False
        if same:
            continue
        changed.append(path)
        if check:
            continue
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".install.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)
            if os.geteuid() == 0:
                os.chown(tmp, 0, 0)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    return changed


if __name__ == "__main__":
    print(json.dumps({"changed": main(sys.argv[1], sys.argv[2] == "check", json.load(sys.stdin))}))
