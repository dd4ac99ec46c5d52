"""upnp_port_mapping main(): options, results, check mode, diff and failures, with a fake miniupnpc."""

from __future__ import annotations

import sys
from unittest import mock

import pytest

from harness import run_module
from standins.upnp import LAN, OTHER, WAN, FakeUPnP

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ssdp
from ansible_collections.homelab.jellyfin_remote.plugins.modules import upnp_port_mapping


@pytest.fixture
def router():
    client = FakeUPnP()
    with mock.patch.object(upnp_port_mapping, "new_client", lambda multicast_interface=None: client), \
            mock.patch.object(_ssdp, "find_igd", client.locate):
        yield client


def run(args, warnings=None):
    kind, result, seen = run_module(upnp_port_mapping.main, args)
    assert kind == "exit", result
    if warnings is not None:
        warnings.extend(seen)
    return result


def fail(args):
    kind, result, _warnings = run_module(upnp_port_mapping.main, args)
    assert kind == "fail", result
    return result


def test_add_then_no_change(router):
    first = run({"external_port": 8096, "description": "Jellyfin"})
    assert first["changed"] is True
    assert first["mapping"]["internal_client"] == LAN and first["external_ip"] == WAN
    second = run({"external_port": 8096, "description": "Jellyfin"})
    assert second["changed"] is False
    assert [c for c in router.writes() if c[0] == "add"] == [("add", 8096, "TCP", LAN, 8096, "Jellyfin", "", 3600)]


def test_check_mode_writes_nothing(router):
    result = run({"external_port": 8096, "_ansible_check_mode": True})
    assert result["changed"] is True and router.writes() == []


def test_diff(router):
    result = run({"external_port": 8096, "_ansible_diff": True})
    assert result["diff"]["before"] == {} and result["diff"]["after"]["external_port"] == 8096


def test_udp_and_internal_port(router):
    result = run({"external_port": 51820, "internal_port": 51821, "protocol": "UDP", "lease_duration": 0})
    assert result["mapping"]["protocol"] == "UDP" and result["mapping"]["internal_port"] == 51821
    assert router.writes()[-1][-1] == 0


def test_absent(router):
    run({"external_port": 8096})
    assert run({"external_port": 8096, "state": "absent"})["changed"] is True
    assert run({"external_port": 8096, "state": "absent"})["changed"] is False


def test_warning_for_permanent_only(router):
    router.add_error = ["OnlyPermanentLeasesSupported"]
    warnings = []
    result = run({"external_port": 8096}, warnings)
    assert "warning" not in result
    assert len(warnings) == 1
    assert "UPnP error 725" in warnings[0]


def test_cgnat_failure_kind_and_message(router):
    router.external = ""
    result = fail({"external_port": 8096, "_ansible_check_mode": True})
    assert result["error_kind"] == "cgnat" and result["changed"] is False
    assert result["msg"].startswith("Port forwarding is impossible here (CGNAT or double NAT): the router reports an empty external")


def test_conflict_failure_reports_previous(router):
    router.mappings[(8096, "TCP")] = (OTHER, 8096, "Plex", True, 0)
    result = fail({"external_port": 8096})
    assert result["error_kind"] == "conflict" and result["previous"]["internal_client"] == OTHER


def test_no_igd_failure(router):
    router.devices = 0
    result = fail({"external_port": 8096})
    assert result["error_kind"] == "no_igd" and "Forward the port by hand" in result["msg"]


def test_missing_miniupnpc():
    with mock.patch.object(upnp_port_mapping, "new_client", lambda multicast_interface=None: None):
        result = fail({"external_port": 8096})
    assert result["error_kind"] == "config"
    assert "miniupnpc" in result["msg"] and "python3-miniupnpc" in result["msg"]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"external_port": 0}, "external_port must be a port from 1 to 65535, got 0"),
        ({"external_port": 8096, "internal_port": 70000}, "internal_port must be a port from 1 to 65535, got 70000"),
        ({"external_port": 8096, "lease_duration": -1}, "lease_duration must be 0 (permanent) or more seconds, got -1"),
        ({"external_port": 8096, "min_lease_remaining": -5}, "min_lease_remaining must be 0 or more seconds, got -5"),
        ({"external_port": 8096, "discovery_delay_ms": 10},
         "discovery_delay_ms must be from 100 to 60000, got 10; 2000 suits most routers"),
        ({"external_port": 8096, "internal_client": "server.lan"},
         "internal_client must be this host's LAN IPv4 address, such as 192.168.1.20, got 'server.lan'"),
        ({"external_port": 8096, "internal_client": "fd00::2"},
         "internal_client must be an IPv4 address (UPnP IGD port mappings are IPv4), got fd00::2"),
    ],
)
def test_option_errors(router, args, message):
    result = fail(args)
    assert (result["msg"], result["error_kind"]) == (message, "config")
    assert router.calls == []


