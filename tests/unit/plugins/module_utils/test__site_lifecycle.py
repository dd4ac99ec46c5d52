"""The method table against the roles it describes, the site section of the host record, and
what a switch closes for every pair of methods."""

from __future__ import annotations

import itertools
import os

import pytest
import yaml

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
LAN = {"lan_subnets": ["192.168.1.0/24"], "wireguard_networks": ["10.13.13.0/24"]}
VARIANTS = [(m, False) for m in _site.METHODS] + [("port_forward", True)]


def role_yaml(role, kind="defaults"):
    with open(os.path.join(ROOT, "roles", role, kind, "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def role_options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def owner(option):
    """The role whose defaults hold option."""
    return "jellyfin_remote" if option.startswith("jellyfin_remote_") else next(
        role for role in os.listdir(os.path.join(ROOT, "roles")) if option.startswith(role + "_"))


@pytest.mark.parametrize("key", sorted(_site.METHOD_TABLE))
def test_port_defaults_are_the_roles_own(key):
    for port in _site.METHOD_TABLE[key]["ports"]:
        if "option" not in port:
            continue
        default = role_yaml(owner(port["option"]))[port["option"]]
        if isinstance(default, list):  # a list of ports: the first is the method's
            default = default[0]["port"]
        assert default == port["default"], (key, port["option"])
        if port.get("protocol_option"):
            assert role_yaml(owner(port["protocol_option"]))[port["protocol_option"]] == port["protocol"]
    # The port_forward role's own default port is the site's too.
    assert role_yaml("port_forward")["port_forward_ports"][0]["port"] == 8096


@pytest.mark.parametrize("key", sorted(_site.METHOD_TABLE))
def test_roles_exist_and_can_be_removed(key):
    entry = _site.METHOD_TABLE[key]
    assert entry["roles"] and all(role in _site.CLOSE_ORDER for role in entry["roles"])
    for role in entry["roles"]:
        assert "%s_state" % role in role_options(role), "%s has no %s_state: it cannot be closed" % (role, role)
        assert set(role_options(role)["%s_state" % role]["choices"]) == {"present", "absent"}


def test_names_on_the_host_are_the_roles():
    tables = {t for entry in _site.METHOD_TABLE.values() for t in entry["tables"]}
    assert tables == {"inet " + role_yaml(role, "vars")["__%s_nft_table" % role]
                      for role in ("port_forward", "wireguard", "openvpn", "vps_relay")}
    units = {u for entry in _site.METHOD_TABLE.values() for u in entry["units"]}
    assert "wg-quick@%s.service" % role_yaml("vps_relay")["vps_relay_interface"] in units
    assert "wg-quick@%s.service" % role_yaml("wireguard")["wireguard_interface"] in units
    assert "openvpn-server@%s.service" % role_yaml("openvpn")["openvpn_instance"] in units
    assert "%s.service" % role_yaml("cloudflare_tunnel")["cloudflare_tunnel_service_name"] in units
    assert "%s.timer" % role_yaml("port_forward", "vars")["__port_forward_renew_unit"] in units
    assert role_yaml("port_forward", "vars")["__port_forward_nft_unit"] in units


@pytest.mark.parametrize("method, https", VARIANTS)
def test_the_plan_takes_its_ports_from_the_table(method, https):
    settings = dict(LAN, https=https, https_domain="media.example.org")
    got = [(p["port"], p["protocol"]) for p in _site.plan(method, settings)["ports"]]
    want = [(p.get("port", p.get("default")), p["protocol"]) for p in _site.method_facts(method, https)["ports"]]
    assert got == want


def test_options_move_ports():
    assert _site.plan("wireguard", dict(LAN, wireguard_listen_port=None))["ports"][0]["port"] == 51820
    assert _site.plan("wireguard", dict(LAN, wireguard_listen_port=51900))["ports"][0]["port"] == 51900
    ovpn = _site.plan("openvpn", dict(LAN, openvpn_port="1195", openvpn_protocol="tcp"))["ports"][0]
    assert (ovpn["port"], ovpn["protocol"]) == (1195, "tcp")
    https = _site.plan("port_forward", dict(https=True, https_domain="x.example", https_port=8921,
                                            https_challenge="dns-01"))["ports"]
    assert [p["port"] for p in https] == [8921]
    with pytest.raises(_site.SiteError, match="wireguard_listen_port"):
        _site.plan("wireguard", dict(LAN, wireguard_listen_port=70000))


def record_after(method, https=False, **facts):
    settings = dict(LAN, https=https, https_domain="media.example.org")
    return _site.site_record(method, https, _site.plan(method, settings), facts)


@pytest.mark.parametrize("old, new", list(itertools.product(VARIANTS, VARIANTS)))
def test_a_switch_closes_what_only_the_old_method_opened(old, new):
    recorded = record_after(*old)
    planned = _site.plan(new[0], dict(LAN, https=new[1], https_domain="media.example.org"))
    plan = _site.closing(recorded, new[0], new[1], planned)
    old_roles, new_roles = set(_site.method_facts(*old)["roles"]), set(_site.method_facts(*new)["roles"])
    expected = old_roles - new_roles
    if "port_forward" not in new_roles and old[0] != new[0]:
        expected.add("port_forward")  # closed from what it left on the host on every switch, record or not
    assert set(plan["roles"]) == expected
    assert plan["roles"] == [r for r in _site.CLOSE_ORDER if r in plan["roles"]]
    assert plan["previous"] == old[0]
    for name in plan["restore"]:
        assert recorded["jellyfin"].get(name) and not planned.get(name)
    for name, value in recorded["jellyfin"].items():
        if value and not planned.get(name):
            assert name in plan["restore"]
    if old == new:
        assert plan["restore"] == [] and set(plan["roles"]) <= {"port_forward"}


def test_known_switches_in_words():
    rp = record_after("reverse_proxy")
    wg = _site.plan("wireguard", LAN)
    plan = _site.closing(rp, "wireguard", False, wg)
    assert plan["roles"] == ["reverse_proxy"] and plan["restore"] == ["known_proxies"]
    plan = _site.closing(record_after("wireguard"), "tailscale", False, _site.plan("tailscale", LAN))
    assert plan["roles"] == ["wireguard", "port_forward"] and plan["restore"] == []
    plan = _site.closing(record_after("port_forward", True), "port_forward", False, _site.plan("port_forward", LAN))
    assert plan["roles"] == ["jellyfin_https"]


def test_without_a_record_only_port_forward_is_closed_and_only_when_no_port_is_planned():
    assert _site.closing({}, "tailscale")["roles"] == ["port_forward"]
    assert _site.closing(None, "wireguard")["roles"] == []
    assert _site.closing({}, "wireguard")["previous"] is None


def test_removal_closes_every_role_and_restores_every_setting():
    plan = _site.closing(record_after("wireguard"), None)
    assert plan["roles"] == list(_site.CLOSE_ORDER) and plan["restore"] == list(_site.JELLYFIN_SETTINGS)
    assert plan["previous"] == "wireguard"


def test_the_record_before_a_run_names_the_roles_of_both_methods():
    rp = record_after("reverse_proxy", ddns_hostname="home.example.org")
    pending = _site.site_record("tailscale", False, recorded=rp)
    assert pending["method"] == "tailscale" and pending["roles"] == ["port_forward", "reverse_proxy", "tailscale"]
    assert pending["ddns_hostname"] == "home.example.org"
    after = record_after("tailscale")
    # An unchanged re-run writes the same record twice: nothing changes.
    assert _site.site_record("tailscale", False, recorded=after) == after
    assert after["roles"] == ["tailscale"] and after["ports"] == []
    assert _site.site_record("wireguard", False, recorded=None, planned=None)["roles"] == ["port_forward", "wireguard"]


def test_the_record_holds_what_jellyfin_was_told_and_no_secret():
    rec = record_after("reverse_proxy", ddns_hostname="home.example.org", domain="media.example.org",
                       enable_remote_access=True)
    assert rec["jellyfin"] == {"known_proxies": ["127.0.0.1"], "enable_remote_access": True}
    assert rec["ports"] == [{"port": 80, "protocol": "tcp"}, {"port": 443, "protocol": "tcp"}]
    wg = record_after("wireguard")
    assert wg["jellyfin"]["local_network_subnets"] == ["192.168.1.0/24", "10.13.13.0/24"]
    assert not any(_host_secret(key) for key in _keys(rec))


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _host_secret(key):
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._host_record import SECRET_KEY
    return SECRET_KEY.search(key)


def test_the_summary_says_what_the_method_keeps_open():
    plan = _site.plan("wireguard", LAN)
    opened = _site.summary("wireguard", {"ports": plan["ports"]})["opened"]
    assert opened[0] == "router and host firewall: 51820/udp"
    assert any("wg-quick@wg0.service" in line for line in opened)
    assert any("inet jellyfin_remote_wireguard" in line for line in opened)
    opened = _site.summary("tailscale", {})["opened"]
    assert not any(line.startswith("router") for line in opened) and any("tailscaled" in line for line in opened)
    https = _site.summary("port_forward", {"https": True, "ports": [{"port": 8920, "protocol": "tcp"}]})["opened"]
    assert https[0] == "router and host firewall: 8920/tcp"


@pytest.mark.parametrize("method", sorted(m for m in _site.METHODS if "port_forward" not in _site.method_facts(m)["roles"]))
def test_a_rerun_of_a_method_that_opens_no_port_closes_nothing(method):
    # The run that switched to it (or the first, without a record) closed port_forward.
    recorded = record_after(method)
    planned = _site.plan(method, dict(LAN, https=False, https_domain="media.example.org"))
    assert _site.closing(recorded, method, False, planned)["roles"] == []
    assert "port_forward" in _site.closing({}, method, False, planned)["roles"]
    assert "port_forward" in _site.closing(record_after("wireguard"), method, False, planned)["roles"]
