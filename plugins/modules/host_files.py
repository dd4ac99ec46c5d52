#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_files
short_description: Write several small files and directories in one call, each only where it differs
version_added: 0.1.0
description:
  - Brings directories and text files (a runner, its settings, its systemd units) to the content,
    mode, owner and group given, in one round trip. A copy or template task per file costs three
    (stat, transfer, copy), so a role's first run paid seconds per file.
  - A file whose content differs is replaced atomically; its final path never exists with a wider
    mode than the one given. A file or directory whose mode, owner or group differs is fixed in
    place. Missing directories are made. Nothing is removed.
  - Returns no file content. A file marked O(files[].secret) shows no content in the diff either;
    give such a task C(no_log) too, so the arguments never reach a log.
  - Has no C(validate); a file a program must check before it is used stays with
    M(ansible.builtin.template).
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  directories:
    description: Directories to make or correct, before any file.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      mode:
        description: Octal mode such as C(0755).
        type: raw
        default: "0755"
      owner:
        description: User name or uid.
        type: str
        default: root
      group:
        description: Group name or gid.
        type: str
        default: root
  files:
    description: Text files to write or correct.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path. Its directory is made (C(0755)) when missing.
        type: path
        required: true
      content:
        description: The whole content, as text (UTF-8 on disk).
        type: str
        required: true
      mode:
        description: Octal mode such as C(0644).
        type: raw
        default: "0644"
      owner:
        description: User name or uid.
        type: str
        default: root
      group:
        description: Group name or gid.
        type: str
        default: root
      secret:
        description: The diff says only that the content changed.
        type: bool
        default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Each changed file's content before and after, except for secret files.
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Install a runner, its settings and its units in one call
  homelab.jellyfin_remote.host_files:
    directories:
      - path: /usr/local/lib/example-runner
    files:
      - path: /usr/local/lib/example-runner/run.py
        content: "{{ lookup('ansible.builtin.file', 'run.py') }}"
      - path: /usr/local/lib/example-runner/config.json
        content: "{{ settings | to_nice_json }}\n"
      - path: /etc/systemd/system/example-runner.service
        content: "{{ lookup('ansible.builtin.template', 'example-runner.service.j2') }}"
  register: written

- name: Let systemd read the changed units
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: written.changed_paths | select('match', '/etc/systemd/system/') | list | length > 0
"""

RETURN = r"""
changed_paths:
  description: The directories and files made or changed (in check mode, those that would be), directories first.
  returned: always
  type: list
  elements: str
  sample: [/usr/local/lib/example-runner, /etc/systemd/system/example-runner.service]
"""

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_files
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule

_ATTRIBUTES = dict(owner=dict(type="str", default="root"), group=dict(type="str", default="root"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[],
                             options=dict(path=dict(type="path", required=True),
                                          mode=dict(type="raw", default="0755"), **_ATTRIBUTES)),
            files=dict(type="list", elements="dict", default=[],
                       options=dict(path=dict(type="path", required=True), content=dict(type="str", required=True),
                                    mode=dict(type="raw", default="0644"), secret=dict(type="bool", default=False),
                                    **_ATTRIBUTES)),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        actions = _host_files.plan(p["directories"], p["files"])
        if not module.check_mode:
            _host_files.apply(actions)
    except _host_files.HostFilesError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (exc.filename or "host_files", exc.strerror or exc))
    result = dict(changed=bool(actions), changed_paths=[a["path"] for a in actions])
    if module._diff:
        result["diff"] = _host_files.diffs(actions)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
