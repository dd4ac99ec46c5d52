#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: openvpn_pki_info
short_description: Say whether the openvpn role's PKI is complete, without returning any key
version_added: 0.1.0
description:
  - One read-only look at the PKI the C(homelab.jellyfin_remote.openvpn) role keeps, so that an
    unchanged re-run skips the role's PKI tasks (one round trip instead of one per key and
    certificate; see CONTRIBUTING.md, "Read-only probes").
  - RV(complete) is true only when none of those tasks would change anything, judged as
    community.crypto judges it (C(openssl_privatekey), C(x509_certificate) with the selfsigned
    and ownca providers, C(x509_crl) with C(ignore_timestamps)) and by the role's own rules
    (the old layout to move, clients no longer listed to revoke, certificates close to expiry,
    the CRL close to its next update).
  - Keys EC P-384, unencrypted, 0600 and owned by root; the CA certificate made from C(ca.key)
    with CN O(ca_common_name), CA:TRUE with path length 0 and key usage keyCertSign and
    cRLSign; the server's and each client's certificate signed by the CA (the signature is
    verified), matching its key, with its CN, key usage and extended key usage (serverAuth,
    clientAuth); the tls-crypt key present; the CRL signed by the CA key with the CA's CN as
    issuer, listing exactly the serial numbers of C(revoked/*.crt); directories 0700.
  - Never changes the host and returns no key material, only file names and what differs.
    Without the Python cryptography library on the host RV(complete) is false.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  pki:
    description: The PKI directory (C(ca.crt), C(private/), C(issued/), C(revoked/), C(clients/)).
    type: path
    required: true
  crl:
    description: The CRL file.
    type: path
    required: true
  server_cn:
    description: The server's name (its key C(private/<server_cn>.key), its certificate C(issued/<server_cn>.crt)).
    type: str
    required: true
  clients:
    description: The clients that should have a key and a certificate in C(clients/).
    type: list
    elements: str
    default: []
  ca_common_name:
    description: The CA's common name.
    type: str
    required: true
  renew_before_days:
    description: A certificate that expires within this many days is listed in RV(expiring).
    type: int
    required: true
  crl_min_days:
    description: A CRL with fewer days left than this is not complete (the role re-signs it).
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Look at the PKI
  homelab.jellyfin_remote.openvpn_pki_info:
    pki: /etc/openvpn/server/jellyfin-pki
    crl: /etc/openvpn/server/jellyfin-crl.pem
    server_cn: jellyfin-server
    clients: [phone, laptop]
    ca_common_name: Jellyfin remote OpenVPN CA
    renew_before_days: 30
  register: pki
  check_mode: false

- name: Make the PKI only where it is not complete
  ansible.builtin.include_tasks: pki.yml
  when: not pki.complete
"""

RETURN = r"""
complete:
  description: Whether the PKI tasks would change nothing.
  returned: always
  type: bool
reasons:
  description: What they would change, one line per file (no key material); empty when RV(complete).
  returned: always
  type: list
  elements: str
  sample: ["clients/laptop.crt: client no longer listed, to revoke"]
expiring:
  description: The names (O(server_cn), clients) whose certificate expires within O(renew_before_days).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _openvpn_pki
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pki=dict(type="path", required=True),
            crl=dict(type="path", required=True),
            server_cn=dict(type="str", required=True),
            clients=dict(type="list", elements="str", default=[]),
            ca_common_name=dict(type="str", required=True),
            renew_before_days=dict(type="int", required=True),
            crl_min_days=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for option, value in [("server_cn", p["server_cn"])] + [("clients", name) for name in p["clients"]]:
        if not value or "/" in value or "\x00" in value or value in (".", ".."):
            module.fail_json(msg="%s: %r is not a file name (no '/', not empty)" % (option, value))
    module.exit_json(changed=False, **_openvpn_pki.look(
        p["pki"], p["crl"], p["server_cn"], p["clients"], p["ca_common_name"], p["renew_before_days"],
        crl_min_days=p["crl_min_days"]))


if __name__ == "__main__":
    main()
