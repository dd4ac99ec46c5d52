#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_record
short_description: Keep the record of what homelab.jellyfin_remote set up on a host
version_added: 0.1.0
description:
  - Sets or drops one section of the host record, a JSON file (root, mode C(0600), written
    atomically) that says what the collection's roles set up on this host. Removal
    (C(<role>_state=absent)) and the site playbook's switch of method read it, so they act on what
    the host holds even after the inventory changed.
  - Each role keeps its own section (names, paths, ports, prior values it replaced); the site
    playbook keeps the section C(site). Read it with M(homelab.jellyfin_remote.host_record_info).
  - The record never holds a secret; data whose keys name one (C(password), C(token), C(secret),
    C(private_key), C(psk), ...) is refused. Record the path of a secret, not the secret.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  section:
    description: The section's name, lower-case letters, digits and C(_) (by convention the role's name).
    type: str
    required: true
  data:
    description: The section's content (JSON values only). Replaces what the section held. Required when O(state=present).
    type: dict
  state:
    description: V(present) sets the section to O(data); V(absent) drops it (the file goes with its last section).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - homelab.jellyfin_remote.host_record
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The section's JSON before and after.
  platform:
    support: full
    platforms: posix
seealso:
  - module: homelab.jellyfin_remote.host_record_info
"""

EXAMPLES = r"""
- name: Remember the proxy's site file and whether nginx was enabled before the role
  homelab.jellyfin_remote.host_record:
    section: reverse_proxy
    data:
      flavour: nginx
      site: /etc/nginx/sites-available/jellyfin.conf
      enabled_services: [nginx.service]

- name: Forget it once the proxy is removed
  homelab.jellyfin_remote.host_record:
    section: reverse_proxy
    state: absent
"""

RETURN = r"""
record:
  description: Every section of the record after the change (as it would be, in check mode).
  returned: always
  type: dict
  sample: {"site": {"method": "tailscale"}}
section:
  description: The section's data after the change; empty when it was dropped.
  returned: always
  type: dict
"""

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_record
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            section=dict(type="str", required=True),
            data=dict(type="dict"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            path=dict(type="path", default=_host_record.DEFAULT_PATH),
        ),
        required_if=[("state", "present", ["data"])],
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = _host_record.update(p["path"], p["section"], p["data"], p["state"], check_mode=module.check_mode)
    except _host_record.HostRecordError as exc:
        module.fail_json(msg="%s: %s" % (exc.option, exc) if exc.option else str(exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
