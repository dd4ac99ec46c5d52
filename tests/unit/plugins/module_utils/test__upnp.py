"""_upnp with a fake miniupnpc client: every path and every message."""

from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upnp

from standins.upnp import IGD, LAN, OTHER, ROOT_DESC, WAN, FakeUPnP


def ensure(client, **kwargs):
    kwargs.setdefault("external_port", 8096)
    return _upnp.ensure(client, **kwargs)


def error(client, **kwargs):
    with pytest.raises(_upnp.UpnpError) as exc:
        ensure(client, **kwargs)
    return exc.value


# -- present ---------------------------------------------------------------------------------


def test_adds_a_missing_mapping_to_the_lan_address():
    client = FakeUPnP()
    result = ensure(client)
    assert result["changed"] is True
    assert client.writes() == [("add", 8096, "TCP", LAN, 8096, "jellyfin_remote", "", 3600)]
    assert result["mapping"] == {"external_port": 8096, "protocol": "TCP", "internal_client": LAN, "internal_port": 8096,
                                 "description": "jellyfin_remote", "enabled": True, "lease_remaining": 3600}
    assert (result["external_ip"], result["lan_address"], result["igd"], result["previous"]) == (WAN, LAN, IGD, None)
    assert client.discoverdelay == 2000


def test_second_run_changes_nothing():
    client = FakeUPnP()
    ensure(client)
    client.calls.clear()
    result = ensure(client)
    assert result["changed"] is False and client.writes() == []
    assert result["previous"] == result["mapping"]


def test_check_mode_predicts_and_only_reads():
    client = FakeUPnP()
    result = ensure(client, check_mode=True, internal_port=8097, protocol="udp", lease_duration=600)
    assert result["changed"] is True and client.writes() == []
    assert result["mapping"]["internal_port"] == 8097 and result["mapping"]["protocol"] == "UDP"
    assert result["mapping"]["lease_remaining"] == 600


@pytest.mark.parametrize(
    "existing, kwargs, changed",
    [
        ((LAN, 8096, "jellyfin_remote", True, 3000), {}, False),  # enough lease left
        ((LAN, 8096, "jellyfin_remote", True, 1000), {}, True),  # less than half of 3600 left
        ((LAN, 8096, "jellyfin_remote", True, 1000), {"min_lease_remaining": 900}, False),
        ((LAN, 8096, "jellyfin_remote", True, 0), {}, False),  # permanent is always enough
        ((LAN, 8096, "jellyfin_remote", True, 3000), {"lease_duration": 0}, True),  # permanent wanted
        ((LAN, 8096, "jellyfin_remote", True, 0), {"lease_duration": 0}, False),
        ((LAN, 8096, "other text", True, 3000), {}, True),  # description differs
        ((LAN, 8096, "jellyfin_remote", False, 3000), {}, True),  # disabled
        ((LAN, 9000, "jellyfin_remote", True, 3000), {}, True),  # internal port differs
    ],
)
def test_existing_mapping_decides_changed(existing, kwargs, changed):
    client = FakeUPnP(mappings={(8096, "TCP"): existing})
    result = ensure(client, check_mode=True, **kwargs)
    assert result["changed"] is changed
    assert result["previous"]["internal_client"] == LAN


def test_refresh_of_another_internal_port_removes_the_old_one_first():
    client = FakeUPnP(mappings={(8096, "TCP"): (LAN, 9000, "jellyfin_remote", True, 3000)})
    ensure(client)
    assert client.writes() == [("delete", 8096, "TCP"), ("add", 8096, "TCP", LAN, 8096, "jellyfin_remote", "", 3600)]


def test_conflict_with_another_client_names_it():
    client = FakeUPnP(mappings={(8096, "TCP"): (OTHER, 8096, "Plex", True, 0)})
    exc = error(client)
    assert exc.kind == "conflict"
    assert str(exc) == (
        "TCP port 8096 on the router is already mapped to another client, 192.168.1.30:8096 ('Plex'); this "
        "host is 192.168.1.20. Free that mapping on the router, pick another external_port, or set force: "
        "true to take it over."
    )
    assert exc.details["previous"]["internal_client"] == OTHER
    assert client.writes() == []


def test_conflict_in_check_mode_fails_too():
    client = FakeUPnP(mappings={(8096, "TCP"): (OTHER, 8096, "Plex", True, 0)})
    assert error(client, check_mode=True).kind == "conflict"


def test_force_takes_the_port_over():
    client = FakeUPnP(mappings={(8096, "TCP"): (OTHER, 8096, "Plex", True, 0)})
    result = ensure(client, force=True)
    assert result["changed"] is True
    assert client.writes()[0] == ("delete", 8096, "TCP")
    assert result["mapping"]["internal_client"] == LAN


