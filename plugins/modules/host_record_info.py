#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_record_info
short_description: Read the record of what homelab.jellyfin_remote set up on a host
version_added: 0.1.0
description:
  - Reads the host record that M(homelab.jellyfin_remote.host_record) keeps. A host without a
    record returns empty results (nothing was set up, or everything was removed).
  - A record that is not the collection's JSON fails with its path and what to do.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  section:
    description: A section to return on its own as RV(section).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - homelab.jellyfin_remote.host_record
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: homelab.jellyfin_remote.host_record
"""

EXAMPLES = r"""
- name: Read what the reverse proxy role set up here
  homelab.jellyfin_remote.host_record_info:
    section: reverse_proxy
  register: recorded
"""

RETURN = r"""
record:
  description: Every section of the record; empty when there is no record.
  returned: always
  type: dict
section:
  description: The data of O(section); empty when the section (or the record) is missing or O(section) was not given.
  returned: always
  type: dict
"""

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_record
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            section=dict(type="str"),
            path=dict(type="path", default=_host_record.DEFAULT_PATH),
        ),
        supports_check_mode=True,
    )
    try:
        record = _host_record.read(module.params["path"])
    except _host_record.HostRecordError as exc:
        module.fail_json(msg="%s: %s" % (exc.option, exc) if exc.option else str(exc))
    section = record.get(module.params["section"]) if module.params["section"] else None
    module.exit_json(changed=False, record=record, section=section or {})


if __name__ == "__main__":
    main()
