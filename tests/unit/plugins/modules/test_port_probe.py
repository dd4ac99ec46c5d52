"""port_probe main(): its options, the cleanup mode and a whole run, with a fake miniupnpc."""

from __future__ import annotations

import contextlib
import json
import threading
from unittest import mock

import pytest

from harness import run_module
from standins.upnp import LAN, OTHER, FakeUPnP

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _port_probe, _ssdp
from ansible_collections.homelab.jellyfin_remote.plugins.modules import port_probe


@contextlib.contextmanager
def patched(client):
    """The fake miniupnpc, and its stand-in for the SSDP search (no multicast leaves a unit test)."""
    with mock.patch.object(port_probe._upnp, "new_client", lambda multicast_interface=None: client), \
            mock.patch.object(_ssdp, "find_igd", client.locate if client else None):
        yield


@pytest.mark.parametrize("args, message", [
    ({"ports": [0]}, "ports: 0 is not a port number between 1 and 65535"),
    ({"ports": [80], "deadline": 1}, "deadline must be from 5 to 600 seconds, got 1"),
    ({"ports": [80], "lease_duration": 0}, "lease_duration must be from 30 to 3600 seconds (a short lease: the "
                                           "mappings are temporary), got 0"),
])
def test_bad_options_are_named(tmp_path, args, message):
    with patched(FakeUPnP()):
        kind, result, _ = run_module(port_probe.main, dict(args, ready_file=str(tmp_path / "r.json")))
    assert kind == "fail" and result["msg"] == message


def test_without_miniupnpc(tmp_path):
    with patched(None):
        kind, result, _ = run_module(port_probe.main, {"ports": [80], "ready_file": str(tmp_path / "r.json")})
    assert kind == "fail" and "python3-miniupnpc" in result["msg"]


def test_cleanup_removes_the_probes_leftovers_only(tmp_path):
    client = FakeUPnP(mappings={(80, "TCP"): (LAN, 40080, _port_probe.PROBE_DESCRIPTION, True, 100),
                                (443, "TCP"): (OTHER, 443, "theirs", True, 0)})
    with patched(client):
        kind, result, _ = run_module(port_probe.main, {"ports": [80, 443], "ready_file": str(tmp_path / "r.json"),
                                                        "cleanup": True})
    assert kind == "exit" and result["changed"] is True and result["removed"] == [80]
    assert set(client.mappings) == {(443, "TCP")}
    # The search that ends at the router's first answer, not miniupnpc's whole discovery delay.
    assert client.calls[:2] == ["locate", "selectigd(url)"] and "discover" not in client.calls
    with patched(client):
        _, again, _ = run_module(port_probe.main, {"ports": [80, 443], "ready_file": str(tmp_path / "r.json"),
                                                    "cleanup": True})
    assert again["changed"] is False and again["removed"] == []


def test_a_run_whose_probe_host_never_comes_ends_with_every_mapping_removed(tmp_path):
    client = FakeUPnP()
    ready = tmp_path / "r.json"

    def signal():
        # The preflight's "probe host done": the ready file removed once it is there.
        for _ in range(200):
            if ready.exists():
                json.loads(ready.read_text())
                ready.unlink()
                return
            threading.Event().wait(0.05)

    helper = threading.Thread(target=signal)
    helper.start()
    with patched(client):
        kind, result, _ = run_module(port_probe.main, {"ports": [80, 443], "ready_file": str(ready)})
    helper.join()
    assert kind == "exit", result
    assert result["added"] == [80, 443] and result["left"] == [] and client.mappings == {}
    assert client.calls[:2] == ["locate", "selectigd(url)"] and "discover" not in client.calls
    assert [e["reached"] for e in result["ports"]] == [False, False]