def test_given_internal_client_is_used():
    client = FakeUPnP()
    result = ensure(client, internal_client="192.168.1.21", multicast_interface="eth1")
    assert result["mapping"]["internal_client"] == "192.168.1.21"
    assert client.multicastif is None  # miniupnpc takes it when the object is made


def test_router_conflict_answer():
    exc = error(FakeUPnP(add_error="ConflictInMappingEntry"))
    assert exc.kind == "conflict"
    assert str(exc) == (
        "The router refused TCP port 8096 for 192.168.1.20 (ConflictInMappingEntry, UPnP error 718): another "
        "client or a static rule of the router holds it. Remove that rule, pick another external_port, or "
        "set force: true."
    )


def test_only_permanent_leases_falls_back_with_a_warning():
    client = FakeUPnP(add_error=["OnlyPermanentLeasesSupported"])
    result = ensure(client)
    assert [c[-1] for c in client.writes()] == [3600, 0]
    assert result["mapping"]["lease_remaining"] == 0
    assert result["warning"] == (
        "The router accepts only permanent mappings (UPnP error 725): TCP port 8096 was mapped without a "
        "lease and stays until it is removed."
    )


def test_not_authorized():
    exc = error(FakeUPnP(add_error="Action not authorized"), internal_client=OTHER)
    assert exc.kind == "refused"
    assert str(exc).startswith(
        "The router refused to map TCP port 8096 to 192.168.1.30 (UPnP error 606, Action not authorized): "
        "routers in secure mode map ports only to the address that asks, so run this on 192.168.1.30"
    )
    assert "Forward the port by hand" in str(exc)


def test_other_add_error_gives_manual_instructions():
    exc = error(FakeUPnP(add_error="UnknownError"))
    assert exc.kind == "failed"
    assert str(exc) == (
        "The router refused to map TCP port 8096 to 192.168.1.20:8096: UnknownError. Forward the port by "
        "hand: open the router's web interface, find Port Forwarding (also called Virtual Server, NAT or "
        "Port Mapping) and add a rule: protocol TCP, external port 8096, internal address 192.168.1.20, "
        "internal port 8096. Give 192.168.1.20 a DHCP reservation (or a static address) so the rule keeps "
        "pointing at this server."
    )


def test_mapping_missing_after_add():
    exc = error(FakeUPnP(forget_after_add=True))
    assert exc.kind == "failed"
    assert str(exc).startswith("The router accepted TCP port 8096 -> 192.168.1.20:8096 but does not list it afterwards.")


# -- CGNAT and double NAT ------------------------------------------------------------------


CGNAT_TAIL = (
    ". The router is not reachable from the internet on its own address, so no forwarded port can reach "
    "this server. Use a way in that needs no open port on this router: tailscale"
)


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"external": ""}, "the router reports an empty external (WAN) address"),
        ({"external": "0.0.0.0"}, "the router reports 0.0.0.0 as its external address, which means it has none"),
        ({"external": "100.64.10.2"}, "the router's external address 100.64.10.2 is in 100.64.0.0/10, the ISP's carrier-grade NAT"),
        ({"external": "192.168.0.2"}, "the router's external address 192.168.0.2 is private, so another router or the ISP NATs in front of it"),
        ({"external": "garbage"}, "the router reports 'garbage' as its external address, which is not an IP address"),
        ({"external_error": "Miniupnpc HTTP error"}, "the router did not tell its external address (Miniupnpc HTTP error)"),
        ({"add_error": "Action Failed", "external": WAN}, "the router refused the mapping with UPnP error 501 (ActionFailed)"),
    ],
)
def test_cgnat_message(kwargs, reason):
    client = FakeUPnP(**kwargs)
    exc = error(client)
    assert exc.kind == "cgnat"
    message = str(exc)
    assert message.startswith("Port forwarding is impossible here (CGNAT or double NAT): " + reason + CGNAT_TAIL)
    for way in ("tailscale", "cloudflare_tunnel", "VPS"):
        assert way in message


def test_cgnat_is_found_in_check_mode_without_writing():
    client = FakeUPnP(external="")
    assert error(client, check_mode=True).kind == "cgnat"
    assert client.writes() == []


def test_allow_ranges_accepts_a_lab_address():
    result = ensure(FakeUPnP(external="10.89.1.5"), allow_ranges=["10.89.1.0/24"])
    assert result["external_ip"] == "10.89.1.5" and result["changed"] is True


