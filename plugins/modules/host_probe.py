#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_probe
short_description: Look at packages, files, units, nftables tables and users in one read-only call
version_added: 0.1.0
description:
  - One task answers what a role's later tasks decide on, so that an unchanged re-run skips
    them instead of making one round trip each to find nothing to do (the collection's roles
    call it first; see CONTRIBUTING.md, "Read-only probes").
  - Never changes the host; runs the same in check mode.
  - Returns no file content except the JSON objects in O(json_files); the hashes in RV(sha1)
    reveal nothing of a key or password file.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  packages:
    description: Debian packages; RV(missing_packages) lists those not installed.
    type: list
    elements: str
    default: []
  paths:
    description: Paths whose mode, owner and group RV(paths) gives (a link itself, not its target).
    type: list
    elements: path
    default: []
  files:
    description: Files whose content's SHA-1 RV(sha1) gives.
    type: list
    elements: path
    default: []
  units:
    description: systemd units whose enabled and active state RV(units) gives.
    type: list
    elements: str
    default: []
  nft_tables:
    description: nftables tables as C(<family> <name>), for example C(inet jellyfin_remote_port_forward).
    type: list
    elements: str
    default: []
  users:
    description: Accounts whose existence RV(users) gives.
    type: list
    elements: str
    default: []
  json_files:
    description:
      - Files holding a JSON object whose content RV(json) returns. Name only files that hold
        no secret (a role's own record, such as the router mappings it made).
    type: list
    elements: path
    default: []
  sysctls:
    description:
      - Kernel parameters (for example C(net.ipv4.ip_forward)) whose value now, and whether
        O(sysctl_file) sets that value, RV(sysctl) gives.
    type: list
    elements: str
    default: []
  sysctl_file:
    description:
      - The role's own sysctl file, read as C(ansible.posix.sysctl) reads it (C(key = value)
        lines, the last one for a key wins) for RV(sysctl)'s C(in_file).
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: debian
"""

EXAMPLES = r"""
- name: Look at the host
  homelab.jellyfin_remote.host_probe:
    packages: [caddy]
    paths: [/etc/caddy/Caddyfile]
    files: [/etc/caddy/Caddyfile]
    units: [caddy.service]
  register: probe

- name: Write the Caddyfile only where it differs
  ansible.builtin.template:
    src: Caddyfile.j2
    dest: /etc/caddy/Caddyfile
    mode: "0644"
  when: >-
    probe.paths['/etc/caddy/Caddyfile'] != '644 root root'
    or probe.sha1['/etc/caddy/Caddyfile'] != lookup('ansible.builtin.template', 'Caddyfile.j2') | hash('sha1')
"""

RETURN = r"""
missing_packages:
  description: The names in O(packages) that are not installed, in the order given.
  returned: always
  type: list
  elements: str
paths:
  description: For each of O(paths), C(<octal mode> <owner> <group>) (for example C(644 root root)), or C(absent).
  returned: always
  type: dict
sha1:
  description: For each of O(files), the SHA-1 of its content, or null when it is absent or unreadable.
  returned: always
  type: dict
units:
  description: For each of O(units), C(enabled) and C(active) (booleans).
  returned: always
  type: dict
nft_tables:
  description: For each of O(nft_tables), whether the table is loaded.
  returned: always
  type: dict
users:
  description: For each of O(users), whether the account exists.
  returned: always
  type: dict
json:
  description: For each of O(json_files), its JSON object, or null when it is absent, unreadable or not an object.
  returned: always
  type: dict
sysctl:
  description:
    - For each of O(sysctls), C(value), its value now (null when it cannot be read), and
      C(in_file), whether O(sysctl_file) sets it to that same value. A task that wants the
      value C(1) in the file and in the kernel has nothing to do when C(value) is C(1) and
      C(in_file) is true (the shape roles/_vpn's C(_vpn_sysctl_seen) takes).
  returned: always
  type: dict
  sample: {net.ipv4.ip_forward: {value: "1", in_file: true}}
os_release:
  description:
    - The distribution as C(/etc/os-release) names it, in lower case (what the setup module's
      C(distribution) and C(distribution_release) facts give), so a role needs no fact gathering
      for it; empty strings when the file does not say.
  returned: always
  type: dict
  sample: {id: debian, version_codename: bookworm}
"""

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_probe
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule

_LISTS = ("packages", "paths", "files", "units", "nft_tables", "users", "json_files", "sysctls")


def main():
    argument_spec = {name: dict(type="list", elements="path" if name in ("paths", "files", "json_files") else "str",
                                default=[]) for name in _LISTS}
    argument_spec["sysctl_file"] = dict(type="path")
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
    )
    for name in _LISTS:
        for value in module.params[name]:
            problem = _host_probe.check(name, value)
            if problem:
                module.fail_json(msg=problem)

    def run(argv):
        program = module.get_bin_path(argv[0])
        if not program:
            return "", 127
        rc, out, _err = module.run_command([program] + list(argv[1:]), environ_update={"LC_ALL": "C"})
        return out, rc

    if module.params["sysctl_file"] and "\x00" in module.params["sysctl_file"]:
        module.fail_json(msg="sysctl_file: the path holds a NUL character; give one without")
    module.exit_json(changed=False, **_host_probe.probe(run, sysctl_file=module.params["sysctl_file"],
                                                        **{name: module.params[name] for name in _LISTS}))


if __name__ == "__main__":
    main()
