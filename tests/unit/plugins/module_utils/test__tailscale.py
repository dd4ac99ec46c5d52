"""The tailscale role's decisions, fed with `tailscale status --json` shapes of tailscale 1.102."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter import tailscale as tailscale_filters
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _tailscale

OWNER = 2210000000001
FRIEND = 2210000000777
TAGGED = 2210000000002  # the tailnet's "tagged-devices" user

STATUS = {
    "BackendState": "Running",
    "Self": {
        "DNSName": "jellyfin.tail0a1b2c.ts.net.",
        "UserID": OWNER,
        "TailscaleIPs": ["100.100.7.8", "fd7a:115c:a1e0::7:8"],
        "Capabilities": ["deprecation-marker", "funnel", "https"],
        "CapMap": {"funnel": None, "https": None},
    },
    "Peer": {
        "nodekey:phone": {"HostName": "phone", "UserID": OWNER, "TailscaleIPs": ["100.90.1.2", "fd7a:115c:a1e0::1:2"]},
        "nodekey:nas": {"HostName": "nas", "UserID": TAGGED, "Tags": ["tag:nas"], "TailscaleIPs": ["100.80.0.9"]},
        # A friend's laptop the friend shared into this tailnet.
        "nodekey:shared-in": {"HostName": "friend-laptop", "UserID": FRIEND, "AltSharerUserID": FRIEND,
                              "TailscaleIPs": ["100.70.3.4", "fd7a:115c:a1e0::3:4"]},
        # A device of the friend this node was shared to: it sees us, it is not ours.
        "nodekey:sharee": {"HostName": "friend-phone", "UserID": OWNER, "ShareeNode": True,
                           "TailscaleIPs": ["100.70.3.5"]},
    },
    "User": {
        str(OWNER): {"ID": OWNER, "LoginName": "alice@example.test"},
        str(FRIEND): {"ID": FRIEND, "LoginName": "bob@example.test"},
        str(TAGGED): {"ID": TAGGED, "LoginName": "tagged-devices"},
    },
}


def test_own_nodes_lists_this_node_and_the_owners_devices_only():
    assert _tailscale.local_subnets(STATUS) == [
        "100.90.1.2/32", "100.100.7.8/32", "fd7a:115c:a1e0::1:2/128", "fd7a:115c:a1e0::7:8/128"]


def test_nodes_shared_in_or_shared_to_never_count():
    result = _tailscale.local_subnets(STATUS, "own_nodes")
    assert not [e for e in result if e.startswith(("100.70.", "fd7a:115c:a1e0::3:"))]
    assert "100.80.0.9/32" not in result  # another user's (the tagged devices')


def test_tailnet_mode_gives_the_whole_ranges():
    assert _tailscale.local_subnets(STATUS, "tailnet") == ["100.64.0.0/10", "fd7a:115c:a1e0::/48"]
    assert _tailscale.local_subnets({}, "tailnet") == ["100.64.0.0/10", "fd7a:115c:a1e0::/48"]


def test_a_tagged_node_counts_tagged_devices_and_the_users_named():
    status = copy.deepcopy(STATUS)
    status["Self"]["UserID"] = TAGGED
    status["Self"]["Tags"] = ["tag:jellyfin"]
    assert _tailscale.local_subnets(status) == ["100.80.0.9/32", "100.100.7.8/32", "fd7a:115c:a1e0::7:8/128"]
    assert _tailscale.local_subnets(status, "own_nodes", ["Alice@Example.test"]) == [
        "100.80.0.9/32", "100.90.1.2/32", "100.100.7.8/32", "fd7a:115c:a1e0::1:2/128", "fd7a:115c:a1e0::7:8/128"]


@pytest.mark.parametrize("peers", [None, {}])
def test_no_peers_gives_this_node_only(peers):
    status = dict(STATUS, Peer=peers)
    assert _tailscale.local_subnets(status) == ["100.100.7.8/32", "fd7a:115c:a1e0::7:8/128"]


def test_an_unknown_login_name_is_refused_naming_the_option():
    with pytest.raises(_tailscale.TailscaleError) as err:
        _tailscale.local_subnets(STATUS, "own_nodes", ["carol@example.test"])
    text = str(err.value)
    assert "tailscale_local_subnet_users has ['carol@example.test']" in text
    assert "alice@example.test" in text and "bob@example.test" in text


@pytest.mark.parametrize("mode", ["all", "", None, "own-nodes"])
def test_a_wrong_mode_is_refused_naming_the_option(mode):
    with pytest.raises(_tailscale.TailscaleError, match=r"^tailscale_local_subnets must be one of own_nodes, tailnet, got"):
        _tailscale.local_subnets(STATUS, mode)


def test_a_logged_out_node_has_no_own_addresses():
    with pytest.raises(_tailscale.TailscaleError, match="BackendState NeedsLogin"):
        _tailscale.local_subnets({"BackendState": "NeedsLogin", "Self": {"TailscaleIPs": None}})


def test_filter_turns_errors_into_filter_errors():
    with pytest.raises(AnsibleFilterError, match="tailscale_local_subnets must be one of"):
        tailscale_filters.tailscale_local_subnets(STATUS, "everything")
    assert set(tailscale_filters.FilterModule().filters()) == {
        "tailscale_local_subnets", "tailscale_serve_plan", "tailscale_serve_readiness"}


# ------------------------------------------------------------------ serve readiness


def _without(*caps):
    status = copy.deepcopy(STATUS)
    status["Self"]["CapMap"] = {k: v for k, v in status["Self"]["CapMap"].items() if k not in caps}
    status["Self"]["Capabilities"] = [c for c in status["Self"]["Capabilities"] if c not in caps]
    return status


def test_a_node_with_https_can_serve_and_funnel():
    assert _tailscale.serve_readiness(STATUS) == ""
    assert _tailscale.serve_readiness(STATUS, funnel=True) == ""


def test_a_tailnet_without_https_certificates_is_refused_with_the_admin_console_step():
    text = _tailscale.serve_readiness(_without("https"))
    assert "HTTPS certificates" in text and "Enable HTTPS" in text and "admin console" in text
    assert "jellyfin.tail0a1b2c.ts.net has no 'https' capability" in text
    assert "tailscale_serve: false" in text


def test_funnel_needs_the_funnel_attribute():
    assert _tailscale.serve_readiness(_without("funnel")) == ""
    text = _tailscale.serve_readiness(_without("funnel"), funnel=True)
    assert text.startswith("tailscale_funnel is true") and "nodeAttrs" in text


def test_the_older_capabilities_list_alone_is_enough():
    status = copy.deepcopy(STATUS)
    del status["Self"]["CapMap"]
    assert _tailscale.serve_readiness(status) == ""
    assert _tailscale.serve_readiness({"Self": {}}) != ""


# ------------------------------------------------------------------ serve plan

HOST = "jellyfin.tail0a1b2c.ts.net"
TARGET = "http://127.0.0.1:8096"
SERVED = {"TCP": {"443": {"HTTPS": True}}, "Web": {HOST + ":443": {"Handlers": {"/": {"Proxy": TARGET}}}}}


@pytest.mark.parametrize("empty", [None, {}])
def test_an_empty_config_null_or_object_needs_one_serve_command(empty):
    plan = _tailscale.serve_plan(empty, HOST + ".", 443, TARGET)
    assert plan["ok"] is False
    assert plan["commands"] == [["tailscale", "serve", "--bg", "--yes", "--https=443", TARGET]]


def test_the_wanted_config_needs_nothing():
    assert _tailscale.serve_plan(SERVED, HOST, 443, TARGET) == {
        "ok": True, "commands": [], "proxy": TARGET, "funnel": False, "port_in_use": True}


def test_another_target_is_turned_off_then_set():
    sc = copy.deepcopy(SERVED)
    sc["Web"][HOST + ":443"]["Handlers"]["/"]["Proxy"] = "http://127.0.0.1:9000"
    assert _tailscale.serve_plan(sc, HOST, 443, TARGET)["commands"] == [
        ["tailscale", "serve", "--https=443", "off"], ["tailscale", "serve", "--bg", "--yes", "--https=443", TARGET]]


def test_funnel_switched_on_and_off():
    plan = _tailscale.serve_plan(SERVED, HOST, 443, TARGET, funnel=True)
    assert plan["commands"][-1] == ["tailscale", "funnel", "--bg", "--yes", "--https=443", TARGET]
    funneled = dict(copy.deepcopy(SERVED), AllowFunnel={HOST + ":443": True})
    assert _tailscale.serve_plan(funneled, HOST, 443, TARGET, funnel=True)["ok"] is True
    assert _tailscale.serve_plan(funneled, HOST, 443, TARGET)["commands"][0] == ["tailscale", "funnel", "--https=443", "off"]


def test_serve_false_turns_the_port_off_once():
    assert _tailscale.serve_plan(SERVED, HOST, 443, TARGET, serve=False)["commands"] == [
        ["tailscale", "serve", "--https=443", "off"]]
    assert _tailscale.serve_plan(None, HOST, 443, TARGET, serve=False) == {
        "ok": True, "commands": [], "proxy": "", "funnel": False, "port_in_use": False}
