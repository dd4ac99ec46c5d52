# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic file writes that never expose a file with a wider mode than asked for.

Plain Python, no AnsibleModule: modules call these and turn OSError into fail_json.

The temporary file is created by mkstemp (mode 0600) in the target's own directory, filled,
flushed to disk, given its final owner and mode *while still private*, and only then renamed
over the target. A reader therefore sees either the old file or the complete new one, and
the final path never exists with a mode wider than the one requested, not even briefly.

The owner, group and mode options of the modules that write files are read here too:
resolve_uid() / resolve_gid() (a name or a number), parse_octal_mode(), user_name() /
group_name() for diffs; a bad value raises FileAttributeError whose message names the option.
And applied: read_attributes() / current_attributes() (what a file has, or a new one would
inherit from its directory), target_attributes() (given options over what is there),
attributes_differ() and set_attributes() (in place, for a file whose content stays, never
wider than the old or the new mode on the way).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
import tempfile

# uid_t and gid_t are 32 bits; (uid_t)-1 means "no change" to chown.
MAX_ID = 2**32 - 2
_OCTAL_MODE = re.compile(r"^(?:0o)?([0-7]{1,4})$")


class FileAttributeError(ValueError):
    """A bad owner, group or mode option; the message names the option and what to give."""


def parse_octal_mode(value):
    """The mode option: an octal string such as '0600' (or '0o600'), or an int YAML already made."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        match = _OCTAL_MODE.match(str(value).strip()) if isinstance(value, str) else None
        if not match:
            raise FileAttributeError(
                "mode must be an octal number such as '0600' (symbolic modes are not supported), got %r" % (value,)
            )
        mode = int(match.group(1), 8)
    if mode < 0 or mode > 0o7777:
        raise FileAttributeError("mode must be between '0000' and '7777', got %r" % (value,))
    return mode


def _resolve_id(option, value, kind, lookup, what):
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        if int(text) > MAX_ID:
            raise FileAttributeError("%s %s is larger than any %s (%d at most)" % (option, text, kind, MAX_ID))
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise FileAttributeError(
            "%s %r is not a %s on this host; give an existing %s name or a numeric %s" % (option, text, what, what, kind)
        ) from None


def resolve_uid(owner):
    """uid for the owner option (a user name or number); None when not given."""
    return _resolve_id("owner", owner, "uid", lambda name: pwd.getpwnam(name).pw_uid, "user")


def resolve_gid(group):
    """gid for the group option (a group name or number); None when not given."""
    return _resolve_id("group", group, "gid", lambda name: grp.getgrnam(name).gr_gid, "group")


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


class FileAttributes:
    """Owner, group and permission bits of a file."""

    __slots__ = ("mode", "uid", "gid")

    def __init__(self, mode, uid, gid):
        self.mode = mode
        self.uid = uid
        self.gid = gid

    def __eq__(self, other):
        return isinstance(other, FileAttributes) and (self.mode, self.uid, self.gid) == (
            other.mode,
            other.uid,
            other.gid,
        )

    def __repr__(self):
        return "FileAttributes(mode=0o%o, uid=%r, gid=%r)" % (self.mode, self.uid, self.gid)


def read_attributes(path):
    """Return the FileAttributes of path, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return FileAttributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def current_attributes(path, created):
    """(mode, uid, gid) now: the file's, or for a new file no mode and its directory's owner."""
    if created:
        st = os.stat(os.path.dirname(os.path.abspath(path)))
        return None, st.st_uid, st.st_gid
    st = os.stat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def target_attributes(created, current, wanted, new_file_mode):
    """(mode, uid, gid) to write: each wanted value, else the current one (a new file gets
    new_file_mode and, from current, its directory's owner)."""
    current_mode, current_uid, current_gid = current
    mode, uid, gid = wanted
    if mode is None:
        mode = new_file_mode if created else current_mode
    return mode, current_uid if uid is None else uid, current_gid if gid is None else gid


def attributes_differ(current, mode, uid=None, gid=None):
    """Whether FileAttributes current differ from mode, uid and gid (None: not managed)."""
    return current.mode != mode or (uid is not None and current.uid != uid) or (gid is not None and current.gid != gid)


def set_attributes(path, current, mode, uid=None, gid=None):
    """Give path, whose FileAttributes are current, mode, uid and gid (None: left as it is) in
    place, never wider on the way: first the bits both the old and the new mode allow, then the
    owner and group, then the new mode. Raises OSError."""
    narrowed = current.mode & mode
    if narrowed != current.mode:
        os.chmod(path, narrowed)
    if (uid is not None and current.uid != uid) or (gid is not None and current.gid != gid):
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    if stat.S_IMODE(os.stat(path).st_mode) != mode:
        os.chmod(path, mode)


def write_atomic(path, data, mode=0o600, uid=None, gid=None):
    """Replace path with data (bytes) atomically.

    mode, uid and gid are applied to the temporary file before the rename; uid/gid None
    means "the user and group of this process" (root when run by Ansible with become).
    """
    if not isinstance(data, bytes):
        raise TypeError("write_atomic takes bytes")
    directory = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp already created it 0600; restate it so a strange umask cannot matter.
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
