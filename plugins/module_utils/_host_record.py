# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host record: what the collection set up on a host, so that removal and a switch of
method act on what is there, not on what the inventory says today.

One JSON file (DEFAULT_PATH, root 0600, written atomically), one section per role plus the
site playbook's own (`site`):

    {"format": 1, "sections": {"reverse_proxy": {...}, "site": {"method": "reverse_proxy", ...}}}

A section holds names, paths, ports and prior values: never a secret. update() refuses keys
whose names say they hold one (SECRET_KEY). Plain Python, no AnsibleModule.
"""

from __future__ import annotations

import errno
import json
import os
import re

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._atomic_file import write_atomic

DEFAULT_PATH = "/var/lib/jellyfin-remote/state.json"
FORMAT = 1
_SECTION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Key names that announce a secret (a password, a token, a private key, a PSK).
SECRET_KEY = re.compile(r"(password|passphrase|secret|token|private_?key|psk|credential)s?$", re.I)


class HostRecordError(ValueError):
    """A record that cannot be read or written as asked; the message says what to change.
    option is "path" when the file is at fault (a module names its own option for it)."""

    def __init__(self, message, option=None):
        super().__init__(message)
        self.option = option


def read(path=DEFAULT_PATH):
    """The sections (dict name -> data) of the record at path; {} when there is none."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        raise HostRecordError("cannot read the host record %r: %s" % (path, getattr(exc, "strerror", None) or exc),
                              "path") from None
    try:
        content = json.loads(text)
    except ValueError as exc:
        raise HostRecordError(
            "the host record %s is not JSON (%s): it was changed by hand or cut short; move it aside and run "
            "again (removal then falls back to the inventory's names)" % (path, exc), "path") from None
    if not isinstance(content, dict) or not isinstance(content.get("sections"), dict):
        raise HostRecordError("the host record %s has no 'sections' object; move it aside and run again" % path, "path")
    if content.get("format") != FORMAT:
        raise HostRecordError("the host record %s has format %r, this collection reads format %d; move it aside "
                              "or use the collection version that wrote it" % (path, content.get("format"), FORMAT), "path")
    return content["sections"]


def _check_section(section):
    if not isinstance(section, str) or not _SECTION.match(section):
        raise HostRecordError("section must be a lower-case name such as reverse_proxy (letters, digits, _), "
                              "got %r" % (section,))


def _plain(data, where):
    """data as plain JSON values (a copy), refusing keys that announce a secret."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise HostRecordError("data keys must be strings, got %r at %s" % (key, where))
            if SECRET_KEY.search(key):
                raise HostRecordError(
                    "data must not hold secrets: the key %s.%s names one; record where the secret is (a path), "
                    "not the secret" % (where, key))
            out[key] = _plain(value, "%s.%s" % (where, key))
        return out
    if isinstance(data, (list, tuple)):
        return [_plain(value, "%s[%d]" % (where, i)) for i, value in enumerate(data)]
    if data is None or isinstance(data, (bool, int, float)):
        return data
    if isinstance(data, str):
        return str(data)
    raise HostRecordError("data must hold only JSON values (dicts, lists, strings, numbers, booleans), got %s at %s"
                          % (type(data).__name__, where))


def _write(path, sections):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.mkdir(directory, mode=0o700)  # its own directory only: the parent (/var/lib) must exist
    text = json.dumps({"format": FORMAT, "sections": sections}, indent=2, sort_keys=True) + "\n"
    write_atomic(path, text.encode("utf-8"), mode=0o600)


def update(path, section, data=None, state="present", check_mode=False):
    """Set (state present) or drop (absent) one section. Returns dict changed, record (all
    sections after the change), section (its data after, {} when dropped) and diff
    (before/after of that section, as JSON text). The file goes when its last section does."""
    _check_section(section)
    if state not in ("present", "absent"):
        raise HostRecordError("state must be present or absent, got %r" % (state,))
    sections = read(path)
    before = sections.get(section)
    after = None
    if state == "present":
        if not isinstance(data, dict):
            raise HostRecordError("data must be a dict, got %s" % type(data).__name__)
        after = _plain(data, section)
    changed = before != after
    new = dict(sections)
    if after is None:
        new.pop(section, None)
    else:
        new[section] = after
    if changed and not check_mode:
        try:
            if new:
                _write(path, new)
            else:
                try:
                    os.unlink(path)
                    os.rmdir(os.path.dirname(os.path.abspath(path)))
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    if exc.errno != errno.ENOTEMPTY:
                        raise  # ENOTEMPTY: other files live there, the directory stays
        except OSError as exc:
            raise HostRecordError("cannot write the host record %s: %s" % (path, exc.strerror or exc), "path") from None

    def text(value):
        return "" if value is None else json.dumps(value, indent=2, sort_keys=True) + "\n"

    return {"changed": changed, "record": new, "section": after or {},
            "diff": {"before": text(before), "after": text(after),
                     "before_header": "%s [%s]" % (path, section), "after_header": "%s [%s]" % (path, section)}}