def test_new_client_without_miniupnpc():
    with mock.patch.dict(sys.modules, {"miniupnpc": None}):
        assert upnp_port_mapping.new_client() is None


def test_new_client_with_miniupnpc():
    fake = mock.Mock()
    with mock.patch.dict(sys.modules, {"miniupnpc": fake}):
        assert upnp_port_mapping.new_client() is fake.UPnP.return_value


def test_new_client_takes_the_multicast_interface_when_made():
    fake = mock.Mock()
    with mock.patch.dict(sys.modules, {"miniupnpc": fake}):
        assert upnp_port_mapping.new_client("10.0.0.2") is fake.UPnP.return_value
    fake.UPnP.assert_called_once_with(multicastif="10.0.0.2")


def test_multicast_interface_reaches_the_client():
    made = {}

    def factory(multicast_interface=None):
        made["multicast_interface"] = multicast_interface
        return FakeUPnP(devices=0)

    with mock.patch.object(upnp_port_mapping, "new_client", factory):
        result = fail({"external_port": 8096, "multicast_interface": "eth1"})
    assert made == {"multicast_interface": "eth1"}
    assert "answered on eth1 within" in result["msg"]


# -- mappings: several mappings, one discovery ------------------------------------------------

TWO = [{"external_port": 8096, "description": "Jellyfin HTTP"},
       {"external_port": 51820, "protocol": "UDP", "lease_duration": 0, "description": "WireGuard"}]


def test_mappings_discover_once_and_report_each(router):
    result = run({"mappings": TWO})
    assert router.calls.count("locate") == 1 and "discover" not in router.calls and router.calls.count("externalipaddress") == 1
    assert result["changed"] is True
    assert [(m["external_port"], m["protocol"], m["changed"]) for m in result["mappings"]] == [
        (8096, "TCP", True), (51820, "UDP", True)]
    assert result["mappings"][1]["mapping"]["lease_remaining"] == 0
    assert (result["lan_address"], result["external_ip"]) == (LAN, WAN)
    assert "mapping" not in result and "previous" not in result
    assert [c[1] for c in router.writes()] == [8096, 51820]


def test_mappings_second_run_changes_nothing(router):
    run({"mappings": TWO})
    router.calls.clear()
    result = run({"mappings": TWO})
    assert result["changed"] is False and router.writes() == []
    assert [m["changed"] for m in result["mappings"]] == [False, False]
    assert router.calls.count("locate") == 1 and "discover" not in router.calls


def test_mappings_check_mode_predicts_each_and_writes_nothing(router):
    run({"mappings": TWO[:1]})
    router.calls.clear()
    result = run({"mappings": TWO, "_ansible_check_mode": True})
    assert [m["changed"] for m in result["mappings"]] == [False, True]
    assert result["changed"] is True and router.writes() == []


def test_mappings_state_per_mapping_removes_and_adds_in_one_call(router):
    run({"mappings": TWO[:1]})
    router.calls.clear()
    result = run({"mappings": [{"external_port": 8096, "state": "absent"}, TWO[1]]})
    assert [(m["state"], m["changed"]) for m in result["mappings"]] == [("absent", True), ("present", True)]
    assert router.writes() == [("delete", 8096, "TCP"), ("add", 51820, "UDP", LAN, 51820, "WireGuard", "", 0)]
    assert router.calls.count("locate") == 1 and "discover" not in router.calls


def test_mappings_take_state_and_force_from_the_module(router):
    router.mappings[(8096, "TCP")] = (OTHER, 8096, "Plex", True, 0)
    result = run({"mappings": [{"external_port": 8096}], "state": "absent", "force": True})
    assert result["mappings"][0]["changed"] is True and (8096, "TCP") not in router.mappings


