#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_keypair
short_description: Generate and keep WireGuard private keys and preshared keys on the managed host
version_added: 0.1.0
description:
  - Creates a WireGuard private key (X25519) or a preshared key in a file on the managed host and
    keeps it there, with an explicit regeneration policy, so that a second run reports no change.
  - The private key is generated in the module's own process with the Python C(cryptography)
    library; no C(wg genkey) process is started and no key travels through a pipe or a command line.
  - Optionally keeps a public key file in step with the private key.
  - Key files are written atomically. A new key file is created with mode V(0600) in the target
    directory, gets its final owner, group and mode while still private, and is then renamed into
    place, so the file never exists with a wider mode than requested, not even briefly.
  - The secret never appears in the task result, a diff, a warning or an error message unless
    O(return_secret=true) is set on a task that has C(no_log) enabled.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  path:
    description:
      - Path of the secret key file (the private key, or the preshared key).
      - The directory must exist. Symbolic links are refused.
      - Exactly one of O(path) and O(keys) is required.
    type: path
  keys:
    description:
      - Several key files kept by one module run (one round trip to the host instead of one per key),
        each with its own O(keys[].path), O(keys[].type) and O(keys[].public_key_path); O(regenerate),
        O(mode), O(owner), O(group), O(state) and O(return_secret) apply to every one of them.
      - Every key file is looked at first; when one of them would fail (a malformed key with
        O(regenerate=never), a symbolic link), the task fails naming it and writes nothing.
      - The results are returned in RV(key_files), in the order given.
      - A path named twice (as a key file or a public key file) is refused.
      - Exactly one of O(path) and O(keys) is required.
    type: list
    elements: dict
    suboptions:
      path:
        description: Path of the secret key file, as O(path).
        type: path
        required: true
      type:
        description: As O(type).
        type: str
        choices: [private_key, preshared_key]
        default: private_key
      public_key_path:
        description: As O(public_key_path).
        type: path
  type:
    description:
      - V(private_key) keeps an X25519 private key; its public key is returned in RV(public_key).
      - V(preshared_key) keeps a 32-byte symmetric key for the C(PresharedKey) of one peer pair.
    type: str
    choices: [private_key, preshared_key]
    default: private_key
  public_key_path:
    description:
      - Also keep this file holding the public key (base64 and a newline, as C(wg pubkey) writes it),
        with mode V(0644), the same owner as O(path) and, when set, the same O(group).
      - Rewritten whenever the private key changes or the file does not match it.
      - Only valid with O(type=private_key).
    type: path
  regenerate:
    description:
      - V(never) keeps an existing valid key. An existing file that does not hold a valid key makes
        the task fail, naming the file and the problem, so that a key is never replaced by accident.
      - V(invalid) keeps an existing valid key and replaces a malformed one.
      - V(always) writes a new key on every run; the task then always reports a change.
      - A missing file is always created.
    type: str
    choices: [never, invalid, always]
    default: never
  mode:
    description:
      - Permissions of the secret key file, as an octal number in a quoted string such as V('0600').
      - Modes wider than V(0640) (readable by others, group-writable, executable) are refused.
      - An existing valid key with a different mode is fixed in place without touching its content.
    type: raw
    default: '0600'
  owner:
    description:
      - User name or uid owning the key files.
      - Defaults to the user running the module (V(root) when the task runs with C(become)).
    type: str
  group:
    description:
      - Group name or gid of the key files, for example a service group together with O(mode=0640).
      - When not set, new files get the group of the user running the module and the group of
        existing files is left as it is.
    type: str
  state:
    description:
      - V(present) ensures the key file exists and holds a valid key.
      - V(absent) removes the key file and, when set, O(public_key_path).
    type: str
    choices: [present, absent]
    default: present
  return_secret:
    description:
      - Return the key itself in RV(private_key) or RV(preshared_key).
      - Only allowed when the task has C(no_log) enabled; otherwise the task fails and writes nothing.
      - In check mode, a key that would be generated is not returned (it does not exist yet).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Predicts C(changed) exactly, including missing and malformed key files, and writes nothing.
  diff_mode:
    support: full
    details:
      - The diff shows the public key, a fingerprint, mode, owner and group; never secret bytes.
  platform:
    support: full
    platforms: posix
requirements:
  - cryptography >= 2.5 (X25519 with raw key encoding) on the managed host, for O(type=private_key).
    O(type=preshared_key) needs no extra library.
notes:
  - A private key file holds the base64 key and a newline, exactly like C(wg genkey) output;
    generated private keys are clamped like C(wg genkey) output.
  - Existing key files are parsed strictly like C(wg) does. They must hold 44 characters of standard base64
    ending in one C(=), with zero padding bits. Only trailing whitespace is allowed.
  - An empty key file is treated as malformed. C(wg) would read it as "no key".
  - RV(fingerprint) is the first 16 hexadecimal digits of the SHA-256 of the public key (private
    keys) or of the key (preshared keys). Use it to compare keys in logs without revealing them.
