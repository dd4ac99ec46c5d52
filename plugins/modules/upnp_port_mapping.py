#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: upnp_port_mapping
short_description: Add, check or remove a port mapping on the home router by UPnP IGD
version_added: 0.1.0
description:
  - Asks the home router (a UPnP Internet Gateway Device) to forward an external port to this
    host, checks such a mapping, or removes it. Runs on the home server itself, because the router
    finds its LAN by SSDP multicast and, in its usual secure mode, maps ports only to the address
    that asks.
  - Idempotent. An existing mapping to the same client, internal port and description that is
    enabled and has enough lease left (O(min_lease_remaining)) is left alone. A mapping of the same
    external port to another client is a failure that names that client, unless O(force=true).
  - When the router refuses mappings because it has no public address of its own (UPnP error 501
    C(ActionFailed), or an empty external address, as routers behind carrier-grade NAT answer) or
    reports a 100.64.0.0/10 or private external address, the module fails with a message that says
    port forwarding is impossible here (CGNAT or double NAT) and names the ways in that still work,
    Tailscale, Cloudflare Tunnel or a VPS.
  - When no router answers, the module fails with instructions for forwarding the port by hand.
  - O(mappings) handles several mappings after one discovery of the router. Each discovery waits
    O(discovery_delay_ms) for the router's answers, so a loop over ports pays that once per port.
author:
  - jellyfin_remote developers (!UNKNOWN)
