# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""openvpn_profile_current: the openvpn role writes a profile again exactly when it is not what
its template would write (roles/openvpn/tasks/export.yml). The profiles here are rendered
from the role's own template, with host files that look like the role's (PEM, OpenVPN's
static key format), and compared by the SHA-1 the probe reports."""

from __future__ import annotations

import hashlib
import os

import jinja2
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter.openvpn_profile_current import openvpn_profile_current

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "openvpn", "templates", "client.ovpn.j2")
FILES = {
    "ca": "-----BEGIN CERTIFICATE-----\nMIIBcaCERTbody0123456789abcdefghij\n-----END CERTIFICATE-----\n",
    "cert": "-----BEGIN CERTIFICATE-----\nMIIBclientCERTbody0123456789abcdef\n-----END CERTIFICATE-----\n",
    "key": "-----BEGIN PRIVATE KEY-----\nMIG2clientKEYbody0123456789abcdefgh\n-----END PRIVATE KEY-----\n",
    "tls-crypt": "#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n" + "0123456789abcdef" * 2
                 + "\n-----END OpenVPN Static key V1-----\n",
}
SHA1 = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in FILES.items()}


def render(files=None, **settings):
    files = FILES if files is None else files
    with open(TEMPLATE, encoding="utf-8") as handle:
        template = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True).from_string(handle.read())
    values = {"item": "phone", "inventory_hostname": "server", "openvpn_protocol": "udp", "openvpn_endpoint_host": "vpn.example.org",
              "openvpn_port": 1194, "__openvpn_server_cn": "jellyfin-server", "__openvpn_ciphers": "AES-256-GCM",
              "__openvpn_plan": {"server_hosts": ["10.8.0.1/24"]},
              "__openvpn_ca_pem": files["ca"], "__openvpn_cert": files["cert"], "__openvpn_key": files["key"],
              "__openvpn_tls_crypt": files["tls-crypt"]}
    values.update(settings)
    return template.render(values)


SKELETON = render({name: "" for name in FILES})


def test_the_profile_the_template_writes_is_current():
    assert openvpn_profile_current(render(), SKELETON, SHA1) is True


@pytest.mark.parametrize("profile", [None, ""])
def test_a_missing_profile_is_not_current(profile):
    assert openvpn_profile_current(profile, SKELETON, SHA1) is False


@pytest.mark.parametrize("block", sorted(FILES))
def test_a_renewed_host_file_makes_it_stale(block):
    changed = dict(SHA1, **{block: hashlib.sha1(b"renewed\n").hexdigest()})
    assert openvpn_profile_current(render(), SKELETON, changed) is False


@pytest.mark.parametrize("block", sorted(FILES))
def test_a_missing_host_file_makes_it_stale(block):
    assert openvpn_profile_current(render(), SKELETON, dict(SHA1, **{block: None})) is False


def test_an_edited_line_outside_the_blocks_makes_it_stale():
    assert openvpn_profile_current(render().replace("verb 3", "verb 4"), SKELETON, SHA1) is False


def test_a_changed_setting_makes_it_stale():
    skeleton = render({name: "" for name in FILES}, openvpn_endpoint_host="new.example.org")
    assert openvpn_profile_current(render(), skeleton, SHA1) is False


def test_an_edited_block_makes_it_stale():
    edited = render().replace("MIG2clientKEYbody", "MIG2clientKEYbodX")
    assert openvpn_profile_current(edited, SKELETON, SHA1) is False


def test_white_space_the_template_trims_makes_it_stale():
    # Same hash once trimmed, but the template would write it without the blank line.
    padded = render().replace("<key>\n", "<key>\n\n")
    assert openvpn_profile_current(padded, SKELETON, SHA1) is False


def test_a_missing_or_doubled_block_makes_it_stale():
    text = render()
    start, end = text.index("<key>"), text.index("</key>") + len("</key>\n")
    assert openvpn_profile_current(text[:start] + text[end:], SKELETON, SHA1) is False
    assert openvpn_profile_current(text[:end] + text[start:end] + text[end:], SKELETON, SHA1) is False


def test_blocks_swapped_make_it_stale():
    files = dict(FILES, ca=FILES["cert"], cert=FILES["ca"])
    assert openvpn_profile_current(render(files), SKELETON, SHA1) is False


def test_bad_arguments_name_the_filter():
    with pytest.raises(AnsibleFilterError, match="openvpn_profile_current"):
        openvpn_profile_current(render(), None, SHA1)
