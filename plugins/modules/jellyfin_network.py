#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jellyfin_network
short_description: Manage Jellyfin's network settings in network.xml
version_added: 0.1.0
description:
  - Sets the network settings of a Jellyfin server in its C(network.xml) file (base URL, ports,
    HTTPS, remote access, IPv4/IPv6, known proxies, local networks, bind addresses and the remote
    IP filter).
  - Only the settings given are changed. Every other element of the file, also ones this module
    does not know, stays where it is with its attributes, children and comments.
  - The file is written the way Jellyfin writes it (UTF-8, declaration, two-space indentation,
    C(<Name />) for empty values, C(<string>) items for lists); the BOM, newline style and
    indentation of an existing file are kept. When the settings already match, the file is not
    written.
  - A missing file is created with Jellyfin's defaults for every element, in Jellyfin's order.
  - The file is replaced atomically; it never exists with a wider mode than the final one.
  - Every setting it changes is recorded in the host record (section C(jellyfin_network), see
    M(homelab.jellyfin_remote.host_record)), the value the setting had before the first change (the
    owner's original) and what was set; for a list, the entries added and removed. Later runs keep
    the first original. O(state=absent) and O(restore) put the settings back from it.
author:
  - jellyfin_remote developers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Predicts exactly whether the file would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the file before and after; the certificate password is masked.
  platform:
    support: full
    platforms: posix
options:
  path:
    description:
      - The network.xml file (in Jellyfin's configuration directory).
      - Its parent directory must exist.
    type: path
    default: /etc/jellyfin/network.xml
  state:
    description:
      - V(present) applies the settings given (and O(restore)), recording what it changes.
      - V(absent) puts every setting this collection changed back to its recorded original, then
        drops the file's record. For a list only the entries the collection added are removed (and
        the owner's entries it removed come back); entries the owner added since stay. A setting the
        owner changed after the collection set it stays as the owner set it, with a warning. No
        setting option and no O(restore) may be given with it. Without a record nothing is changed
        (the file is not even read).
    type: str
    choices: [present, absent]
    default: present
  restore:
    description:
      - Settings, by option name, that are no longer wanted; each goes back to its recorded
        original (the rules of O(state=absent)) in the same write as the settings given.
      - They are put back first, then the settings given are applied; an option named here and
        given too ends with the given value (for a list, the owner's entries plus the given ones,
        without the entries the collection added before).
      - A name without a record changes nothing.
    type: list
    elements: str
    choices: [base_url, enable_https, require_https, certificate_path, certificate_password, internal_http_port,
              internal_https_port, public_http_port, public_https_port, auto_discovery, enable_upnp, enable_ipv4,
              enable_ipv6, enable_remote_access, local_network_subnets, local_network_addresses, known_proxies,
              remote_ip_filter, remote_ip_filter_mode]
    default: []
  record_path:
    description:
      - The host record file; this module keeps its section C(jellyfin_network) in it, one entry per
        network.xml path.
      - The record holds values and list entries, never a password; for the certificate password
        only whether the owner had one (an owner's password cannot be put back, a warning says so).
    type: path
    default: /var/lib/jellyfin-remote/state.json
  public_info:
    description:
      - Also ask Jellyfin on this host for its public system information (C(GET /System/Info/Public)
        at the address the settings give, as the P(homelab.jellyfin_remote.jellyfin_local_url#filter)
        filter builds it), returned as RV(public_info). Read-only, also in check mode. No
        credential is sent, and the certificate of Jellyfin's own HTTPS (to which
        C(RequireHttps) redirects) is not checked, the address being this host's.
      - Saves a separate M(ansible.builtin.uri) call where the settings and Jellyfin's version
        are both read.
    type: bool
    default: false
  list_mode:
    description:
      - How every list option given in the task (O(known_proxies), O(local_network_subnets),
        O(local_network_addresses), O(remote_ip_filter)) is applied.
      - V(present) adds the missing entries and keeps the others, so several roles can each add
        their own.
      - V(absent) removes the given entries.
      - V(exact) makes the list equal to the given one, in its order.
      - A list option that is not given is never touched.
      - Entries are compared canonically (IPv6 compressed, networks normalized, hostnames without
        regard to case).
    type: str
    choices: [present, absent, exact]
    default: present
  known_proxies:
    description:
      - Reverse proxies and tunnels whose C(X-Forwarded-*) headers Jellyfin trusts
        (C(KnownProxies)), given as IP addresses, CIDR networks or hostnames.
      - Since Jellyfin 10.10.7 an empty list means the forwarded headers are ignored, so behind a
        proxy every client looks like the proxy.
    type: list
    elements: str
  local_network_subnets:
    description:
      - Networks that count as the LAN (C(LocalNetworkSubnets)), given as IP addresses or CIDR networks.
        Add a VPN network when VPN clients should stream like LAN clients.
    type: list
    elements: str
  local_network_addresses:
    description:
      - Addresses Jellyfin binds to (C(LocalNetworkAddresses)); an empty list means every
        interface. IP addresses only.
    type: list
    elements: str
  remote_ip_filter:
    description:
      - Remote addresses the filter applies to (C(RemoteIPFilter)), given as IP addresses or CIDR
        networks. See O(remote_ip_filter_mode).
    type: list
    elements: str
  remote_ip_filter_mode:
    description:
      - V(allow) treats O(remote_ip_filter) as an allow list, V(deny) as a block list
        (C(IsRemoteIPFilterBlacklist) false or true). Jellyfin's default is V(allow).
    type: str
    choices: [allow, deny]
  base_url:
    description:
      - URL path prefix Jellyfin is served under (C(BaseUrl)), for example V(/jellyfin).
      - Normalized as Jellyfin does it (a leading C(/) added, a trailing C(/) removed).
        V("") removes the prefix.
      - Spaces, C(?), C(#), C(\), empty, C(.) and C(..) segments and a full URL are refused.
    type: str
  internal_http_port:
    description: Port Jellyfin listens on for HTTP (C(InternalHttpPort)); Jellyfin's default is 8096.
    type: int
  internal_https_port:
    description: Port Jellyfin listens on for HTTPS (C(InternalHttpsPort)); Jellyfin's default is 8920.
    type: int
  public_http_port:
    description:
      - C(PublicHttpPort); Jellyfin's default is 8096.
      - Read by nothing since Jellyfin 10.11 (only its UPnP port forwarding used it, and that is
        gone); kept for older servers. Clients reach the port the router or proxy forwards.
    type: int
  public_https_port:
    description:
      - C(PublicHttpsPort); Jellyfin's default is 8920.
      - Read by nothing since Jellyfin 10.11, like O(public_http_port).
    type: int
  enable_https:
    description: Serve HTTPS from Jellyfin itself (C(EnableHttps)); needs O(certificate_path).
    type: bool
  require_https:
    description:
      - Redirect plain HTTP to Jellyfin's HTTPS port (C(RequireHttps)), with 307, when HTTPS is
        listening (O(enable_https) and a certificate that loads).
      - Every client is redirected, LAN and loopback ones too, so LAN apps that use
        C(http://<lan-ip>:8096) are sent to C(https://<lan-ip>:8920) and meet a certificate issued
        for the public name. Jellyfin sends no HSTS header.
    type: bool
  enable_remote_access:
    description: Allow connections from outside the local networks (C(EnableRemoteAccess)).
    type: bool
  enable_ipv4:
    description: Listen on IPv4 (C(EnableIPv4)).
    type: bool
  enable_ipv6:
    description: Listen on IPv6 (C(EnableIPv6)).
    type: bool
  auto_discovery:
    description: Answer client discovery on UDP port 7359 (C(AutoDiscovery)).
    type: bool
  certificate_path:
    description: PKCS#12 certificate file for Jellyfin's own HTTPS (C(CertificatePath)); V("") clears it.
    type: path
  certificate_password:
    description:
      - Password of the PKCS#12 file (C(CertificatePassword)); V("") clears it.
      - Never shown in output or diffs.
    type: str
  enable_upnp:
    description:
      - Automatic port forwarding by UPnP (C(EnableUPnP)).
      - Needs O(jellyfin_version); refused for Jellyfin 10.11.0 and later, which no longer has
        the setting.
    type: bool
  jellyfin_version:
    description:
      - Version of the Jellyfin server, for example V(10.11.10).
      - Decides whether O(enable_upnp) is allowed and whether a new file gets C(EnableUPnP)
        (only before 10.11.0).
      - When older than 10.11.10 the module warns that CVE-2026-35031, CVE-2026-35033
        (fixed in 10.11.7), GHSA-f47c-m7gr-q92j, GHSA-jg92-mrxq-vv75 and GHSA-wwwm-px48-fpvq
        (fixed in 10.11.10) are open.
    type: str
  mode:
    description:
      - An existing file keeps its mode unless O(mode) is given; a new file gets V('0640').
  owner:
    description:
      - An existing file keeps its owner unless O(owner) is given; a new file gets the owner of
        its parent directory.
  group:
    description:
      - An existing file keeps its group unless O(group) is given; a new file gets the group of
        its parent directory.
notes:
  - Jellyfin reads network.xml only when it starts; restart the server (for example from a
    handler) after a change.
  - One value Jellyfin cannot convert (a boolean other than C(true), C(false), C(1), C(0) -
    case-sensitive -, a number that is not a whole Int32) makes Jellyfin 10.11 ignore the whole
    file and run on its defaults, with C(/health) still green. The module refuses such a file,
    naming the element, and leaves it unchanged.
  - C(EnableUPnP) is obsolete from 10.11.0; Jellyfin 12 (.NET 10) writes obsolete members again,
    so the element can reappear after an upgrade. It is left alone and never counts as a change.
  - Pre-10.7 names (C(PublicPort), C(HttpServerPortNumber), C(HttpsPortNumber), C(EnableIPV6),
    C(UPnPCreateHttpPortMap)) are ignored by Jellyfin; the module warns when it finds them and
    leaves them in place.
  - When a setting changes in a hand-written file, the whole file is written in Jellyfin's layout
    (with the file's own indentation unit and newlines).
  - The record is written before network.xml when settings are set, and dropped after network.xml
    is written back when they are put back, so an interrupted run leaves a record that a later
    O(state=absent) can still use.
seealso:
  - module: homelab.jellyfin_remote.host_record_info
    description: Reads the record (section C(jellyfin_network)).
  - name: Jellyfin networking documentation
    description: What each network setting does.
    link: https://jellyfin.org/docs/general/networking/
"""

EXAMPLES = r"""
- name: Trust the local reverse proxy and serve Jellyfin under /jellyfin
  homelab.jellyfin_remote.jellyfin_network:
    known_proxies:
      - 127.0.0.1
      - ::1
    base_url: /jellyfin
    jellyfin_version: 10.11.10
  notify: Restart Jellyfin

- name: Count the WireGuard network as local
  homelab.jellyfin_remote.jellyfin_network:
    local_network_subnets:
      - 192.168.1.0/24
      - 10.13.13.0/24

- name: Remove an old proxy address, keep the others
  homelab.jellyfin_remote.jellyfin_network:
    known_proxies:
      - 192.168.1.5
    list_mode: absent

- name: The proxy is gone and WireGuard comes, so put KnownProxies back and count the VPN as local
  homelab.jellyfin_remote.jellyfin_network:
    restore: [known_proxies, base_url]
    local_network_subnets:
      - 10.13.13.0/24
  notify: Restart Jellyfin

- name: Put back every setting this collection changed
  homelab.jellyfin_remote.jellyfin_network:
    state: absent
  notify: Restart Jellyfin

- name: Set exactly these proxies, HTTPS from Jellyfin itself
  homelab.jellyfin_remote.jellyfin_network:
    path: /var/lib/jellyfin/config/network.xml
    known_proxies:
      - proxy.home.arpa
    list_mode: exact
    enable_https: true
    certificate_path: /etc/jellyfin/jellyfin.pfx
    certificate_password: "{{ jellyfin_pfx_password }}"
    owner: jellyfin
    group: jellyfin
    mode: "0640"
  no_log: true
"""

RETURN = r"""
public_info:
  description:
    - With O(public_info), the JSON object Jellyfin answered (its version, server name and Id,
      C(StartupWizardCompleted)); an empty dict when it did not answer with one (not running,
      another program on the port).
  returned: when O(public_info) is true
  type: dict
  sample: {Version: 10.10.7, StartupWizardCompleted: true}
path:
  description: The network.xml file.
  returned: always
  type: str
  sample: /etc/jellyfin/network.xml
created:
  description: Whether the file did not exist and was (or in check mode would be) created.
  returned: always
  type: bool
  sample: false
changed_settings:
  description:
    - Elements whose content changed (or in check mode would change), in the file's order.
    - Empty when the file already holds every setting given; a run in check mode after
      Jellyfin restarted shows which settings Jellyfin did not keep.
  returned: always
  type: list
  elements: str
  sample: [KnownProxies, LocalNetworkSubnets]
network:
  description:
    - The managed settings as they are (or in check mode would be) after the task.
    - "{} when O(state=absent) had nothing recorded to put back (the file is then not read)."
  returned: always
  type: dict
  contains:
    base_url:
      description: C(BaseUrl), normalized.
      type: str
      sample: /jellyfin
    enable_https:
      description: C(EnableHttps).
      type: bool
    require_https:
      description: C(RequireHttps).
      type: bool
    certificate_path:
      description: C(CertificatePath).
      type: str
    certificate_password:
      description: C(********) when a password is set, V("") when none; never the password.
      type: str
    internal_http_port:
      description: C(InternalHttpPort).
      type: int
      sample: 8096
    internal_https_port:
      description: C(InternalHttpsPort).
      type: int
      sample: 8920
    public_http_port:
      description: C(PublicHttpPort).
      type: int
      sample: 8096
    public_https_port:
      description: C(PublicHttpsPort).
      type: int
      sample: 8920
    auto_discovery:
      description: C(AutoDiscovery).
      type: bool
    enable_upnp:
      description: C(EnableUPnP), or null when the file has no such element (always so for 10.11).
      type: bool
    enable_ipv4:
      description: C(EnableIPv4).
      type: bool
    enable_ipv6:
      description: C(EnableIPv6).
      type: bool
    enable_remote_access:
      description: C(EnableRemoteAccess).
      type: bool
    local_network_subnets:
      description: C(LocalNetworkSubnets).
      type: list
      elements: str
    local_network_addresses:
      description: C(LocalNetworkAddresses).
      type: list
      elements: str
    known_proxies:
      description: C(KnownProxies).
      type: list
      elements: str
      sample: [127.0.0.1]
    remote_ip_filter:
      description: C(RemoteIPFilter).
      type: list
      elements: str
    remote_ip_filter_mode:
      description: V(deny) when C(IsRemoteIPFilterBlacklist) is true, else V(allow).
      type: str
      sample: allow
restored:
  description:
    - The recorded settings that O(state=absent) or O(restore) dealt with, in the file's order.
  returned: always
  type: list
  elements: dict
  contains:
    setting:
      description: The element, for example C(KnownProxies).
      type: str
    option:
      description: The module option for it, for example C(known_proxies).
      type: str
    outcome:
      description:
        - V(restored) (put back), V(unchanged) (it already held the original), V(kept) (the owner changed it
          after the collection did, so it was left as it is, with a warning), V(unknown) (an owner's password,
          never recorded, so left as it is, with a warning).
      type: str
    before:
      description: The value before the task (a password as C(********)).
      type: raw
    after:
      description: The value after the task (a password as C(********)).
      type: raw
    text:
      description: One line saying what was put back, for a list of what was closed.
      type: str
      sample: "Jellyfin setting KnownProxies: removed 192.168.1.10"
recorded:
  description:
    - What the record holds for this file after the task (or in check mode would hold), by element;
      {} when nothing is recorded.
    - A scalar as C({original, set}), a list as C({original, added, removed}); the certificate password
      as C(CertificatePasswordPresence) C({original_empty}) only.
  returned: always
  type: dict
  sample: {"KnownProxies": {"original": [], "added": ["192.168.1.10"], "removed": []},
           "BaseUrl": {"original": "", "set": "/jellyfin"}}
diff:
  description: The file text before and after, certificate password masked; with C(--diff) only.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: File text before (empty for a new file).
      type: str
    after:
      description: File text after.
      type: str
    before_header:
      description: The path.
      type: str
    after_header:
      description: The path.
      type: str
"""

import json
import stat

from ansible.module_utils.urls import open_url

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_record
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    LIST_MODES,
    LIST_OPTIONS,
    OPTION_ELEMENTS,
    local_url,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network_task import (
    BOOL_OPTIONS,
    PORT_OPTIONS,
    TaskError,
    ensure,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def argument_spec():
    spec = dict(
        path=dict(type="path", default="/etc/jellyfin/network.xml"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        restore=dict(type="list", elements="str", choices=list(OPTION_ELEMENTS), default=[]),
        record_path=dict(type="path", default=_host_record.DEFAULT_PATH),
        list_mode=dict(type="str", choices=list(LIST_MODES), default="present"),
        remote_ip_filter_mode=dict(type="str", choices=["allow", "deny"]),
        base_url=dict(type="str"),
        certificate_path=dict(type="path"),
        certificate_password=dict(type="str", no_log=True),
        jellyfin_version=dict(type="str"),
        public_info=dict(type="bool", default=False),
    )
    for option in LIST_OPTIONS:
        spec[option] = dict(type="list", elements="str")
    for option in PORT_OPTIONS:
        spec[option] = dict(type="int")
    for option in BOOL_OPTIONS:
        spec[option] = dict(type="bool")
    return spec


class _Stat:
    """The one field AnsibleModule's symbolic mode parser reads from a stat result."""

    def __init__(self, mode):
        self.st_mode = stat.S_IFREG | mode


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        add_file_common_args=True,
        required_by={"enable_upnp": "jellyfin_version"},
    )

    def symbolic_mode(current, text):
        return module._symbolic_mode_to_octal(_Stat(current), text)

    def fs_attributes(mode, uid, gid, changed):
        # Owner, group and mode as ensure() resolved them (an empty owner means "not given", a
        # bad mode was refused): core's own parser would trip over the raw values.
        file_args = module.load_file_common_arguments(dict(module.params, mode=mode, owner=uid, group=gid))
        return module.set_fs_attributes_if_different(file_args, changed)

    try:
        result = ensure(module.params, symbolic_mode, fs_attributes, module.check_mode, module._diff, module.warn)
    except TaskError as exc:
        # Settings that cannot be read: Jellyfin is still asked, at its default address.
        extra = {"public_info": public_info({})} if module.params["public_info"] else {}
        module.fail_json(msg=str(exc), **extra)
    if module.params["public_info"]:
        result["public_info"] = public_info(result.get("network") or {})
    module.exit_json(**result)


def public_info(network, timeout=10):
    """Jellyfin's answer to GET <local URL>/System/Info/Public as a dict; {} for no answer,
    another status, or anything but a JSON object."""
    try:
        response = open_url(local_url(network) + "/System/Info/Public", method="GET", timeout=timeout,
                            validate_certs=False, follow_redirects="all", headers={"Accept": "application/json"})
        answer = json.loads(response.read(1024 * 1024).decode("utf-8"))
    except Exception:  # no answer, an HTTP error, a bad port in the settings, not JSON: "did not answer"
        return {}
    return answer if isinstance(answer, dict) else {}


if __name__ == "__main__":
    main()