def test_bad_allow_range():
    exc = error(FakeUPnP(), allow_ranges=["ten"])
    assert (exc.kind, str(exc)) == ("config", "allow_ranges: 'ten' is not a CIDR range such as 198.51.100.0/24 or 2001:db8::/32")


# -- no router ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, detail",
    [
        ({"devices": 0}, "no UPnP device answered the SSDP search"),
        ({"igd": None}, "1 UPnP device(s) answered but none is a usable gateway: No UPnP device discovered"),
        ({"discover_error": "Miniupnpc Socket error"}, "SSDP discovery failed: Miniupnpc Socket error"),
    ],
)
def test_no_igd_tells_how_to_forward_by_hand(kwargs, detail):
    exc = error(FakeUPnP(**kwargs), discovery_delay_ms=500, multicast_interface="eth1", internal_client=LAN)
    assert exc.kind == "no_igd"
    assert str(exc) == (
        "No UPnP Internet Gateway Device answered on eth1 within 500 ms (%s): the router has UPnP switched "
        "off or does not support it, or discovery_delay_ms is too short. Switch UPnP IGD on in the router and "
        "run again, or forward the port yourself. Forward the port by hand: open the router's web interface, "
        "find Port Forwarding (also called Virtual Server, NAT or Port Mapping) and add a rule: protocol TCP, "
        "external port 8096, internal address 192.168.1.20, internal port 8096. Give 192.168.1.20 a DHCP "
        "reservation (or a static address) so the rule keeps pointing at this server." % detail
    )


def test_no_igd_without_a_known_address():
    exc = error(FakeUPnP(devices=0))
    assert "internal address this server's LAN address" in str(exc)


def test_no_lan_address():
    exc = error(FakeUPnP(lanaddr=""))
    assert (exc.kind, str(exc)) == (
        "config", "miniupnpc reported no LAN address for this host; set internal_client to the server's LAN address")


def test_read_error():
    exc = error(FakeUPnP(read_error="Miniupnpc HTTP error"))
    assert (exc.kind, str(exc)) == ("failed", "reading the mapping of TCP port 8096 from the router failed: Miniupnpc HTTP error")


def test_read_no_such_entry_is_no_mapping():
    assert ensure(FakeUPnP(read_error="NoSuchEntryInArray"), check_mode=True)["previous"] is None


# -- absent ---------------------------------------------------------------------------------


def test_absent_removes_own_mapping_then_changes_nothing():
    client = FakeUPnP(mappings={(8096, "TCP"): (LAN, 8096, "jellyfin_remote", True, 3000)})
    result = ensure(client, state="absent")
    assert result["changed"] is True and client.writes() == [("delete", 8096, "TCP")]
    assert result["mapping"] is None and result["previous"]["internal_client"] == LAN
    assert ensure(client, state="absent")["changed"] is False


def test_absent_in_check_mode():
    client = FakeUPnP(mappings={(8096, "TCP"): (LAN, 8096, "jellyfin_remote", True, 3000)})
    assert ensure(client, state="absent", check_mode=True)["changed"] is True
    assert client.writes() == []


def test_absent_works_behind_cgnat():
    assert ensure(FakeUPnP(external=""), state="absent")["changed"] is False


def test_absent_keeps_another_clients_mapping():
    client = FakeUPnP(mappings={(8096, "TCP"): (OTHER, 8096, "Plex", True, 0)})
    exc = error(client, state="absent")
    assert exc.kind == "conflict"
    assert str(exc) == (
        "TCP port 8096 on the router is mapped to 192.168.1.30:8096 ('Plex'), not to 192.168.1.20: not "
        "removing another client's mapping. Set force: true to remove it anyway."
    )
    assert ensure(client, state="absent", force=True)["changed"] is True


def test_absent_delete_error():
    client = FakeUPnP(mappings={(8096, "TCP"): (LAN, 8096, "x", True, 0)}, delete_error="Action not authorized")
    exc = error(client, state="absent")
    assert (exc.kind, str(exc)) == ("failed", "removing TCP port 8096 from the router failed: Action not authorized")


def test_absent_already_gone_at_delete_is_fine():
    client = FakeUPnP(mappings={(8096, "TCP"): (LAN, 8096, "x", True, 0)}, delete_error="NoSuchEntryInArray")
    assert ensure(client, state="absent")["changed"] is True


def test_replace_delete_error():
    client = FakeUPnP(mappings={(8096, "TCP"): (OTHER, 8096, "x", True, 0)}, delete_error="UnknownError")
    exc = error(client, force=True)
    assert (exc.kind, str(exc)) == ("failed", "removing the old mapping of TCP port 8096 failed: UnknownError")