seealso:
  - name: WireGuard key generation (wg(8))
    description: The C(genkey), C(genpsk) and C(pubkey) commands whose output format this module matches.
    link: https://man7.org/linux/man-pages/man8/wg.8.html
"""

EXAMPLES = r"""
- name: Create the server's WireGuard private key and public key file
  homelab.jellyfin_remote.wireguard_keypair:
    path: /etc/wireguard/wg0.key
    public_key_path: /etc/wireguard/wg0.pub
    mode: '0600'
    owner: root
  register: wg_server_key

- name: Show the server's public key (safe to share)
  ansible.builtin.debug:
    msg: "Server public key: {{ wg_server_key.public_key }}"

- name: Create one preshared key per peer
  homelab.jellyfin_remote.wireguard_keypair:
    path: "/etc/wireguard/psk/{{ item }}.psk"
    type: preshared_key
  loop:
    - phone
    - laptop

- name: Replace a malformed key file, keep a valid one
  homelab.jellyfin_remote.wireguard_keypair:
    path: /etc/wireguard/wg0.key
    regenerate: invalid

- name: Read a peer's preshared key to template a client config
  homelab.jellyfin_remote.wireguard_keypair:
    path: /etc/wireguard/psk/phone.psk
    type: preshared_key
    return_secret: true
  no_log: true
  register: wg_phone_psk

- name: Keep a server key, a client key and their preshared key in one module run
  homelab.jellyfin_remote.wireguard_keypair:
    keys:
      - path: /etc/wireguard/wg0.key
        public_key_path: /etc/wireguard/wg0.pub
      - path: /etc/wireguard/clients/phone.key
        public_key_path: /etc/wireguard/clients/phone.pub
      - path: /etc/wireguard/clients/phone.psk
        type: preshared_key
    return_secret: true
  no_log: true
  register: wg_keys  # wg_keys.key_files[0].public_key is the server's public key

- name: Remove a retired peer's preshared key
  homelab.jellyfin_remote.wireguard_keypair:
    path: /etc/wireguard/psk/old-tablet.psk
    type: preshared_key
    state: absent
"""

RETURN = r"""
path:
  description: The secret key file.
  returned: always
  type: str
  sample: /etc/wireguard/wg0.key
public_key:
  description:
    - Base64 public key of the private key, as C(wg pubkey) prints it.
    - V(null) in check mode when a new key would be generated, and when O(state=absent).
  returned: when O(type=private_key)
  type: str
  sample: hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=
fingerprint:
  description:
    - C(sha256:) and the first 16 hex digits of the SHA-256 of the public key (private keys) or of the
      preshared key. Not reversible.
    - V(null) in check mode when a new key would be generated, and when O(state=absent).
  returned: always
  type: str
  sample: sha256:300c9c9603b92a4b
generated:
  description: Whether a new key was (or, in check mode, would be) generated.
  returned: always
  type: bool
  sample: true
private_key:
  description: The base64 private key. Only with O(return_secret=true) on a task with C(no_log).
  returned: when O(return_secret=true), O(type=private_key), O(state=present) and the key exists
  type: str
preshared_key:
  description: The base64 preshared key. Only with O(return_secret=true) on a task with C(no_log).
  returned: when O(return_secret=true), O(type=preshared_key), O(state=present) and the key exists
  type: str
key_files:
  description:
    - With O(keys), one result per key file in the order given, each with the fields above
      (RV(path), RV(public_key) for private keys, RV(fingerprint), RV(generated), and with
      O(return_secret) RV(private_key) or RV(preshared_key)), and C(changed) for that file.
    - The top-level RV(path), RV(public_key), RV(fingerprint) and RV(generated) are then not returned.
  returned: when O(keys) is given
  type: list
  elements: dict
  sample:
    - {path: /etc/wireguard/wg0.key, changed: false, generated: false,
       public_key: hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=, fingerprint: sha256:300c9c9603b92a4b}
diff:
  description:
    - Before and after views of the key file with metadata only (state, mode, owner, group, public key,
      fingerprint, whether a key is generated and the state of the public key file).
    - Returned as the task diff, shown with C(--diff); with O(keys), a list of such views, one per key file.
  returned: always
  type: dict
  sample:
    before: {state: absent}
    after: {state: present, mode: '0600', owner: root, generated: true,
            public_key: hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=, fingerprint: sha256:300c9c9603b92a4b}
