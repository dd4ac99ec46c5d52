# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's AnsibleModule: ansible-core's own, with an invocation log that a NUL
character in an option cannot break. The one piece of module_utils that knows AnsibleModule.

AnsibleModule logs "Invoked with <options>" to syslog while it is being created, before the
module's own checks run. From Python 3.12 on (Debian 13 has 3.13, Ubuntu 24.04 has 3.12)
syslog.syslog() raises ValueError on a NUL character, and AnsibleModule turns that into
fail_json("Failed to log to syslog ..."): a NUL in a path or an account name failed the task
with a message that names no option (Python 3.11 cut the log line at the NUL instead). Here
a NUL in a log line is written as the four characters \\x00, after the secrets are masked.
"""

from __future__ import annotations

from ansible.module_utils import basic
from ansible.module_utils.common.parameters import remove_values


def printable(value):
    """value with each NUL character written as \\x00 (str and bytes; others as they are)."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, bytes):
        return value.replace(b"\x00", b"\\x00")
    return value


class AnsibleModule(basic.AnsibleModule):
    """ansible.module_utils.basic.AnsibleModule whose log() accepts NUL characters."""

    def log(self, msg, log_args=None):
        if not self.no_log:
            # Mask first: a secret that holds a NUL is no longer found once it is rewritten.
            msg = printable(remove_values(msg, self.no_log_values))
            if log_args:
                log_args = {name: printable(remove_values(value, self.no_log_values)) for name, value in log_args.items()}
        super().log(msg, log_args=log_args)