# -- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lease_remaining, lease_duration, minimum, expected",
    [(0, 3600, 1800, True), (1800, 3600, 1800, True), (1799, 3600, 1800, False), (100, 0, 0, False)],
)
def test_lease_is_enough(lease_remaining, lease_duration, minimum, expected):
    existing = _upnp.Mapping(1, "TCP", LAN, 1, "d", True, lease_remaining)
    assert _upnp.lease_is_enough(existing, lease_duration, minimum) is expected


@pytest.mark.parametrize(
    "address, expected",
    [(WAN, (WAN, None)), (" 81.2.69.161 ", ("81.2.69.161", None)), ("2001:db8::1", ("2001:db8::1", "private"))],
)
def test_classify_external(address, expected):
    external, reason = _upnp.classify_external(address)
    assert external == expected[0]
    assert (reason is None) if expected[1] is None else (expected[1] in reason)


# -- plan_mappings: what port_forward asks for, in one call ----------------------------------


def test_plan_mappings_removes_earlier_ports_no_longer_planned():
    ports = [{"port": 8096}, {"port": 51820, "protocol": "udp", "internal_port": 51821, "description": "WireGuard"}]
    earlier = [{"external_port": 8096, "protocol": "TCP", "internal_client": LAN, "internal_port": 8096},
               {"external_port": 443, "protocol": "TCP", "internal_client": LAN, "internal_port": 443}]
    assert _upnp.plan_mappings(ports, earlier, 600) == [
        {"external_port": 443, "protocol": "TCP", "internal_client": LAN, "state": "absent", "force": False},
        {"external_port": 8096, "internal_port": 8096, "protocol": "TCP", "description": "Jellyfin",
         "lease_duration": 600, "state": "present"},
        {"external_port": 51820, "internal_port": 51821, "protocol": "UDP", "description": "WireGuard",
         "lease_duration": 600, "state": "present"},
    ]


def test_plan_mappings_without_earlier_ones():
    assert _upnp.plan_mappings([{"port": 8920, "protocol": "tcp"}], None, 3600) == [
        {"external_port": 8920, "internal_port": 8920, "protocol": "TCP", "description": "Jellyfin",
         "lease_duration": 3600, "state": "present"}]


def test_plan_mappings_same_port_other_protocol_is_not_the_same_mapping():
    earlier = [{"external_port": 8096, "protocol": "UDP", "internal_client": LAN}]
    plan = _upnp.plan_mappings([{"port": 8096}], earlier, 3600)
    assert [(m["protocol"], m["state"]) for m in plan] == [("UDP", "absent"), ("TCP", "present")]


def test_many_after_one_discovery_with_a_stale_port_of_another_client_fails_only_that_one():
    client = FakeUPnP(mappings={(443, "TCP"): (OTHER, 443, "Other", True, 0)})
    plan = _upnp.plan_mappings([{"port": 8096}], [{"external_port": 443, "protocol": "TCP", "internal_client": LAN}], 3600)
    with pytest.raises(_upnp.UpnpError) as exc:
        _upnp.ensure_many(client, plan, force=True)
    reports = exc.value.details["mappings"]
    assert [(r["external_port"], r.get("error_kind"), r["changed"]) for r in reports] == [(443, "conflict", False), (8096, None, True)]
    assert (443, "TCP") in client.mappings and client.calls.count("discover") == 1


# -- the SSDP search in front of miniupnpc's discovery (_ssdp.find_igd) -------------------------


def test_the_search_answer_is_read_directly_without_miniupnpcs_discovery():
    client = FakeUPnP()
    result = ensure(client, locate=client.locate)
    assert result["changed"] is True and result["igd"] == IGD and result["lan_address"] == LAN
    assert client.calls[:2] == ["locate", "selectigd(url)"] and "discover" not in client.calls


def test_silence_in_the_search_is_no_gateway_without_a_second_wait():
    client = FakeUPnP(devices=0)
    exc = error(client, locate=client.locate)
    assert exc.kind == "no_igd" and "no UPnP gateway answered the SSDP search" in str(exc)
    assert client.calls == ["locate"]


def test_an_unreadable_description_falls_back_to_miniupnpcs_discovery():
    client = FakeUPnP()
    result = ensure(client, locate=lambda timeout: ROOT_DESC.replace("rootDesc", "gone"))
    assert result["changed"] is True
    assert client.calls[:3] == ["selectigd(url)", "discover", "selectigd"]


def test_the_search_gets_the_discovery_delay_in_seconds():
    client = FakeUPnP()
    waits = []
    _upnp.ensure_many(client, [{"external_port": 8096}], discovery_delay_ms=1500,
                      locate=lambda timeout: waits.append(timeout) or ROOT_DESC)
    assert waits == [1.5]
