# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several small files and directories brought to a wanted state in one call (host_files).

A role that installs a runner, its settings and its units wrote them with a task each; with
every task a round trip (a copy or template task costs three: stat, transfer, copy), a first
run paid seconds per file. plan() compares everything first, apply() then writes only what
differs: a file whose content differs is replaced atomically (_atomic_file.write_atomic: the
final path never has a wider mode than asked for), a file or directory whose mode or owner
differs is fixed in place, a missing directory is made. Nothing here holds content in a
result: the caller decides which diffs it may show (never those of a secret file).

pending() answers the same question from host_probe's result, for a role's `when:`: on an
unchanged re-run the call is skipped.

Plain Python, no AnsibleModule: the module turns HostFilesError and OSError into fail_json.
"""

from __future__ import annotations

import hashlib
import os
import stat

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file


class HostFilesError(ValueError):
    """A bad entry; the message names the option, the entry and what to give."""


def _attributes(option, index, entry, default_mode):
    where = "%s[%d] (%s)" % (option, index, entry.get("path"))
    try:
        mode = _atomic_file.parse_octal_mode(entry.get("mode") or default_mode)
        uid = _atomic_file.resolve_uid(entry.get("owner", "root"))
        gid = _atomic_file.resolve_gid(entry.get("group", "root"))
    except _atomic_file.FileAttributeError as exc:
        raise HostFilesError("%s: %s" % (where, exc)) from None
    path = entry.get("path") or ""
    if not os.path.isabs(path) or os.path.normpath(path) != path.rstrip("/") or path in ("/", ""):
        raise HostFilesError("%s: path must be an absolute, normalised path below /, got %r" % (where, path))
    return os.path.normpath(path), mode, uid, gid


def plan(directories, files):
    """What apply() would do: a list of actions, each {path, kind: directory | file, action:
    create | write | attributes, mode, uid, gid} plus, for files, data (bytes) and secret.
    Unchanged entries are left out. Raises HostFilesError for a bad entry or a path given twice."""
    actions, seen = [], set()
    for option, entries, default_mode in (("directories", directories, "0755"), ("files", files, "0644")):
        for index, entry in enumerate(entries):
            path, mode, uid, gid = _attributes(option, index, entry, default_mode)
            if path in seen:
                raise HostFilesError("%s[%d]: %s is given twice; give each path once" % (option, index, path))
            seen.add(path)
            try:
                # A directory may be a link to one (as /usr/local/lib is on some systems); a file is never followed.
                st = os.stat(path) if option == "directories" else os.lstat(path)
            except FileNotFoundError:
                st = None
            current = None if st is None else _atomic_file.FileAttributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            action = {"path": path, "kind": "file" if option == "files" else "directory", "mode": mode,
                      "uid": uid, "gid": gid}
            if option == "directories":
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    raise HostFilesError("directories[%d]: %s exists and is not a directory; remove it or "
                                         "choose another path" % (index, path))
                if st is None:
                    actions.append(dict(action, action="create"))
                elif _atomic_file.attributes_differ(current, mode, uid, gid):
                    actions.append(dict(action, action="attributes"))
                continue
            content = entry.get("content")
            if not isinstance(content, str):
                raise HostFilesError("files[%d] (%s): content must be text" % (index, path))
            data = content.encode("utf-8")
            action.update(data=data, secret=bool(entry.get("secret")))
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise HostFilesError("files[%d]: %s exists and is not a regular file; remove it or choose "
                                     "another path" % (index, path))
            if st is None:
                actions.append(dict(action, action="create", before=None))
                continue
            with open(path, "rb") as handle:
                before = handle.read()
            if before != data:
                actions.append(dict(action, action="write", before=before))
            elif _atomic_file.attributes_differ(current, mode, uid, gid):
                actions.append(dict(action, action="attributes"))
    return actions


def apply(actions):
    """Carry out plan()'s actions, directories first (they come first in the plan)."""
    for action in actions:
        path, mode, uid, gid = action["path"], action["mode"], action["uid"], action["gid"]
        if action["kind"] == "directory" and action["action"] == "create":
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            os.mkdir(path, 0o700)  # private until its owner and mode are set
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        elif action["action"] == "attributes":
            st = os.stat(path)
            current = _atomic_file.FileAttributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            _atomic_file.set_attributes(path, current, mode, uid, gid)
        else:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            _atomic_file.write_atomic(path, action["data"], mode=mode, uid=uid, gid=gid)


def diffs(actions):
    """Ansible diff entries for the files whose content changes, except secret ones (those
    say only that they change)."""
    out = []
    for action in actions:
        if action["kind"] != "file" or action["action"] == "attributes":
            continue
        if action["secret"]:
            out.append({"before_header": action["path"], "after_header": action["path"],
                        "before": "", "after": "(secret content changed, not shown)\n"})
            continue
        before = action["before"]
        out.append({"before_header": action["path"] if before is not None else "(absent)",
                    "after_header": action["path"],
                    "before": "" if before is None else before.decode("utf-8", "replace"),
                    "after": action["data"].decode("utf-8", "replace")})
    return out


def _expected(entry, default_mode):
    mode = _atomic_file.parse_octal_mode(entry.get("mode") or default_mode)
    return "%o %s %s" % (mode, entry.get("owner") or "root", entry.get("group") or "root")


def pending(files, probe, directories=()):
    """The paths among directories and files that a host_files call would change, judged from
    what host_probe saw of them (its paths, and its sha1 for files): what a role's `when:` asks
    before it calls host_files, so an unchanged re-run makes no call. An entry the probe did not
    look at counts as pending. Owners and groups are compared by name, as the probe gives them.
    Raises FileAttributeError for a bad mode."""
    seen_paths, seen_sha1 = probe.get("paths") or {}, probe.get("sha1") or {}
    out = []
    for entry in directories:
        if seen_paths.get(entry["path"]) != _expected(entry, "0755"):
            out.append(entry["path"])
    for entry in files:
        digest = hashlib.sha1(entry["content"].encode("utf-8")).hexdigest()
        if seen_paths.get(entry["path"]) != _expected(entry, "0644") or seen_sha1.get(entry["path"]) != digest:
            out.append(entry["path"])
    return out