"""

import os

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def _check_text(module, option, value):
    """Fail naming option when a path or account name cannot be one."""
    if value is None:
        return
    if "\x00" in value:
        module.fail_json(msg="%s contains a NUL byte, which no file or account name can hold; "
                         "give a plain name" % option)
    if option.endswith("path") and not value.strip():
        module.fail_json(msg="%s is empty; give the full path of the key file, for example "
                         "/etc/wireguard/wg0.key" % option)


def _entries(module, params):
    """[(option prefix, path, type, public_key_path)]: the one key of O(path), or each of O(keys)."""
    if params["keys"] is None:
        return [("", params["path"], params["type"], params["public_key_path"])]
    entries, seen = [], {}
    for index, entry in enumerate(params["keys"]):
        prefix = "keys[%d]." % index
        for option in ("path", "public_key_path"):
            _check_text(module, prefix + option, entry[option])
            if entry[option] is None:
                continue
            where = os.path.abspath(entry[option])
            if where in seen:
                module.fail_json(msg="%s%s: %s is already %s; every key and public key file is named once"
                                 % (prefix, option, entry[option], seen[where]))
            seen[where] = prefix + option
        entries.append((prefix, entry["path"], entry["type"], entry["public_key_path"]))
    return entries


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            keys=dict(type="list", elements="dict", no_log=False, options=dict(
                path=dict(type="path", required=True),
                type=dict(type="str", choices=list(_wireguard.KEY_TYPES), default=_wireguard.PRIVATE_KEY),
                public_key_path=dict(type="path", no_log=False),
            )),
            type=dict(type="str", choices=list(_wireguard.KEY_TYPES), default=_wireguard.PRIVATE_KEY),
            public_key_path=dict(type="path", no_log=False),
            regenerate=dict(type="str", choices=list(_wireguard.REGENERATE_CHOICES), default="never"),
            mode=dict(type="raw", default="0600"),
            owner=dict(type="str"),
            group=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            return_secret=dict(type="bool", default=False, no_log=False),
        ),
        mutually_exclusive=[("path", "keys"), ("keys", "public_key_path")],
        required_one_of=[("path", "keys")],
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]

    for option in ("path", "public_key_path", "owner", "group"):
        _check_text(module, option, params[option])
    entries = _entries(module, params)

    if params["return_secret"] and not module.no_log:
        module.fail_json(
            msg="return_secret=true puts the key into the task result; add 'no_log: true' to the task "
            "so that the result is hidden from output and logs, or set return_secret=false",
            path=path,
        )

    if params["state"] == "present" and any(entry[2] == _wireguard.PRIVATE_KEY for entry in entries):
        if not _wireguard.HAS_CRYPTOGRAPHY:
            module.fail_json(
                msg=missing_required_lib("cryptography", reason="to generate X25519 keys"),
                exception=_wireguard.CRYPTOGRAPHY_IMPORT_ERROR,
                path=path,
            )

    specs = []
    try:
        mode = _wireguard.parse_mode(params["mode"])
        uid = _wireguard.resolve_owner(params["owner"])
        gid = _wireguard.resolve_group(params["group"])
    except _wireguard.WireGuardKeyError as exc:
        module.fail_json(msg=str(exc), path=path)
    for prefix, key_path, key_type, public_key_path in entries:
        try:
            specs.append(_wireguard.KeyFileSpec(
                path=key_path,
                key_type=key_type,
                public_key_path=public_key_path,
                regenerate=params["regenerate"],
                mode=mode,
                uid=uid,
                gid=gid,
                state=params["state"],
            ))
        except _wireguard.WireGuardKeyError as exc:
            module.fail_json(msg=prefix + str(exc), path=key_path)

    outcomes = []
    # Several keys: every file is looked at (check mode) before any is written, so that a key
    # that would fail leaves the others as they were.
    for check_only in ([True] if len(specs) > 1 and not module.check_mode else []) + [module.check_mode]:
        outcomes = []
        for (prefix, key_path, _type, _public), spec in zip(entries, specs):
            try:
                outcomes.append(_wireguard.ensure_key_file(spec, check_mode=check_only))
            except _wireguard.WireGuardKeyError as exc:
                module.fail_json(msg=prefix + str(exc), path=key_path)

    results = []
    for spec, outcome in zip(specs, outcomes):
        result = outcome.result(spec.key_type)
        secret = outcome.secret
        if secret is not None:
            if params["return_secret"]:
                result[spec.key_type] = secret
            else:
                # Defence in depth: AnsibleModule masks this value wherever it would appear.
                module.no_log_values.add(secret)
        results.append(result)

    if params["keys"] is None:
        result = results[0]
        if not module._diff:
            result.pop("diff")
        module.exit_json(**result)
    diffs = [result.pop("diff") for result in results]
    answer = dict(changed=any(result["changed"] for result in results), key_files=results)
    if module._diff:
        answer["diff"] = diffs
    module.exit_json(**answer)


if __name__ == "__main__":
    main()
