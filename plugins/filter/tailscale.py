# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the tailscale role: Jellyfin's local subnets from the tailnet, and the serve plan."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _tailscale


def tailscale_local_subnets(status, mode="own_nodes", users=None):
    try:
        return _tailscale.local_subnets(status, mode, users)
    except _tailscale.TailscaleError as exc:
        raise AnsibleFilterError(str(exc)) from None


def tailscale_serve_plan(serve_config, dns_name, port=443, target="http://127.0.0.1:8096", serve=True, funnel=False):
    return _tailscale.serve_plan(serve_config, dns_name, port, target, serve, funnel)


def tailscale_serve_readiness(status, funnel=False):
    return _tailscale.serve_readiness(status, funnel)


class FilterModule:
    def filters(self):
        return {
            "tailscale_local_subnets": tailscale_local_subnets,
            "tailscale_serve_plan": tailscale_serve_plan,
            "tailscale_serve_readiness": tailscale_serve_readiness,
        }
