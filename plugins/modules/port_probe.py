#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: port_probe
short_description: The home's side of the preflight's probe of external ports
version_added: 0.1.0
description:
  - Runs on the home server, started asynchronously by the C(preflight) role while a host outside the home
    (O(ports) tried from there) connects to the home's public address. Not meant to be run alone.
  - Finds the router by UPnP once. For each external port in O(ports) without a mapping it opens a TCP
    listener on a free local port and adds a temporary mapping (lease O(lease_duration), description
    C(jellyfin_remote port probe)) from the external port to it. A port the router already maps to this host
    is probed through that mapping, with a listener on its internal port when nothing listens there. A port
    mapped to another host, or to a port of this host in use, is not probed and not touched.
  - Writes O(ready_file) (the run's token and the ports to try), answers the probe's line on each listener and
    stops when every port was reached, when O(ready_file) is removed or after O(deadline) seconds.
  - Always removes the mappings it added and reads the router's list back (RV(left)); closes its listeners.
author:
  - jellyfin_remote developers (!UNKNOWN)
requirements:
  - The Python C(miniupnpc) module on the managed host (Debian and Ubuntu package C(python3-miniupnpc)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: none
    details: It changes the router for a few seconds; the C(preflight) role skips it in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  ports:
    description: The external TCP ports to probe.
    type: list
    elements: int
    required: true
  ready_file:
    description:
      - Where the token and the ports to try are written (mode 0600) once the listeners and mappings are in place.
        Removing it tells the module that the probe host is done.
    type: path
    required: true
  deadline:
    description: Seconds after which the module stops waiting for the probe host.
    type: int
    default: 45
  lease_duration:
    description: The lease of each temporary mapping in seconds, so that a mapping outlives a killed run briefly at most.
    type: int
    default: 120
  discovery_delay_ms:
    description: How long to wait for the router's SSDP answers, in milliseconds.
    type: int
    default: 2000
  multicast_interface:
    description: The interface name or address to send the SSDP search from, when the host has several networks.
    type: str
  cleanup:
    description:
      - Only remove the probe's mappings of O(ports) that an earlier run did not finish removing (description
        C(jellyfin_remote port probe), pointing at this host); nothing else is touched. O(ready_file) is not used.
    type: bool
    default: false
seealso:
  - module: homelab.jellyfin_remote.upnp_port_mapping
"""

EXAMPLES = r"""
- name: Open the probe's listeners and temporary mappings (the preflight role's tasks/probe.yml)
  homelab.jellyfin_remote.port_probe:
    ports: [80, 443, 8443]
    ready_file: /run/jellyfin-remote-port-probe-1.json
  async: 75
  poll: 0
  register: probe_job

- name: Remove the probe's mappings a run that did not finish left behind
  homelab.jellyfin_remote.port_probe:
    ports: [80, 443, 8443]
    ready_file: /run/jellyfin-remote-port-probe-1.json
    cleanup: true
"""

RETURN = r"""
token:
  description: The run's nonce, which the probe host sends on each port. Not a secret.
  returned: always
  type: str
lan_address:
  description: This host's LAN address, as miniupnpc found it.
  returned: always
  type: str
external_ip:
  description: The router's external address.
  returned: always
  type: str
ports:
  description: One entry per port of O(ports).
  returned: always
  type: list
  elements: dict
  contains:
    port: {description: The external port., type: int}
    probed: {description: Whether it was probed., type: bool}
    via: {description: "V(temporary mapping) or V(existing mapping); null when not probed.", type: str}
    local_port: {description: The listener's port on this host., type: int}
    reason: {description: "Why it was not probed, or null.", type: str}
    reached: {description: Whether the probe's token arrived on it., type: bool}
    peer: {description: The address the token came from., type: str}
    sent: {description: What a connection sent instead of the probe's line (first 80 characters)., type: str}
added:
  description: The external ports mapped for the probe (all removed again unless listed in RV(left)).
  returned: always
  type: list
  elements: int
left:
  description: The probe's mappings the router still lists afterwards (their lease ends them).
  returned: always
  type: list
  elements: int
error:
  description: Why nothing could be probed (no UPnP router), or null.
  returned: always
  type: str
probe_seconds:
  description: Seconds from the start to the mappings removed.
  returned: always
  type: float
removed:
  description: With O(cleanup), the ports whose probe mapping was removed.
  returned: with O(cleanup)
  type: list
  elements: int
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _port_probe, _ssdp, _upnp
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ports=dict(type="list", elements="int", required=True),
            ready_file=dict(type="path", required=True),
            deadline=dict(type="int", default=45),
            lease_duration=dict(type="int", default=_port_probe.DEFAULT_LEASE),
            discovery_delay_ms=dict(type="int", default=2000),
            multicast_interface=dict(type="str"),
            cleanup=dict(type="bool", default=False),
        ),
        supports_check_mode=False,
    )
    p = module.params
    try:
        ports = _port_probe.candidate_ports(p["ports"], option="ports")
    except _port_probe.ProbeError as exc:
        module.fail_json(msg=str(exc))
    if not 5 <= p["deadline"] <= 600:
        module.fail_json(msg="deadline must be from 5 to 600 seconds, got %d" % p["deadline"])
    if not 30 <= p["lease_duration"] <= 3600:
        module.fail_json(msg="lease_duration must be from 30 to 3600 seconds (a short lease: the mappings are "
                             "temporary), got %d" % p["lease_duration"])
    client = _upnp.new_client(p["multicast_interface"])
    if client is None:
        why = "to add the probe's temporary mappings (Debian: apt install python3-miniupnpc)"
        module.fail_json(msg=missing_required_lib("miniupnpc", reason=why))
    # The SSDP search ends at the router's first answer instead of waiting the whole delay.
    locate = _ssdp.locator(p["multicast_interface"])
    if p["cleanup"]:
        result = _port_probe.cleanup(client, ports, discovery_delay_ms=p["discovery_delay_ms"], locate=locate)
        module.exit_json(changed=bool(result["removed"]), **result)
    report = _port_probe.run_home(client, ports, p["ready_file"], deadline_seconds=p["deadline"],
                                  lease_duration=p["lease_duration"], discovery_delay_ms=p["discovery_delay_ms"],
                                  locate=locate)
    module.exit_json(changed=bool(report["added"]), **report)


if __name__ == "__main__":
    main()