requirements:
  - The Python C(miniupnpc) module on the managed host (Debian and Ubuntu package C(python3-miniupnpc)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Discovers the router and reads the external address and the current mapping only; predicts C(changed).
  diff_mode:
    support: full
    details: Shows the mapping before and after.
  platform:
    support: full
    platforms: posix
options:
  external_port:
    description:
      - The port on the router's public side.
      - One of O(external_port) and O(mappings) is required. O(external_port), O(internal_port),
        O(protocol), O(internal_client), O(description), O(lease_duration) and O(min_lease_remaining)
        describe one mapping and cannot be given with O(mappings).
    type: int
  mappings:
    description:
      - Several mappings, handled after one discovery of the router, in the order given. Every
        mapping is tried even when one fails (as a loop would); the task then fails with each
        failure's message, and RV(mappings) reports each mapping.
      - An empty list asks the router nothing.
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      external_port:
        description: The port on the router's public side.
        type: int
        required: true
      internal_port:
        description: The port on O(mappings[].internal_client). Defaults to O(mappings[].external_port).
        type: int
      protocol:
        description: The transport protocol.
        type: str
        choices: [TCP, UDP]
        default: TCP
      internal_client:
        description: The LAN address the port is forwarded to. Defaults to this host's LAN address, as for O(internal_client).
        type: str
      description:
        description: The mapping's description in the router's UPnP list.
        type: str
        default: jellyfin_remote
      lease_duration:
        description: The lease in seconds, V(0) for a permanent mapping, as for O(lease_duration).
        type: int
        default: 3600
      min_lease_remaining:
        description: As O(min_lease_remaining). Defaults to half of O(mappings[].lease_duration).
        type: int
      state:
        description: V(present) or V(absent) for this mapping. Defaults to O(state).
        type: str
        choices: [present, absent]
      force:
        description: As O(force), for this mapping. Defaults to O(force).
        type: bool
  internal_port:
    description:
      - The port on O(internal_client). Defaults to O(external_port).
    type: int
  protocol:
    description:
      - The transport protocol.
    type: str
    choices: [TCP, UDP]
    default: TCP
  internal_client:
    description:
      - The LAN address the port is forwarded to. Defaults to the address miniupnpc used to reach the
        router, that is this host's LAN address.
    type: str
  description:
    description:
      - The mapping's description, shown in the router's UPnP list. A different description counts as a change.
    type: str
    default: jellyfin_remote
  lease_duration:
    description:
      - The lease in seconds. V(0) asks for a permanent mapping; routers that accept only permanent
        mappings (UPnP error 725) get one, with a warning.
      - Renew leased mappings before they run out (the C(port_forward) role installs a timer for that).
    type: int
    default: 3600
  min_lease_remaining:
    description:
      - An existing identical mapping with at least this many seconds of lease left is not renewed.
        Defaults to half of O(lease_duration). A permanent mapping always has enough.
    type: int
  state:
    description:
      - V(present) adds or refreshes the mapping, V(absent) removes it.
      - With O(mappings), the state of every mapping that does not set its own.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Take over (V(present)) or remove (V(absent)) a mapping of O(external_port) that points at another client.
    type: bool
    default: false
  discovery_delay_ms:
    description:
      - How long to wait for SSDP answers from the router, in milliseconds. The search ends at the
        router's first answer, usually within milliseconds; the whole delay passes only when
        no router answers (or when O(multicast_interface) is an interface name, where
        miniupnpc's own discovery listens for the whole delay).
    type: int
    default: 2000
  multicast_interface:
    description:
      - The interface name or address to send the SSDP search from, when the host has several networks.
    type: str
  allow_ranges:
    description:
      - B(For tests and labs only.) CIDR ranges whose external addresses count as public, although they
        are private or shared addresses.
    type: list
    elements: str
    default: []
notes:
  - UPnP has no authentication; many owners switch it off on the router. Without it, forward the port in
    the router's web interface; the failure message says how.
seealso:
  - module: homelab.jellyfin_remote.public_ip
"""

EXAMPLES = r"""
- name: Forward Jellyfin's HTTP port on the home router
  homelab.jellyfin_remote.upnp_port_mapping:
    external_port: 8096
    description: Jellyfin
  register: mapping

- name: Check, without changing anything, whether the router would forward the port
  homelab.jellyfin_remote.upnp_port_mapping:
    external_port: 8096
  check_mode: true
  register: probe
  failed_when: false

- name: Forward WireGuard as a permanent mapping
  homelab.jellyfin_remote.upnp_port_mapping:
    external_port: 51820
    protocol: UDP
    lease_duration: 0

- name: Remove the mapping
  homelab.jellyfin_remote.upnp_port_mapping:
    external_port: 8096
    state: absent

- name: Forward two ports and remove an old one, asking the router once
  homelab.jellyfin_remote.upnp_port_mapping:
    mappings:
      - external_port: 8096
        description: Jellyfin
      - external_port: 51820
        protocol: UDP
        description: WireGuard
      - external_port: 8920
        state: absent
  register: mappings
"""

RETURN = r"""
changed:
  description: Whether a mapping was (or, in check mode, would be) added, refreshed or removed.
  returned: always
  type: bool
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
external_ip:
  description: The router's external address, or V(null) when it reports none.
  returned: success
  type: str
  sample: 198.51.100.7
lan_address:
  description: This host's LAN address as miniupnpc saw it.
  returned: success
  type: str
  sample: 192.168.1.20
igd:
  description: The control URL of the router's WAN connection service.
  returned: success
  type: str
  sample: http://192.168.1.1:5000/ctl/IPConn
mapping:
  description: The mapping after the task (predicted in check mode); V(null) for O(state=absent).
  returned: success, without O(mappings)
  type: dict
  contains:
    external_port: {description: The external port., type: int}
    protocol: {description: TCP or UDP., type: str}
    internal_client: {description: The LAN address., type: str}
    internal_port: {description: The LAN port., type: int}
    description: {description: The description., type: str}
    enabled: {description: Whether the router has it enabled., type: bool}
    lease_remaining: {description: Seconds of lease left (the requested lease in check mode); V(0) is permanent., type: int}
  sample: {external_port: 8096, protocol: TCP, internal_client: 192.168.1.20, internal_port: 8096,
           description: jellyfin_remote, enabled: true, lease_remaining: 3600}
previous:
  description: The mapping before the task, V(null) when there was none. Same keys as RV(mapping).
  returned: success, without O(mappings)
  type: dict
mappings:
  description:
    - With O(mappings), one report per mapping, in the order given, also when the task fails.
  returned: when O(mappings) is given
  type: list
  elements: dict
  version_added: 0.1.0
  contains:
    external_port: {description: The external port., type: int}
    protocol: {description: TCP or UDP., type: str}
    state: {description: The state asked for this mapping., type: str}
    changed: {description: "Whether this mapping was (or would be) added, refreshed or removed.", type: bool}
    previous: {description: "The mapping before the task or V(null); the keys of RV(mapping).", type: dict}
    mapping: {description: "The mapping after the task (predicted in check mode) or V(null); the keys of RV(mapping).", type: dict}
    failed: {description: V(true) when this mapping failed (absent otherwise)., type: bool}
    error_kind: {description: "When this mapping failed: its kind, as RV(error_kind).", type: str}
    msg: {description: "When this mapping failed: why.", type: str}
  sample:
    - {external_port: 8096, protocol: TCP, state: present, changed: false, previous: null,
       mapping: {external_port: 8096, protocol: TCP, internal_client: 192.168.1.20, internal_port: 8096,
                 description: Jellyfin, enabled: true, lease_remaining: 3600}}
error_kind:
  description:
    - On failure, what kind. V(cgnat) port forwarding is impossible (CGNAT or double NAT), V(no_igd) no
      UPnP router answered, V(conflict) another client holds the port, V(refused) the router refused for
      another reason it names, V(failed) any other UPnP failure, V(config) a wrong option.
  returned: failure
  type: str
  sample: cgnat
"""

import ipaddress

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ssdp, _upnp
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._upnp import new_client
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


# The options that describe one mapping: with mappings, each entry has its own.
SINGLE_MAPPING_OPTIONS = ("external_port", "internal_port", "protocol", "internal_client", "description",
                          "lease_duration", "min_lease_remaining")


def mapping_spec():
    """The options of one mapping, at the top level and in each entry of mappings."""
    return dict(
        external_port=dict(type="int"),
        internal_port=dict(type="int"),
        protocol=dict(type="str", choices=list(_upnp.PROTOCOLS), default="TCP"),
        internal_client=dict(type="str"),
        description=dict(type="str", default=_upnp.DEFAULT_DESCRIPTION),
        lease_duration=dict(type="int", default=3600),
        min_lease_remaining=dict(type="int"),
    )


def argument_spec():
    entry = mapping_spec()
    entry["external_port"]["required"] = True
    # In an entry, no default: a missing state or force is the module's.
    entry.update(state=dict(type="str", choices=["present", "absent"]), force=dict(type="bool"))
    return dict(
        mapping_spec(),
        mappings=dict(type="list", elements="dict", options=entry),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        force=dict(type="bool", default=False),
        discovery_delay_ms=dict(type="int", default=2000),
        multicast_interface=dict(type="str"),
        allow_ranges=dict(type="list", elements="str", default=[]),
    )


def check_mapping(m, prefix=""):
    """Return an error message for one mapping's options the spec cannot check, or None.
    prefix names the entry in the message (mappings[1].)."""
    for option in ("external_port", "internal_port"):
        value = m[option]
        if value is not None and not 1 <= value <= 65535:
            return "%s%s must be a port from 1 to 65535, got %d" % (prefix, option, value)
    if m["lease_duration"] < 0:
        return "%slease_duration must be 0 (permanent) or more seconds, got %d" % (prefix, m["lease_duration"])
    if m["min_lease_remaining"] is not None and m["min_lease_remaining"] < 0:
        return "%smin_lease_remaining must be 0 or more seconds, got %d" % (prefix, m["min_lease_remaining"])
    if m["internal_client"] is not None:
        try:
            ip = ipaddress.ip_address(m["internal_client"])
        except ValueError:
            return "%sinternal_client must be this host's LAN IPv4 address, such as 192.168.1.20, got %r" % (
                prefix, m["internal_client"])
        if ip.version != 4:
            return "%sinternal_client must be an IPv4 address (UPnP IGD port mappings are IPv4), got %s" % (prefix, ip)
    return None


def check_options(p):
    """Return an error message for options the spec cannot check, or None."""
    if not 100 <= p["discovery_delay_ms"] <= 60000:
        return "discovery_delay_ms must be from 100 to 60000, got %d; 2000 suits most routers" % p["discovery_delay_ms"]
    if p["mappings"] is None:
        return check_mapping(p)
    seen = {}
    for index, m in enumerate(p["mappings"]):
        problem = check_mapping(m, "mappings[%d]." % index)
        if problem:
            return problem
        key = (m["protocol"].upper(), m["external_port"])
        if key in seen:
            return ("mappings: %s port %d is listed twice (entries %d and %d); list each external port and "
                    "protocol once" % (key[0], key[1], seen[key], index))
        seen[key] = index
    return None


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("mappings", option) for option in SINGLE_MAPPING_OPTIONS],
        required_one_of=[("external_port", "mappings")],
        supports_check_mode=True,
    )
    p = module.params
    problem = check_options(p)
    if problem:
        module.fail_json(msg=problem, error_kind="config", changed=False)
    if p["mappings"] == []:
        module.exit_json(changed=False, state=p["state"], igd=None, lan_address=None, external_ip=None, mappings=[])
    client = new_client(p["multicast_interface"])
    if client is None:
        module.fail_json(
            msg=missing_required_lib("miniupnpc", reason="to talk to the router by UPnP (Debian: apt install python3-miniupnpc)"),
            error_kind="config",
            changed=False,
        )
    # What every call shares: the router, how to find it, the defaults of each mapping.
    common = dict(state=p["state"], force=p["force"], discovery_delay_ms=p["discovery_delay_ms"],
                  multicast_interface=p["multicast_interface"], allow_ranges=p["allow_ranges"],
                  check_mode=module.check_mode, locate=_ssdp.locator(p["multicast_interface"]))
    if p["mappings"] is not None:
        run_many(module, client, common)
    single = {option: p[option] for option in SINGLE_MAPPING_OPTIONS}
    try:
        result = _upnp.ensure(client, **dict(single, **common))
    except _upnp.UpnpError as exc:
        module.fail_json(msg=str(exc), error_kind=exc.kind, changed=False, **exc.details)
    warning = result.pop("warning", None)
    if warning:
        module.warn(warning)
    if module._diff:
        result["diff"] = dict(before=result["previous"] or {}, after=result["mapping"] or {})
    module.exit_json(**result)


def run_many(module, client, common):
    """mappings: every mapping after one discovery; exits or fails the module."""
    try:
        result = _upnp.ensure_many(client, module.params["mappings"], **common)
    except _upnp.UpnpError as exc:
        details = dict(exc.details)
        details.setdefault("changed", False)
        module.fail_json(msg=str(exc), error_kind=exc.kind, **details)
    for report in result["mappings"]:
        warning = report.pop("warning", None)
        if warning:
            module.warn(warning)
    if module._diff:
        name = "%(protocol)s/%(external_port)d"
        result["diff"] = dict(before={name % r: r["previous"] or {} for r in result["mappings"]},
                              after={name % r: r["mapping"] or {} for r in result["mappings"]})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
