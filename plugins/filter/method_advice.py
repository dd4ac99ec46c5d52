# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: method_advice
short_description: Rank the ways to reach a home Jellyfin server from outside
version_added: 0.1.0
author:
  - jellyfin_remote developers
description:
  - Takes the result of M(homelab.jellyfin_remote.public_ip) and the owner's preferences.
    Returns the methods V(port_forward), V(reverse_proxy), V(wireguard), V(tailscale) and
    V(cloudflare_tunnel), best first. Each method comes with the reasons and with what it still needs.
  - CGNAT and double NAT rule out the methods that need a port forward on the home router,
    unless O(has_vps=true) or the home has global IPv6.
  - A VPN keeps Jellyfin off the internet and comes first when O(security_priority=high).
  - Cloudflare's terms forbid serving video through its CDN on the free, Pro and Business
    plans. A Cloudflare Tunnel is therefore never marked suitable for streaming and is never ranked first.
  - The result is deterministic. An unknown preference name is an error that names it.
options:
  _input:
    description:
      - The registered result of M(homelab.jellyfin_remote.public_ip). Only C(classification),
        C(port_forwarding_possible) and C(ipv6_global) are read.
    type: dict
    required: true
  blocked_ports:
    description: Ports the ISP blocks, such as V(80), V(443) or V(8096).
    type: list
    elements: int
    default: []
  has_domain:
    description: Whether the owner has a domain name.
    type: bool
    default: false
  has_vps:
    description: Whether the owner has a VPS or another server with a public address.
    type: bool
    default: false
  has_tailscale_account:
    description: Whether the owner already has a Tailscale account.
    type: bool
    default: false
  has_cloudflare_account:
    description: Whether the owner already has a Cloudflare account.
    type: bool
    default: false
  security_priority:
    description: How much security matters compared with convenience.
    type: str
    choices: [low, normal, high]
    default: normal
  skill:
    description: The owner's experience with networking.
    type: str
    choices: [beginner, intermediate, advanced]
    default: intermediate
  upload_mbps:
    description:
      - The upload bandwidth of the home line in Mbit/s.
      - If it is set and is under 50 Mbit/s per remote user, each suitable method gets a note
        that a 4K remux needs 50 to 128 Mbit/s.
    type: float
  remote_users:
    description: How many people watch from outside.
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: Find the public address and the kind of NAT
  homelab.jellyfin_remote.public_ip:
  register: public

- name: Show the best way in for this home
  ansible.builtin.debug:
    msg: "{{ advice[0].method }}: {{ advice[0].reasons | join(' ') }}"
  vars:
    advice: >-
      {{ public | homelab.jellyfin_remote.method_advice(
           has_domain=true, blocked_ports=[80], security_priority='high',
           upload_mbps=40, remote_users=3) }}

- name: Only the methods that fit
  ansible.builtin.set_fact:
    jellyfin_remote_methods: >-
      {{ public | homelab.jellyfin_remote.method_advice(has_vps=true)
         | selectattr('suitable') | map(attribute='method') | list }}
"""

RETURN = r"""
_value:
  description: One entry per method, best first.
  type: list
  elements: dict
  contains:
    method:
      description: V(port_forward), V(reverse_proxy), V(wireguard), V(tailscale) or V(cloudflare_tunnel).
      type: str
    rank:
      description: The position, where V(1) is the best.
      type: int
    suitable:
      description: Whether the method can serve Jellyfin streams in this situation.
      type: bool
    reasons:
      description: Plain sentences that explain the rank and the verdict.
      type: list
      elements: str
    needs:
      description: What the method still needs, such as a domain, an account, a port forward or an app.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._advice import rank_methods


def method_advice(public_ip_result, **preferences):
    """Rank the remote-access methods for a public_ip result and the owner's preferences."""
    try:
        return rank_methods(public_ip_result, preferences)
    except ValueError as exc:
        raise AnsibleFilterError("method_advice: %s" % exc)


class FilterModule:
    """homelab.jellyfin_remote.method_advice"""

    def filters(self):
        return {"method_advice": method_advice}
