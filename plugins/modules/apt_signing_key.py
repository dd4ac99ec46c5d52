#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_signing_key
short_description: Keep a vendor's apt signing key that matches a pinned fingerprint
version_added: 0.1.0
description:
  - Makes O(dest) a binary OpenPGP keyring (for apt's C(Signed-By)) that holds the key with the
    pinned O(fingerprint).
  - The installed file is kept while it holds that key. When it is missing, unreadable, ASCII-armored
    or holds another key (a vendor that rotated its key under the same file name), the key is
    downloaded from O(url) again, checked against the pin, and written atomically.
  - A download that does not hold the pinned key is refused and O(dest) stays as it was.
  - Fingerprints are read by the module itself (RFC 4880/9580 packets); no gpg is needed on the host.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  url:
    description: Where the vendor publishes its key (binary or ASCII-armored). V(file://) URLs are read on the host.
    type: str
    required: true
  dest:
    description: The keyring file apt's C(Signed-By) names.
    type: path
    required: true
  fingerprint:
    description:
      - The fingerprint of the vendor's current signing key (primary key or subkey), 40 hexadecimal
        digits (64 for a v6 key); spaces and colons are ignored.
    type: str
    required: true
  pin_name:
    description: The name of the setting that holds O(fingerprint), used in messages (for example a role variable).
    type: str
    default: fingerprint
  mode:
    description: Permissions of O(dest), as an octal number in a quoted string.
    type: raw
    default: '0644'
  timeout:
    description: Seconds to wait for the download.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Downloads the key to tell whether it matches the pin, writes nothing.
  diff_mode:
    support: full
    details:
      - The diff shows the fingerprints and mode before and after.
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Keep Cloudflare's current apt signing key
  homelab.jellyfin_remote.apt_signing_key:
    url: https://pkg.cloudflare.com/cloudflare-main.gpg
    dest: /usr/share/keyrings/cloudflare-main.gpg
    fingerprint: CC94 B39C 77AE 7342 A68B  8962 8A68 2D30 8D4E 5E73
    pin_name: cloudflare_tunnel_apt_key_fingerprint
"""

RETURN = r"""
fingerprints:
  description: Fingerprints of the primary keys in O(dest) after the run.
  returned: always
  type: list
  elements: str
  sample: [CC94B39C77AE7342A68B89628A682D308D4E5E73]
previous_fingerprints:
  description: Fingerprints of the primary keys that O(dest) held before (empty when it was missing or unreadable).
  returned: always
  type: list
  elements: str
  sample: [FBA8C0EE63617C5EED695C43254B391D8CACCBF8]
downloaded:
  description: Whether the key was fetched from O(url) (also in check mode).
  returned: always
  type: bool
"""

from urllib.parse import unquote, urlsplit

from ansible.module_utils.urls import fetch_url

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _openpgp
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def _mode(module, value):
    try:
        mode = int(str(value), 8)
    except ValueError:
        module.fail_json(msg="mode must be an octal number in a quoted string such as '0644', got %r" % (value,))
    if mode & ~0o7777:
        module.fail_json(msg="mode must be at most 07777, got %r" % (value,))
    return mode


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            fingerprint=dict(type="str", required=True),
            pin_name=dict(type="str", default="fingerprint"),
            mode=dict(type="raw", default="0644"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    mode = _mode(module, p["mode"])

    def download():
        parts = urlsplit(p["url"])
        if parts.scheme == "file":
            with open(unquote(parts.path), "rb") as handle:
                return handle.read()
        response, info = fetch_url(module, p["url"], timeout=p["timeout"], force=True)
        if response is None or info.get("status") != 200:
            raise OSError("HTTP %s %s" % (info.get("status"), info.get("msg", "")))
        return response.read()

    try:
        result = _openpgp.ensure_keyring(p["dest"], download, p["fingerprint"], mode=mode,
                                         check_mode=module.check_mode, pin_name=p["pin_name"], url=p["url"])
    except (_openpgp.OpenPGPError, OSError) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
