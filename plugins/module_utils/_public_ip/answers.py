# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which answers count: validate_answer(), on the ranges of module_utils/_addresses.py."""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._addresses import non_global_reason, parse_ip


def validate_answer(text, family=None, allow_ranges=()):
    """(address, None) when text is a global address of family; else (None, error).

    family None accepts either. Addresses come back in canonical form so that answers
    compare equal however a source spelled them.
    """
    ip = parse_ip(text)
    if ip is None:
        return None, "not an IP address"
    if family is not None and ip.version != family:
        return None, "IPv%d address from an IPv%d source" % (ip.version, family)
    reason = non_global_reason(ip, allow_ranges)
    if reason:
        return None, "rejected: %s" % reason
    return str(ip), None
