# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VPN firewall table both VPN roles write (roles/_vpn/templates/vpn.nft.j2), and how
the roles include roles/_vpn.

The template is rendered by ansible-core's own templating with the plan the roles compute
(the vpn_server_plan filter). With nft on PATH and root, each rendering is also checked as
the role checks it (`nft -c -f`); without, those checks skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.homelab.jellyfin_remote.plugins.filter.wireguard_server_plan import vpn_server_plan

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEMPLATE = os.path.join(REPO, "roles", "_vpn", "templates", "vpn.nft.j2")
def _nft_can_check():
    """nft -c needs root with CAP_NET_ADMIN (it reads the kernel's ruleset cache); the units-trixie
    container has neither, and there nft answers "Operation not permitted"."""
    nft = shutil.which("nft") if os.geteuid() == 0 else None
    if nft is None:
        return None
    probe = subprocess.run([nft, "-c", "add table inet jfr_probe"], capture_output=True, text=True, check=False)
    return nft if probe.returncode == 0 else None


NFT = _nft_can_check()


def render(network_ipv6="", routes=(), full_tunnel=False, **over):
    variables = {
        "ansible_managed": "Ansible managed",
        "_vpn_role": "wireguard", "_vpn_unit": "wg-quick@wg0.service", "_vpn_interface": "wg0",
        "_vpn_nft_table": "jellyfin_remote_wireguard", "_vpn_listen_protocol": "udp", "_vpn_listen_port": 51820,
        "_vpn_listen_comment": "WireGuard", "_vpn_host_ports": [8096], "_vpn_allow_all_host_ports": False,
        "_vpn_client_dns": [], "_vpn_full_tunnel": full_tunnel, "_vpn_masquerade": True, "_vpn_lan_interface": "",
        "_vpn_plan": vpn_server_plan("10.13.13.0/24", network_ipv6, list(routes), full_tunnel),
    }
    variables.update(over)
    with open(TEMPLATE, encoding="utf-8") as handle:
        text = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(handle.read()))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")], text


def test_only_the_host_ports_and_no_forwarding_by_default():
    rules, _ = render()
    assert 'udp dport 51820 accept comment "WireGuard"' in rules
    assert 'iifname "wg0" tcp dport { 8096 } accept comment "Jellyfin"' in rules
    assert rules.count('iifname "wg0" drop') == 2  # input and forward
    assert not [r for r in rules if "daddr" in r or "masquerade" in r or "dport 53" in r]


def test_split_tunnel_forwards_only_to_the_routes_and_masquerades_out_of_the_lan():
    rules, _ = render("fd13::/64", ["10.13.13.1/32", "192.168.1.0/24", "fd00:1::/64"], _vpn_lan_interface="eth0")
    assert 'iifname "wg0" ip saddr 10.13.13.0/24 ip daddr { 192.168.1.0/24 } oifname "eth0" accept' in rules
    assert 'iifname "wg0" ip6 saddr fd13::/64 ip6 daddr { fd00:1::/64 } oifname "eth0" accept' in rules
    assert 'ip saddr 10.13.13.0/24 oifname "eth0" masquerade' in rules
    assert 'ip6 saddr fd13::/64 oifname "eth0" masquerade' in rules


def test_full_tunnel_forwards_everything_from_the_vpn():
    rules, _ = render(full_tunnel=True)
    assert 'iifname "wg0" ip saddr 10.13.13.0/24 accept' in rules
    assert 'ip saddr 10.13.13.0/24 oifname != "wg0" masquerade' in rules
    assert not [r for r in rules if "ip6" in r]


@pytest.mark.parametrize("over", [{"_vpn_masquerade": False}, {}])
def test_no_masquerade_when_off_or_nothing_is_forwarded(over):
    rules, _ = render(routes=[] if not over else ["192.168.1.0/24"], **over)
    assert not [r for r in rules if "masquerade" in r]


def test_dns_only_when_a_client_dns_server_is_the_host():
    assert 'iifname "wg0" meta l4proto { tcp, udp } th dport 53 accept comment "DNS on this host"' in render(
        _vpn_client_dns=["1.1.1.1", "10.13.13.1"])[0]
    assert not [r for r in render(_vpn_client_dns=["1.1.1.1"])[0] if "dport 53" in r]


def test_allow_all_host_ports_drops_nothing_on_input():
    rules, _ = render(_vpn_allow_all_host_ports=True, _vpn_host_ports=[8096, 8920])
    assert rules.count('iifname "wg0" drop') == 1  # forward only
    assert not [r for r in rules if "8096" in r]


def test_openvpn_port_protocol_and_interface():
    rules, text = render(_vpn_role="openvpn", _vpn_unit="openvpn-server@jellyfin.service", _vpn_interface="ovpn-jellyfin",
                         _vpn_nft_table="jellyfin_remote_openvpn", _vpn_listen_protocol="tcp", _vpn_listen_port=443,
                         _vpn_listen_comment="OpenVPN", _vpn_host_ports=[8096, 8920, 8096])
    assert rules[:3] == ["table inet jellyfin_remote_openvpn", "delete table inet jellyfin_remote_openvpn",
                         "table inet jellyfin_remote_openvpn {"]
    assert 'tcp dport 443 accept comment "OpenVPN"' in rules
    assert 'iifname "ovpn-jellyfin" tcp dport { 8096, 8920 } accept comment "Jellyfin"' in rules
    assert "openvpn-server@jellyfin.service" in text and "(openvpn_host_ports)" in text


