# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 25: the wireguard role keeps every key in one wireguard_keypair call. The keys list
(filter wireguard_key_files), the module run on it, and the role's vars/main.yml picking the
results apart by path, rendered into wireguard.conf.j2 by ansible-core's own templating."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.filter.wireguard_key_files import wireguard_key_files
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _wireguard as wg
from ansible_collections.homelab.jellyfin_remote.plugins.modules import wireguard_keypair

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "wireguard")
OWN_KEY = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="  # a peer that brings its own public key

PEERS = [
    {"name": "phone", "public_key": "", "psk": True, "persistent_keepalive": 0},
    {"name": "laptop", "public_key": "", "psk": False, "persistent_keepalive": 25},
    {"name": "tablet", "public_key": OWN_KEY, "psk": True, "persistent_keepalive": 0},
]


def test_the_list_names_every_key_once_server_first():
    files = wireguard_key_files(PEERS, "/etc/wireguard", "/etc/wireguard/clients", "wg0")
    assert files == [
        {"path": "/etc/wireguard/wg0.key", "type": "private_key", "public_key_path": "/etc/wireguard/wg0.pub"},
        {"path": "/etc/wireguard/clients/phone.key", "type": "private_key",
         "public_key_path": "/etc/wireguard/clients/phone.pub"},
        {"path": "/etc/wireguard/clients/laptop.key", "type": "private_key",
         "public_key_path": "/etc/wireguard/clients/laptop.pub"},
        {"path": "/etc/wireguard/clients/phone.psk", "type": "preshared_key"},
        {"path": "/etc/wireguard/clients/tablet.psk", "type": "preshared_key"},
    ]
    assert wireguard_key_files([], "/k", "/k/c", "wg1") == [
        {"path": "/k/wg1.key", "type": "private_key", "public_key_path": "/k/wg1.pub"}]


@pytest.mark.parametrize("name", ["../etc", "a/b", "", None, "-x"])
def test_a_name_that_could_leave_the_clients_directory_is_refused(name):
    with pytest.raises(AnsibleFilterError, match="wireguard_key_files: wireguard_peers: .* is not a valid peer name"):
        wireguard_key_files([{"name": name, "public_key": "", "psk": True}], "/k", "/k/c", "wg0")


def _role_vars(tmp_path, registered):
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in yaml.safe_load(handle).items()}
    variables.update({
        "__wireguard_dir": str(tmp_path), "__wireguard_clients_dir": str(tmp_path / "clients"),
        "wireguard_interface": "wg0", "wireguard_listen_port": 51820, "wireguard_mtu": 1420,
        "__wireguard_peers": PEERS, "__wireguard_keys": registered, "ansible_managed": "Ansible managed",
        "__wireguard_plan": {"server_addresses": ["10.13.13.1/24"]},
        "__wireguard_addresses": {p["name"]: ["10.13.13.%d/32" % (i + 2)] for i, p in enumerate(PEERS)},
    })
    return Templar(loader=DataLoader(), variables=variables)


def _keep(tmp_path, check=False):
    (tmp_path / "clients").mkdir(exist_ok=True)
    files = wireguard_key_files(PEERS, str(tmp_path), str(tmp_path / "clients"), "wg0")
    kind, result, _ = run_module(wireguard_keypair.main, {"keys": files, "return_secret": True,
                                                         "_ansible_no_log": True}, check=check)
    assert kind == "exit", result
    return result


def _read(path):
    return path.read_text().strip()


def test_the_server_configuration_gets_each_key_from_the_one_call(tmp_path):
    registered = _keep(tmp_path)
    templar = _role_vars(tmp_path, registered)
    with open(os.path.join(ROLE, "templates", "wireguard.conf.j2"), encoding="utf-8") as handle:
        text = templar.template(trust_as_template(handle.read()))
    clients = tmp_path / "clients"
    assert "PrivateKey = %s" % _read(tmp_path / "wg0.key") in text
    peers = text.split("[Peer]")[1:]
    assert len(peers) == 3
    phone, laptop, tablet = peers
    assert "PublicKey = %s" % wg.public_key_from_text(_read(clients / "phone.key")) in phone
    assert "PresharedKey = %s" % _read(clients / "phone.psk") in phone
    assert "PublicKey = %s" % _read(clients / "laptop.pub") in laptop and "PresharedKey" not in laptop
    assert "PublicKey = %s" % OWN_KEY in tablet
    assert "PresharedKey = %s" % _read(clients / "tablet.psk") in tablet
    assert sorted(os.listdir(clients)) == ["laptop.key", "laptop.pub", "phone.key", "phone.psk", "phone.pub",
                                           "tablet.psk"]
    # The pairs the export loops over: the peers whose private key the role keeps, with it.
    pairs = templar.template(trust_as_template("{{ __wireguard_client_keys | selectattr('1.private_key', 'defined') }}"))
    assert [(peer["name"], result["private_key"]) for peer, result in pairs] == [
        ("phone", _read(clients / "phone.key")), ("laptop", _read(clients / "laptop.key"))]
    assert templar.template(trust_as_template("{{ __wireguard_server_key.public_key }}")) == _read(tmp_path / "wg0.pub")


def test_check_mode_on_a_new_host_exports_nothing_and_names_no_key(tmp_path):
    registered = _keep(tmp_path, check=True)
    assert registered["changed"] is True
    templar = _role_vars(tmp_path, registered)
    assert templar.template(trust_as_template("{{ __wireguard_client_keys | selectattr('1.private_key', 'defined') }}")) == []
    assert templar.template(trust_as_template("{{ __wireguard_psk_by_name }}")) == {"phone": "", "tablet": ""}
    public = templar.template(trust_as_template("{{ __wireguard_public_keys }}"))
    assert public["tablet"] == OWN_KEY and public["phone"] is None
    assert sorted(os.listdir(tmp_path / "clients")) == []
