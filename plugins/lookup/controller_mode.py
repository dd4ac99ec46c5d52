# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: controller_mode
author: jellyfin_remote developers (!UNKNOWN)
version_added: 0.1.0
short_description: The type and permissions of a path on the controller, read in the controller's own process
description:
  - Returns, for each path, C(directory 700), C(file 600) (the type and the octal permissions, symbolic links
    followed) or C(absent) when nothing is there; C(other 644) for anything else (a socket, a device).
  - Lets a task that keeps a file or directory on the controller run only when it differs, without a
    module run (the role's unchanged re-run then costs nothing for it).
  - Reads no content.
options:
  _terms:
    description: Paths on the controller.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: Create the export directory on the controller (only when it is missing or not 0700)
  ansible.builtin.file:
    path: "{{ export_dir }}"
    state: directory
    mode: "0700"
  delegate_to: localhost
  when: lookup('homelab.jellyfin_remote.controller_mode', export_dir) != 'directory 700'
"""

RETURN = r"""
_raw:
  description: One C(<type> <octal permissions>) or C(absent) per path.
  type: list
  elements: str
"""

import os
import stat

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def describe(path):
    """'directory 700', 'file 600', 'other 644' or 'absent' (symbolic links followed)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "absent"
    except NotADirectoryError:
        return "absent"
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        raise AnsibleLookupError("controller_mode: cannot look at %r: %s" % (path, getattr(exc, "strerror", None) or exc))
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
    return "%s %o" % (kind, stat.S_IMODE(st.st_mode))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [describe(os.path.expanduser(str(term))) for term in terms]