@pytest.mark.skipif(NFT is None, reason="needs nft, root and CAP_NET_ADMIN (nft -c reads the kernel's ruleset)")
@pytest.mark.parametrize("kwargs", [
    {}, {"network_ipv6": "fd13::/64", "routes": ["192.168.1.0/24", "fd00:1::/64"], "_vpn_lan_interface": "eth0"},
    {"full_tunnel": True, "network_ipv6": "fd13::/64", "_vpn_client_dns": ["10.13.13.1"]},
    {"_vpn_allow_all_host_ports": True, "_vpn_host_ports": []}, {"_vpn_host_ports": [], "_vpn_listen_protocol": "tcp"},
    {"_vpn_listen_port": 0, "_vpn_host_sources": ["10.87.0.1"], "_vpn_icmp": False},
    {"_vpn_host_ports": [], "_vpn_icmp": False, "_vpn_public_tcp_ports": [22, 80, 443]},
    {"_vpn_host_ports": [], "_vpn_icmp": False, "_vpn_public_tcp_ports": [22, 80, 443], "_vpn_measure_port": 5201},
])
def test_nft_accepts_the_table(tmp_path, kwargs):
    path = tmp_path / "vpn.nft"
    path.write_text(render(**kwargs)[1])
    proc = subprocess.run([NFT, "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def _vpn_includes():
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            tasks = yaml.safe_load(handle) or []
        stack = list(tasks)
        while stack:
            task = stack.pop()
            for key in ("block", "rescue", "always"):
                stack += task.get(key) or []
            include = task.get("ansible.builtin.include_role") or {}
            if include.get("name") == "homelab.jellyfin_remote._vpn":
                yield os.path.relpath(path, REPO), include.get("tasks_from", "main"), task.get("vars") or {}


def test_every_include_of_vpn_passes_its_entry_points_options():
    with open(os.path.join(REPO, "roles", "_vpn", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    seen = set()
    for path, entry, given in _vpn_includes():
        options = specs[entry]["options"]
        given = {name for name in given if name.startswith("_vpn_")}
        required = {name for name, spec in options.items() if spec.get("required")}
        assert required <= given, "%s (%s): missing %s" % (path, entry, sorted(required - given))
        assert given <= set(options), "%s (%s): not in the argument spec: %s" % (path, entry, sorted(given - set(options)))
        seen.add((path.split(os.sep)[1], entry))
    assert {(role, entry) for role in ("wireguard", "openvpn") for entry in ("main", "firewall", "forwarding")} <= seen


def test_the_vpn_roles_keep_no_firewall_table_or_forwarding_of_their_own():
    for role in ("wireguard", "openvpn"):
        assert not glob.glob(os.path.join(REPO, "roles", role, "templates", "*.nft.j2"))
        for path in glob.glob(os.path.join(REPO, "roles", role, "*", "*.yml")):
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            assert "ansible.posix.sysctl" not in text and "nft, -f" not in text, path


# Issue 22: the vps_relay role's two sides through the same template.
def test_the_relay_home_side_lets_only_the_relay_reach_jellyfin():
    rules, _ = render(_vpn_role="vps_relay", _vpn_interface="wg-relay", _vpn_listen_port=0, _vpn_icmp=False,
                      _vpn_host_sources=["10.87.0.1"], _vpn_masquerade=False)
    input_chain = rules[rules.index("chain input {"):rules.index("chain forward {")]
    assert not [r for r in input_chain if "dport 51820" in r or "icmp" in r]  # nothing opened, no ICMP
    assert input_chain[2:] == ['iifname "wg-relay" ct state established,related accept',
                               'iifname "wg-relay" ip saddr { 10.87.0.1 } tcp dport { 8096 } accept comment "Jellyfin"',
                               'iifname "wg-relay" drop', "}"]
    assert 'iifname "wg-relay" drop' in rules[rules.index("chain forward {"):]  # nothing else at home through it


def test_the_relay_side_drops_all_but_its_public_ports():
    rules, _ = render(_vpn_role="vps_relay", _vpn_interface="wg-relay", _vpn_host_ports=[], _vpn_icmp=False,
                      _vpn_public_tcp_ports=[22, 80, 443], _vpn_masquerade=False)
    input_chain = rules[rules.index("chain input {"):rules.index("chain forward {")]
    assert input_chain[2] == 'udp dport 51820 accept comment "WireGuard"'
    assert 'tcp dport { 22, 80, 443 } accept comment "public ports"' in input_chain
    assert input_chain[-2:] == ["drop", "}"]
    assert not [r for r in rules if "masquerade" in r]


def test_the_relay_lets_the_measurement_in_only_from_its_set_which_the_file_leaves_empty():
    rules, text = render(_vpn_role="vps_relay", _vpn_interface="wg-relay", _vpn_host_ports=[], _vpn_icmp=False,
                         _vpn_public_tcp_ports=[22, 80, 443], _vpn_masquerade=False, _vpn_measure_port=5201)
    assert rules[3:7] == ["set measure_from {", "type ipv4_addr", "flags timeout", "}"]  # no elements
    input_chain = rules[rules.index("chain input {"):rules.index("chain forward {")]
    measure = 'iifname "wg-relay" ip saddr @measure_from tcp dport 5201 accept comment "iperf3, only while a measurement runs"'
    assert input_chain.index(measure) < input_chain.index('iifname "wg-relay" drop')
    assert not [r for r in rules if "5201" in r and r != measure]  # not among the public ports
    for measure_port in (0, None):
        over = {} if measure_port is None else {"_vpn_measure_port": measure_port}
        assert "measure_from" not in render(_vpn_public_tcp_ports=[22], **over)[1]


def test_the_vpn_roles_render_as_before_without_the_new_options():
    rules, _ = render()
    assert "drop" not in [r for r in rules if not r.startswith("iifname") and not r.startswith("oifname")]
    assert 'iifname "wg0" meta l4proto { icmp, ipv6-icmp } accept' in rules
