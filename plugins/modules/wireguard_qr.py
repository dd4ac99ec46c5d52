#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_qr
short_description: Write a WireGuard client configuration as a QR code (PNG and terminal text)
version_added: 0.1.0
description:
  - Encodes a WireGuard client configuration in a QR code, the way the WireGuard mobile apps
    import it, and writes it as a PNG image and as text drawn with Unicode blocks that a
    terminal shows with C(cat).
  - Usually runs on the controller (with C(delegate_to) set to C(localhost)) next to the
    exported client configuration files.
  - The encoded text holds the client's private key. Files are written atomically with mode
    V(0600) set before they appear; the content and the image are never part of the result,
    a diff or a message.
  - A file is rewritten only when its bytes or its mode differ, so a second run reports no change.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  content:
    description:
      - The text to encode, normally the client's wg-quick configuration
        (see the P(homelab.jellyfin_remote.wireguard_client_config#filter) filter).
      - Required with O(state=present).
    type: str
  png_path:
    description: Path of the PNG image.
    type: path
  text_path:
    description: Path of the terminal text.
    type: path
  mode:
    description:
      - Permissions of both files, as an octal number in a quoted string.
      - Modes wider than V(0640) are refused.
    type: raw
    default: '0600'
  scale:
    description: Size of one QR module in PNG pixels.
    type: int
    default: 6
  border:
    description: Quiet zone around the code, in modules (PNG; the terminal text uses half of it).
    type: int
    default: 4
  error:
    description: QR error correction level.
    type: str
    choices: [L, M, Q, H]
    default: M
  state:
    description: V(present) writes the files, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the state, mode and size of each file, never its content.
  platform:
    support: full
    platforms: posix
requirements:
  - segno (on the host that runs the module, normally the controller)
"""

EXAMPLES = r"""
- name: Write the QR codes of a client configuration on the controller
  homelab.jellyfin_remote.wireguard_qr:
    content: "{{ client_conf }}"
    png_path: "~/wireguard-clients/phone.png"
    text_path: "~/wireguard-clients/phone.txt"
  delegate_to: localhost
  no_log: true

- name: Remove a retired client's QR codes
  homelab.jellyfin_remote.wireguard_qr:
    png_path: "~/wireguard-clients/old-tablet.png"
    text_path: "~/wireguard-clients/old-tablet.txt"
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
png_path:
  description: The PNG file.
  returned: always
  type: str
  sample: /home/me/wireguard-clients/phone.png
text_path:
  description: The terminal text file.
  returned: always
  type: str
  sample: /home/me/wireguard-clients/phone.txt
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _qr
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            content=dict(type="str", no_log=True),
            png_path=dict(type="path"),
            text_path=dict(type="path"),
            mode=dict(type="raw", default="0600"),
            scale=dict(type="int", default=6),
            border=dict(type="int", default=4),
            error=dict(type="str", choices=list(_qr.ERROR_LEVELS), default="M"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ("content",))],
        required_one_of=[("png_path", "text_path")],
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present" and not _qr.HAS_SEGNO:
        module.fail_json(msg=missing_required_lib("segno", reason="to draw QR codes"),
                         exception=_qr.SEGNO_IMPORT_ERROR)
    try:
        result = _qr.ensure_qr_files(
            p["content"], png_path=p["png_path"], text_path=p["text_path"], mode=_qr.parse_mode(p["mode"]),
            state=p["state"], scale=p["scale"], border=p["border"], error=p["error"], check_mode=module.check_mode,
        )
    except _qr.QrError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