def test_mappings_force_per_mapping_overrides_the_module(router):
    router.mappings[(8096, "TCP")] = (OTHER, 8096, "Plex", True, 0)
    result = fail({"mappings": [{"external_port": 8096, "state": "absent", "force": False}], "force": True})
    assert result["error_kind"] == "conflict" and router.writes() == []


def test_mappings_report_each_failure_and_go_on_with_the_others(router):
    router.mappings[(8096, "TCP")] = (OTHER, 8096, "Plex", True, 0)
    result = fail({"mappings": TWO})
    assert result["error_kind"] == "conflict" and result["changed"] is True
    first, second = result["mappings"]
    assert first["error_kind"] == "conflict" and first["failed"] is True and OTHER in first["msg"]
    assert first["previous"]["internal_client"] == OTHER
    assert second["changed"] is True and "error_kind" not in second
    assert result["msg"] == first["msg"]


def test_mappings_cgnat_fails_every_present_mapping(router):
    router.external = ""
    result = fail({"mappings": TWO, "_ansible_check_mode": True})
    assert result["error_kind"] == "cgnat" and result["changed"] is False
    assert [m["error_kind"] for m in result["mappings"]] == ["cgnat", "cgnat"]
    assert result["msg"].startswith("Port forwarding is impossible here (CGNAT or double NAT)")
    assert result["msg"].count("Port forwarding is impossible") == 1  # said once, not per port


def test_mappings_absent_works_behind_cgnat(router):
    router.mappings[(8096, "TCP")] = (LAN, 8096, "Jellyfin", True, 0)
    router.external = ""
    result = run({"mappings": [{"external_port": 8096}], "state": "absent"})
    assert result["changed"] is True


def test_mappings_no_igd_names_every_port_and_marks_each(router):
    router.devices = 0
    result = fail({"mappings": TWO})
    assert result["error_kind"] == "no_igd"
    assert [m["error_kind"] for m in result["mappings"]] == ["no_igd", "no_igd"]
    assert "external port 8096" in result["msg"] and "external port 51820" in result["msg"]
    assert router.calls.count("locate") == 1 and "discover" not in router.calls


def test_mappings_empty_asks_nothing(router):
    result = run({"mappings": []})
    assert result == {"changed": False, "state": "present", "igd": None, "lan_address": None, "external_ip": None,
                      "mappings": []}
    assert router.calls == []


def test_mappings_warning_per_permanent_only_mapping(router):
    router.add_error = ["OnlyPermanentLeasesSupported"]
    warnings = []
    result = run({"mappings": TWO}, warnings)
    assert len(warnings) == 1 and "TCP port 8096" in warnings[0]
    assert all("warning" not in m for m in result["mappings"])


def test_mappings_diff_lists_each(router):
    result = run({"mappings": TWO, "_ansible_diff": True})
    assert result["diff"]["before"] == {"TCP/8096": {}, "UDP/51820": {}}
    assert result["diff"]["after"]["UDP/51820"]["protocol"] == "UDP"


@pytest.mark.parametrize(
    "args, message",
    [
        ({"mappings": TWO, "external_port": 8096}, "parameters are mutually exclusive: mappings|external_port"),
        ({"mappings": TWO, "description": "x"}, "parameters are mutually exclusive: mappings|description"),
        ({}, "one of the following is required: external_port, mappings"),
    ],
)
def test_mappings_spec_errors(router, args, message):
    result = fail(args)
    assert message in result["msg"]
    assert router.calls == []


@pytest.mark.parametrize(
    "mappings, message",
    [
        ([{"external_port": 8096}, {"external_port": 70000}],
         "mappings[1].external_port must be a port from 1 to 65535, got 70000"),
        ([{"external_port": 8096, "lease_duration": -1}],
         "mappings[0].lease_duration must be 0 (permanent) or more seconds, got -1"),
        ([{"external_port": 8096, "internal_client": "fd00::2"}],
         "mappings[0].internal_client must be an IPv4 address (UPnP IGD port mappings are IPv4), got fd00::2"),
        ([{"external_port": 8096}, {"external_port": 8096, "protocol": "TCP", "internal_port": 8097}],
         "mappings: TCP port 8096 is listed twice (entries 0 and 1); list each external port and protocol once"),
    ],
)
def test_mappings_option_errors(router, mappings, message):
    result = fail({"mappings": mappings})
    assert (result["msg"], result["error_kind"]) == (message, "config")
    assert router.calls == []
