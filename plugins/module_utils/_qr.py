# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""QR codes of WireGuard client configurations, as PNG and as terminal text.

Plain Python, no AnsibleModule: the wireguard_qr module maps its options onto QrSpec and
calls ensure_qr_files(). The encoded text is a secret (it holds the client's private key),
so every file is written 0600 (or the given narrower-or-equal mode) atomically, and no
message built here contains the text or the image.

segno renders deterministically (the same text, error level, scale and border give the same
bytes), so a file is only rewritten when its content or mode would change.
"""

from __future__ import annotations

import io
import os
import stat
import traceback

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file

try:
    import segno
except ImportError:
    HAS_SEGNO = False
    SEGNO_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_SEGNO = True
    SEGNO_IMPORT_ERROR = None

ERROR_LEVELS = ("L", "M", "Q", "H")
MAX_MODE = 0o640


class QrError(Exception):
    """A failure whose text is safe to show (never holds the encoded content)."""


def _make(content, error):
    if not HAS_SEGNO:
        raise QrError("the Python library segno is not installed on the controller (pip install segno)")
    if not content:
        raise QrError("content is empty: nothing to encode")
    try:
        # boost_error=False: the error level stays the one asked for, so output is stable.
        return segno.make(content, error=error.lower(), micro=False, boost_error=False)
    except segno.DataOverflowError:
        raise QrError(
            "content is %d characters, more than a QR code holds at error level %s; use a lower level"
            % (len(content), error)
        ) from None


def render_png(content, scale=6, border=4, error="M"):
    """PNG bytes of the QR code."""
    buf = io.BytesIO()
    _make(content, error).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def render_text(content, border=2, error="M"):
    """The QR code drawn with Unicode half blocks, for `cat` in a terminal."""
    buf = io.StringIO()
    _make(content, error).terminal(out=buf, compact=True, border=border)
    return buf.getvalue()


def parse_mode(value):
    """The mode option (see _atomic_file.parse_octal_mode), no wider than MAX_MODE."""
    try:
        mode = _atomic_file.parse_octal_mode(value)
    except _atomic_file.FileAttributeError as exc:
        raise QrError(str(exc)) from None
    if mode & ~MAX_MODE & 0o7777:
        raise QrError("mode %04o is wider than %04o; the QR code holds a private key" % (mode, MAX_MODE))
    return mode


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except ValueError:  # a NUL byte in the path
        raise QrError("path %r is not a valid file name" % (path,)) from None
    except OSError as exc:
        raise QrError("cannot inspect %s: %s" % (path, exc.strerror)) from None


def _current(path):
    st = _lstat(path)
    if st is None:
        return None, None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise QrError("%s exists and is not a regular file" % path)
    try:
        with open(path, "rb") as handle:
            return handle.read(), stat.S_IMODE(st.st_mode)
    except OSError as exc:
        raise QrError("cannot read %s: %s" % (path, exc.strerror)) from None


def ensure_file(path, data, mode, check_mode=False):
    """Write data to path (atomic, mode set before the rename) unless it is already there.
    Returns (changed, before, after) with metadata only."""
    old, old_mode = _current(path)
    before = {"state": "absent"} if old is None else {"state": "present", "mode": "%04o" % old_mode}
    after = {"state": "present", "mode": "%04o" % mode, "bytes": len(data)}
    if old == data and old_mode == mode:
        return False, before, after
    if not check_mode:
        if old == data:
            try:
                _atomic_file.set_attributes(path, _atomic_file.FileAttributes(old_mode, None, None), mode)
            except OSError as exc:
                raise QrError("cannot set the mode of %s: %s" % (path, exc.strerror)) from None
        else:
            try:
                _atomic_file.write_atomic(path, data, mode=mode)
            except OSError as exc:
                raise QrError("cannot write %s: %s" % (path, exc.strerror)) from None
    return True, before, after


def remove_file(path, check_mode=False):
    if _lstat(path) is None:
        return False
    if not check_mode:
        try:
            os.unlink(path)
        except OSError as exc:
            raise QrError("cannot remove %s: %s" % (path, exc.strerror)) from None
    return True


def ensure_qr_files(content, png_path=None, text_path=None, mode=0o600, state="present",
                    scale=6, border=4, error="M", check_mode=False):
    """Bring the PNG and text files to the wanted state. Returns a result dict (no secrets)."""
    if error not in ERROR_LEVELS:
        raise QrError("error must be one of %s, got %r" % (", ".join(ERROR_LEVELS), error))
    if not png_path and not text_path:
        raise QrError("set png_path, text_path or both: there is nothing to write")
    if state == "present" and (not isinstance(scale, int) or scale < 1):
        raise QrError("scale must be a whole number of pixels, 1 or more; got %r" % (scale,))
    if state == "present" and (not isinstance(border, int) or border < 0):
        raise QrError("border must be 0 or more modules; got %r" % (border,))
    result = {"changed": False, "png_path": png_path, "text_path": text_path,
              "diff": {"before": {}, "after": {}}}
    for key, path in (("png", png_path), ("text", text_path)):
        if not path:
            continue
        data = None
        if state != "absent":
            if key == "png":
                data = render_png(content, scale=scale, border=border, error=error)
            else:
                data = render_text(content, border=max(1, border // 2), error=error).encode("utf-8")
        try:
            if state == "absent":
                changed = remove_file(path, check_mode)
                result["diff"]["before"][key] = "present" if changed else "absent"
                result["diff"]["after"][key] = "absent"
            else:
                changed, before, after = ensure_file(path, data, mode, check_mode)
                result["diff"]["before"][key] = before
                result["diff"]["after"][key] = after
        except QrError as exc:
            raise QrError("%s_path: %s" % (key, exc)) from None
        result["changed"] = result["changed"] or changed
    return result
