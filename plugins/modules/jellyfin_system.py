#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jellyfin_system
short_description: Manage Jellyfin's server settings in system.xml (remote streaming bitrate limit)
version_added: 0.1.0
description:
  - Sets server settings of a Jellyfin server in its C(system.xml) file (C(ServerConfiguration)); today
    the bitrate limit of remote streams (C(RemoteClientBitrateLimit)).
  - The file is read and written with the machinery of M(homelab.jellyfin_remote.jellyfin_network)
    (Jellyfin's own layout; an untouched file stays byte for byte; every element this module does not
    manage, also unknown ones, stays as it is). The file keeps its owner and mode; it is replaced
    atomically.
  - Every setting it changes is recorded in the host record (section C(jellyfin_system)), the owner's
    original and what was set; later runs keep the first original. O(state=absent) and O(restore) put
    settings back from it.
author:
  - jellyfin_remote developers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description: Predicts exactly whether the file would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the file before and after.
  platform:
    support: full
    platforms: posix
options:
  path:
    description:
      - The system.xml file (in Jellyfin's configuration directory). It must exist; Jellyfin writes it
        at its first start (a file made here would miss every other server setting).
    type: path
    default: /etc/jellyfin/system.xml
  state:
    description:
      - V(present) applies the settings given (and O(restore)), recording what it changes.
      - V(absent) puts every setting this collection changed back to its recorded original, then drops
        the file's record; a setting the owner changed after the collection set it stays as the owner set
        it, with a warning. No setting and no O(restore) may be given with it.
    type: str
    choices: [present, absent]
    default: present
  restore:
    description:
      - Settings, by option name, put back to their recorded originals before the settings given are applied.
    type: list
    elements: str
    choices: [remote_client_bitrate_limit]
    default: []
  record_path:
    description: The host record file; this module keeps its section C(jellyfin_system) in it.
    type: path
    default: /var/lib/jellyfin-remote/state.json
  remote_client_bitrate_limit:
    description:
      - C(RemoteClientBitrateLimit), in bits per second, for each stream to a client outside Jellyfin's local
        networks (C(LocalNetworkSubnets)); V(0) means no limit (Jellyfin's default). A user's own limit wins
        when it is above 0.
    type: int
notes:
  - Jellyfin reads system.xml when it starts and rewrites the whole file when a setting is saved from its
    dashboard; restart it after a change (for example from a handler).
  - A value Jellyfin cannot convert makes it replace the whole file by its defaults (every server setting
    lost, the startup wizard not done). The module refuses such a file, naming the element, and leaves it
    unchanged.
seealso:
  - module: homelab.jellyfin_remote.jellyfin_network
"""

EXAMPLES = r"""
- name: Limit each remote stream to 8 Mbit/s
  homelab.jellyfin_remote.jellyfin_system:
    remote_client_bitrate_limit: 8000000
  notify: Restart Jellyfin

- name: Put the server settings back as they were before this collection
  homelab.jellyfin_remote.jellyfin_system:
    state: absent
  notify: Restart Jellyfin
"""

RETURN = r"""
path:
  description: The system.xml file.
  returned: always
  type: str
  sample: /etc/jellyfin/system.xml
changed_settings:
  description: Elements whose value changed (or in check mode would change).
  returned: always
  type: list
  elements: str
  sample: [RemoteClientBitrateLimit]
system:
  description: The managed settings as they are (or in check mode would be) after the task; {} when O(state=absent) found nothing to do.
  returned: always
  type: dict
  contains:
    remote_client_bitrate_limit:
      description: C(RemoteClientBitrateLimit), bits per second, 0 for none.
      type: int
      sample: 8000000
restored:
  description: The recorded settings that O(state=absent) or O(restore) dealt with, as M(homelab.jellyfin_remote.jellyfin_network) returns them.
  returned: always
  type: list
  elements: dict
recorded:
  description: What the record holds for this file after the task, by element ({original, set}); {} when nothing.
  returned: always
  type: dict
  sample: {"RemoteClientBitrateLimit": {"original": 0, "set": 8000000}}
diff:
  description: The file text before and after; with C(--diff) only.
  returned: when diff mode is on
  type: dict
"""

import os

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file, _host_record
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    NetworkFileError,
    NetworkXmlError,
    RecordError,
    file_diff,
    plan_settings,
    read_settings_file,
    recorded_entries,
    store_record,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_system import (
    OPTION_ELEMENTS,
    SystemXml,
    result_values,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def _settings(module, params):
    limit = params["remote_client_bitrate_limit"]
    if limit is not None and not 0 <= limit < 2**31:
        module.fail_json(
            msg="remote_client_bitrate_limit: %d is not valid: expected bits per second from 0 (no limit) to "
            "2147483647 (what Jellyfin reads). Give the limit in bits per second, for example 8000000." % limit)
    return {} if limit is None else {"RemoteClientBitrateLimit": limit}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/jellyfin/system.xml"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            restore=dict(type="list", elements="str", choices=list(OPTION_ELEMENTS), default=[]),
            record_path=dict(type="path", default=_host_record.DEFAULT_PATH),
            remote_client_bitrate_limit=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path, record_path, absent = params["path"], params["record_path"], params["state"] == "absent"
    scalars = _settings(module, params)
    if absent and (scalars or params["restore"]):
        module.fail_json(msg="state: absent puts back every recorded setting and takes no settings and no restore. "
                         "Remove them, or use state present with restore.")
    try:
        sections = _host_record.read(record_path)
        entries = recorded_entries(sections, path, record_path, SystemXml)
        if absent and (not entries or not os.path.exists(path)):
            if entries:
                module.warn("%s does not exist: the recorded settings (%s) cannot be put back; their record is dropped."
                            % (path, ", ".join(sorted(entries))))
            changed = bool(entries) and store_record(record_path, SystemXml, sections, path, {}, module.check_mode)
            module.exit_json(changed=changed, path=path, changed_settings=[], system={}, restored=[], recorded={})
        found = read_settings_file(path, SystemXml)
        restore = set(SystemXml.ORDER) if absent else {OPTION_ELEMENTS[option] for option in params["restore"]}
        changed_settings, restorations = plan_settings(found.document, entries, restore, scalars, {}, "present")
        for restoration in restorations:
            if restoration.warning(path):
                module.warn(restoration.warning(path))
        new_data = found.document.to_bytes() if changed_settings else found.data
        # Setting: the record first; putting back: the record last (as jellyfin_network).
        record_changed = store_record(record_path, SystemXml, sections, path, entries, module.check_mode)
        if changed_settings and not module.check_mode:
            mode, uid, gid = _atomic_file.current_attributes(path, False)
            _atomic_file.write_atomic(path, new_data, mode=mode, uid=uid, gid=gid)
        if absent:
            record_changed = store_record(record_path, SystemXml, sections, path, {}, module.check_mode)
    except (_host_record.HostRecordError, RecordError) as exc:
        module.fail_json(msg="record_path: %s" % exc)
    except NetworkFileError as exc:
        module.fail_json(msg=str(exc))
    except NetworkXmlError as exc:
        module.fail_json(msg="path: %s cannot be used: %s." % (path, exc))
    except OSError as exc:
        module.fail_json(msg="path: cannot write %s: %s. Check the directory's permissions and free space."
                         % (path, exc.strerror or exc))
    result = dict(changed=bool(changed_settings) or record_changed, path=path, changed_settings=changed_settings,
                  system=result_values(found.document), restored=[r.result() for r in restorations],
                  recorded=dict(entries))
    if module._diff:
        result["diff"] = file_diff(path, False, found.data, new_data, bool(changed_settings), ())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
