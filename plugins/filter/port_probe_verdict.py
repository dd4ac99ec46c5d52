# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""port_probe_verdict: which external ports reach the home (preflight role's port probe)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _port_probe


def port_probe_verdict(home, tried=None, owner_blocked=None, probe_host="the probe host", skipped=""):
    try:
        return _port_probe.verdict(home, tried, owner_blocked or [], probe_host=probe_host, skipped=skipped)
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError("port_probe_verdict: %s" % exc) from None


def port_probe_skip_reason(public_ip):
    """Why public_ip's result rules the probe out, or "" when it may run."""
    allowed, why = _port_probe.should_probe(public_ip if isinstance(public_ip, dict) else {})
    return "" if allowed else why


class FilterModule:
    def filters(self):
        return {"port_probe_verdict": port_probe_verdict, "port_probe_skip_reason": port_probe_skip_reason}
