#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: public_ip
short_description: Find the public IPv4 and IPv6 address and detect CGNAT and double NAT
version_added: 0.1.0
description:
  - Finds the addresses the internet sees for this host by asking several DNS and HTTP(S)
    echo services at once. For each address family the first valid answer wins (or the first
    address that O(min_agreement) sources agree on), and the module does not wait for the
    remaining sources.
  - Every answer is validated. It must be an address of the expected family and globally
    routable. Private (RFC 1918), shared (100.64.0.0/10), loopback, link-local, documentation,
    multicast, unspecified and unique local (fc00::/7) addresses are rejected.
  - Compares the public address with the router's WAN address (UPnP IGD, a given value, or
    the host's own interfaces) and classifies the connection as V(public), V(nat), V(cgnat),
    V(double_nat), V(unknown) or V(offline). That tells whether port forwarding can work.
  - Addresses in 100.64.0.0/10 on Tailscale, WireGuard, Cloudflare WARP, container and bridge
    interfaces are ignored, so a Tailscale node is never reported as being behind CGNAT.
  - Never fails because the network is down. With no answer the result is V(offline).
  - Read-only. It runs the same way in check mode and never reports a change.
author:
  - jellyfin_remote developers (!UNKNOWN)
requirements:
  - C(dnspython) is optional. When it is installed it sends the DNS queries. Without it the
    module uses its own small DNS client for A, AAAA and TXT queries. RV(dns_client) tells which one was used.
  - C(miniupnpc) is optional. It is needed only for O(wan_source=upnp).
    O(wan_source=auto) skips UPnP when it is missing.
  - The C(ip) command (iproute2) for O(wan_source=interfaces).
    O(wan_source=auto) skips the interfaces when it is missing.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only. Check mode asks the same sources and returns the same result.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  ip_versions:
    description:
      - The address families to look up.
    type: list
    elements: int
    choices: [4, 6]
    default: [4, 6]
  timeout:
    description:
      - The time budget for the whole lookup in seconds. This covers all sources and UPnP together.
      - Sources that have not answered when the budget is spent are reported as timed out.
    type: float
    default: 5.0
  min_agreement:
    description:
      - How many sources must give the same address before a family counts as settled.
      - V(1) takes the first valid answer. V(2) or more guards against a single spoofed or
        wrong source, at the cost of waiting for more answers.
      - If fewer sources agree within O(timeout), RV(ipv4) or RV(ipv6) is V(null). RV(disagreement)
        and RV(sources) then show why.
    type: int
    default: 1
  dns_sources:
    description:
      - DNS sources to ask. If this is not set, the built-in list is used. V([]) turns DNS sources off.
      - 'The built-in list asks C(myip.opendns.com) A of OpenDNS C(208.67.222.222) and
        C(208.67.220.220), C(myip.opendns.com) AAAA of OpenDNS C(2620:119:35::35) and
        C(2620:119:53::53), and C(o-o.myaddr.l.google.com) TXT of Google''s C(ns1.google.com)
        at C(216.239.32.10) and C(2001:4860:4802:32::a).'
      - The family of an A source is 4 and of an AAAA source is 6. A TXT source has the family
        of its O(dns_sources[].server) address, because the echo returns the address the query came from.
    type: list
    elements: dict
    suboptions:
      name:
        description: A unique name for the source. It is used in RV(sources).
        type: str
        required: true
      server:
        description: The IP address of the resolver. Host names are not accepted.
        type: str
        required: true
      port:
        description: The UDP port of the resolver.
        type: int
        default: 53
      query:
        description: The name to look up.
        type: str
        required: true
      rdtype:
        description: The record type. A TXT answer must contain the address as text.
        type: str
        required: true
        choices: [A, AAAA, TXT]
  http_sources:
    description:
      - HTTP(S) echo URLs to ask. Each one answers with the caller's address as plain text.
        If this is not set, the built-in list is used. V([]) turns them off.
      - 'The built-in list has C(https://api.ipify.org) (4), C(https://api6.ipify.org) (6),
        C(https://ipv4.icanhazip.com) (4), C(https://ipv6.icanhazip.com) (6) and
        C(https://checkip.amazonaws.com) (4).'
      - Requests never go through a proxy, because a proxy would be answered with its own
        address. They send no C(.netrc) credentials.
    type: list
    elements: dict
    suboptions:
      name:
        description: A unique name for the source. It is used in RV(sources).
        type: str
        required: true
      url:
        description: An C(https://) or C(http://) URL.
        type: str
        required: true
      family:
        description:
          - The address family the URL answers with. An answer of the other family is rejected.
          - If this is not set, the answer counts for whichever family it has.
        type: int
        choices: [4, 6]
  extra_http_urls:
    description:
      - More echo URLs to add to O(http_sources) (or to the built-in list). They are named
        C(extra1), C(extra2) and so on, and count for whichever family they answer with.
    type: list
    elements: str
    default: []
  validate_certs:
    description:
      - Whether to check the TLS certificates of C(https://) sources.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to trust for C(https://) sources, for example a test CA.
    type: path
  allow_ranges:
    description:
      - B(For tests and labs only.) CIDR ranges whose addresses count as globally routable.
        Answers and interface addresses in these ranges are accepted even though they are
        documentation, private or shared addresses.
      - Leave this empty on real networks.
    type: list
    elements: str
    default: []
  wan_source:
    description:
      - Where the router's WAN address comes from. It is compared with the public address.
      - V(auto) first checks whether an interface of this host holds the public address
        (then the host is V(public)). Next it asks the router by UPnP IGD if C(miniupnpc) is
        installed, and is silent when it is not. Last it takes a 100.64.0.0/10 address on a
        real interface, such as an LTE stick on a CGNAT line.
      - V(upnp) asks the router by UPnP IGD C(GetExternalIPAddress). This needs C(miniupnpc).
        If no router answers, the result is V(unknown). The SSDP search for the router ends at
        its first answer (usually within milliseconds) rather than after the whole discovery
        wait, half of O(timeout) up to 2 s, which passes only when no router answers.
      - V(value) uses O(wan_address), for example as read from the router's status page.
      - V(interfaces) only looks at this host's interfaces (C(ip -j addr)).
      - V(none) skips the comparison. The result is then V(unknown) unless it is V(offline).
    type: str
    choices: [auto, upnp, value, interfaces, none]
    default: auto
  wan_address:
    description:
      - The router's WAN IPv4 address. It is used with O(wan_source=value), and only then.
    type: str
  ignore_interfaces:
    description:
      - More interface name patterns (shell-style, such as V(zt*)) whose addresses are ignored.
      - 'These are always ignored: V(lo), V(tailscale*), V(wg*), V(CloudflareWARP), V(veth*),
        V(docker*), V(podman*), V(cni*), V(br-*), V(virbr*).'
    type: list
    elements: str
    default: []
notes:
  - The default sources are public services on the internet. Tests and labs should point
    O(dns_sources), O(http_sources) and O(extra_http_urls) at their own stand-ins.
  - Plain DNS is easy to spoof. Before writing a DDNS record, confirm the address over HTTPS,
    for example with O(min_agreement=2) or with only O(http_sources).
seealso:
  - name: RFC 6598 (shared address space 100.64.0.0/10)
    description: The address block ISPs use for carrier-grade NAT.
    link: https://www.rfc-editor.org/rfc/rfc6598
"""

EXAMPLES = r"""
- name: Find the public address and whether port forwarding can work
  homelab.jellyfin_remote.public_ip:
  register: public

- name: Stop early when the home connection is behind CGNAT
  ansible.builtin.assert:
    that: public.port_forwarding_possible is not false
    fail_msg: "{{ public.explanation }}"

- name: Use only HTTPS sources and require two of them to agree
  homelab.jellyfin_remote.public_ip:
    dns_sources: []
    min_agreement: 2
    ip_versions: [4]

- name: Compare with the WAN address shown on the router's status page
  homelab.jellyfin_remote.public_ip:
    wan_source: value
    wan_address: 100.72.14.9

- name: Lab - stand-in sources and a WAN range that is not globally routable
  homelab.jellyfin_remote.public_ip:
    dns_sources:
      - name: lab_dns
        server: 10.99.0.53
        query: myip.lab.test
        rdtype: A
    http_sources:
      - name: lab_echo
        url: https://echo.lab.test/
        family: 4
    ca_path: /etc/ssl/lab-ca.pem
    allow_ranges: [198.51.100.0/24]
    wan_source: value
    wan_address: 198.51.100.7
"""

RETURN = r"""
ipv4:
  description: The public IPv4 address, or V(null) if it was not found or not settled.
  returned: always
  type: str
  sample: 198.51.100.7
ipv6:
  description: The public IPv6 address, or V(null).
  returned: always
  type: str
  sample: 2001:db8::7
ipv6_global:
  description: Whether a global IPv6 address was found, either by a source or on an interface
    of this host. IPv6 bypasses CGNAT when the ISP routes a prefix.
  returned: always
  type: bool
  sample: true
ipv6_host_addresses:
  description:
    - The global IPv6 addresses on this host's interfaces (in 2000::/3, or in O(allow_ranges) in a lab),
      as C(ip addr) lists them; empty when it has none or interfaces were not read (O(wan_source=value)).
    - Without NAT for IPv6 these are the addresses the internet reaches the host at, also behind CGNAT.
  returned: always
  type: list
  elements: str
  sample: ["2001:db8:5::10"]
wan_address:
  description: The WAN address the public address was compared with, or V(null).
  returned: always
  type: str
  sample: 100.72.14.9
wan_source_used:
  description: Where RV(wan_address) came from. One of V(upnp), V(value) or V(interfaces), or V(null).
  returned: always
  type: str
  sample: upnp
classification:
  description:
    - V(public) means an interface of this host holds the public address.
    - V(nat) means the router's WAN address is the public address, so port forwarding is possible.
    - V(cgnat) means the WAN address is in 100.64.0.0/10 or differs from the public address, or the
      UPnP router reports no usable external address (what miniupnpd does when its own WAN
      address is private or shared) while the internet answers.
    - V(double_nat) means the WAN address is private (RFC 1918).
    - V(unknown) means there is no WAN information, or no settled public IPv4 address.
    - V(offline) means no source gave a usable answer.
  returned: always
  type: str
  sample: cgnat
port_forwarding_possible:
  description: V(true) for V(public) and V(nat). V(false) for V(cgnat) and V(double_nat)
    (double NAT needs a forward on two routers). V(null) for V(unknown) and V(offline).
  returned: always
  type: bool
  sample: false
explanation:
  description: One plain sentence that explains the classification.
  returned: always
  type: str
  sample: >-
    The router's WAN address 100.72.14.9 is in 100.64.0.0/10, the ISP's carrier-grade NAT,
    which shares the public address 198.51.100.7: port forwarding cannot work.
port_forwarding_advice:
  description:
    - When RV(port_forwarding_possible) is V(false), what to do instead - RV(explanation) followed by the ways
      in that need no open port (the same text M(homelab.jellyfin_remote.upnp_port_mapping) fails with when
      the router refuses a mapping for this reason). V(null) otherwise.
  returned: always
  type: str
  sample: >-
    Port forwarding is impossible here (CGNAT or double NAT): the router's WAN address 100.72.14.9 is in
    100.64.0.0/10, the ISP's carrier-grade NAT, which shares the public address 198.51.100.7: port forwarding
    cannot work. The router is not reachable from the internet on its own address, ... Use a way in that needs
    no open port on this router: tailscale ...
sources:
  description: One report per source that was started, in the configured order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name of the source.
      type: str
    kind:
      description: V(dns) or V(http).
      type: str
    family:
      description: V(4) or V(6). It is V(null) for a URL with no family that did not answer.
      type: int
    answer:
      description: The address (canonical form), or the raw answer shortened to 64 characters when it was rejected.
      type: str
    latency_ms:
      description:
        - The time until the answer or error, in milliseconds.
        - It is V(null) when the source was not waited for.
      type: int
    error:
      description:
        - 'Why the source gave no accepted answer, such as V(not an IP address),
          V(rejected: private address (RFC 1918\)) or V(no answer within the time budget).'
        - It is V(null) on success.
      type: str
    accepted:
      description: Whether the answer was a valid address that counted.
      type: bool
  sample:
    - name: opendns1_a
      kind: dns
      family: 4
      answer: 198.51.100.7
      latency_ms: 18
      error: null
      accepted: true
disagreement:
  description: The distinct accepted answers for each family when they differ, and V([]) when
    they agree. Only answers that arrived before the result settled are included.
  returned: always
  type: dict
  contains:
    ipv4:
      description: The distinct IPv4 answers.
      type: list
      elements: str
    ipv6:
      description: The distinct IPv6 answers.
      type: list
      elements: str
  sample:
    ipv4: []
    ipv6: []
dns_client:
  description: The DNS client that was used. V(dnspython) when it is installed, otherwise V(builtin).
  returned: always
  type: str
  sample: dnspython
notes:
  description: Things that were skipped, such as UPnP without miniupnpc or a missing C(ip) command.
  returned: always
  type: list
  elements: str
  sample: []
elapsed_ms:
  description: The time the lookup took, in milliseconds.
  returned: always
  type: int
  sample: 42
"""

import ipaddress
import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _addresses, _ssdp
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip import host as ip_host
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip import racing as ip_racing
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip import sources as ip_sources
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip import verdict as ip_verdict
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def argument_spec():
    return dict(
        ip_versions=dict(type="list", elements="int", choices=[4, 6], default=[4, 6]),
        timeout=dict(type="float", default=ip_sources.DEFAULT_TIMEOUT),
        min_agreement=dict(type="int", default=1),
        dns_sources=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                server=dict(type="str", required=True),
                port=dict(type="int", default=53),
                query=dict(type="str", required=True),
                rdtype=dict(type="str", required=True, choices=["A", "AAAA", "TXT"]),
            ),
        ),
        http_sources=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                url=dict(type="str", required=True),
                family=dict(type="int", choices=[4, 6]),
            ),
        ),
        extra_http_urls=dict(type="list", elements="str", default=[]),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        allow_ranges=dict(type="list", elements="str", default=[]),
        wan_source=dict(type="str", choices=list(ip_verdict.WAN_SOURCES), default="auto"),
        wan_address=dict(type="str"),
        ignore_interfaces=dict(type="list", elements="str", default=[]),
    )


def _check_options(module):
    """Checks the argument spec cannot express; fail_json names the option."""
    p = module.params
    if not p["ip_versions"]:
        module.fail_json(msg="ip_versions is empty; give [4], [6] or [4, 6]")
    if p["timeout"] is None or not p["timeout"] > 0:
        module.fail_json(msg="timeout must be more than 0 seconds, got %r; the default is 5" % p["timeout"])
    if p["min_agreement"] < 1:
        module.fail_json(
            msg="min_agreement must be 1 or more, got %d; 1 takes the first valid answer" % p["min_agreement"]
        )
    try:
        allow_ranges = _addresses.parse_ranges(p["allow_ranges"])
    except ValueError as exc:
        module.fail_json(msg="allow_ranges: %s" % exc)
    if p["wan_address"] is not None:
        if p["wan_source"] != "value":
            module.fail_json(
                msg="wan_address is only used with wan_source=value, but wan_source is %s; "
                "set wan_source: value or remove wan_address" % p["wan_source"]
            )
        try:
            wan = ipaddress.ip_address(p["wan_address"].strip())
        except ValueError:
            wan = None
        if wan is None or wan.version != 4:
            module.fail_json(
                msg="wan_address %r is not an IPv4 address; give the router's WAN IPv4 address "
                "as shown on its status page" % p["wan_address"]
            )
        p["wan_address"] = str(wan)
    versions = tuple(sorted(set(p["ip_versions"])))
    try:
        sources = ip_sources.build_sources(p["dns_sources"], [], None, versions)
    except ValueError as exc:
        module.fail_json(msg="dns_sources: %s" % exc)
    try:
        sources += ip_sources.build_sources([], p["http_sources"], p["extra_http_urls"], versions)
    except ValueError as exc:
        module.fail_json(msg="http_sources/extra_http_urls: %s" % exc)
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        module.fail_json(
            msg="source name %r is used in both dns_sources and http_sources; names must be unique" % duplicates[0]
        )
    if not sources:
        module.fail_json(
            msg="no source to ask: dns_sources, http_sources and extra_http_urls give none for ip_versions %s; "
            "add a source or leave dns_sources/http_sources unset for the built-in lists" % list(versions)
        )
    return versions, allow_ranges, sources


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("wan_source", "value", ("wan_address",))],
        supports_check_mode=True,
    )
    p = module.params
    versions, allow_ranges, sources = _check_options(module)
    notes = []

    miniupnpc = None
    if p["wan_source"] in ("auto", "upnp"):
        miniupnpc = ip_host.import_miniupnpc()
        if miniupnpc is None:
            if p["wan_source"] == "upnp":
                module.fail_json(msg=missing_required_lib("miniupnpc", reason="for wan_source=upnp"))
            notes.append("UPnP skipped: the miniupnpc Python library is not installed")

    started = time.monotonic()
    deadline = started + p["timeout"]
    upnp_job = None
    if miniupnpc is not None:
        upnp_job = ip_racing.run_daemon(ip_host.upnp_external_address, miniupnpc, p["timeout"], _ssdp.find_igd)

    host = None
    if p["wan_source"] in ("auto", "interfaces"):
        host = _read_interfaces(module, allow_ranges, notes)

    result = ip_racing.race(
        sources,
        ip_versions=versions,
        min_agreement=p["min_agreement"],
        allow_ranges=allow_ranges,
        validate_certs=p["validate_certs"],
        ca_path=p["ca_path"],
        deadline=deadline,
    )

    upnp_address = None
    if upnp_job is not None:
        outcome = upnp_job.wait(deadline)
        if outcome is None:
            notes.append("UPnP: no answer from the router within the time budget")
        elif outcome[1] is not None:
            notes.append("UPnP failed: %s" % (outcome[1],))
        elif outcome[0] is None:
            notes.append("UPnP: no Internet Gateway Device answered")
        else:
            upnp_address = outcome[0]

    ipv4 = result.addresses.get(4)
    ipv6 = result.addresses.get(6)
    wan, wan_used, wan_label = ip_verdict.choose_wan(
        p["wan_source"], public_ipv4=ipv4, value=p["wan_address"], host=host, upnp_address=upnp_address
    )
    classification, forwarding, explanation = ip_verdict.classify(
        ipv4,
        ipv6,
        wan,
        host=host,
        any_answer=result.any_accepted,
        ip_versions=versions,
        timeout=p["timeout"],
        wan_label=wan_label,
    )
    if wan == ip_host.NO_EXTERNAL_ADDRESS:
        notes.append("UPnP: the router reports no usable external address")
    module.exit_json(
        changed=False,
        ipv4=ipv4,
        ipv6=ipv6,
        ipv6_global=bool(ipv6) or bool(host is not None and host.has_global(6)),
        ipv6_host_addresses=host.global_list(6) if host is not None else [],
        wan_address=wan or None,
        wan_source_used=wan_used,
        classification=classification,
        port_forwarding_possible=forwarding,
        explanation=explanation,
        port_forwarding_advice=(_addresses.forwarding_impossible(explanation[:1].lower() + explanation[1:])
                                if forwarding is False else None),
        sources=result.reports,
        disagreement={"ipv4": result.disagreement[4], "ipv6": result.disagreement[6]},
        dns_client=result.dns_client,
        notes=notes,
        elapsed_ms=int(round((time.monotonic() - started) * 1000)),
    )


def _read_interfaces(module, allow_ranges, notes):
    """HostAddresses from `ip -j addr`, or None (with a note, or a failure for interfaces)."""
    explicit = module.params["wan_source"] == "interfaces"
    ip_bin = module.get_bin_path("ip")
    if ip_bin is None:
        if explicit:
            module.fail_json(
                msg="wan_source=interfaces needs the ip command (iproute2), which is not installed; "
                "install it or use wan_source=auto or value"
            )
        notes.append("interfaces skipped: the ip command (iproute2) is not installed")
        return None
    rc, out, err = module.run_command([ip_bin, "-j", "addr", "show"])
    pairs = None
    if rc == 0:
        try:
            pairs = ip_host.parse_ip_json_addr(out)
        except ValueError:
            pairs = None
    if pairs is None:
        message = "`ip -j addr show` failed (rc=%d): %s" % (rc, (err or out or "no JSON output").strip()[:200])
        if explicit:
            module.fail_json(msg="wan_source=interfaces: %s; use wan_source=auto or value" % message)
        notes.append("interfaces skipped: %s" % message)
        return None
    return ip_host.host_addresses(pairs, allow_ranges, module.params["ignore_interfaces"])


if __name__ == "__main__":
    main()
