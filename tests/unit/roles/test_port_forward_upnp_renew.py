# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port_forward role's upnp_renew.py (run by its systemd timer), with FakeUPnP as miniupnpc."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import types

import pytest

from harness import load_script
from standins.upnp import LAN, FakeUPnP

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, "roles", "port_forward", "files", "upnp_renew.py")
MAPPINGS = [
    {"external_port": 8096, "protocol": "TCP", "internal_client": LAN, "internal_port": 8096, "description": "jellyfin_remote", "lease_duration": 3600},
    {"external_port": 51820, "protocol": "UDP", "internal_client": LAN, "internal_port": 51820, "description": "wg", "lease_duration": "0"},
]


@pytest.fixture
def router(monkeypatch):
    """miniupnpc.UPnP made as the script makes it; the instances made are kept."""
    made = []
    settings = {}

    class UPnP(FakeUPnP):
        def __init__(self, multicastif=None):
            super().__init__(**settings)
            self.multicastif = multicastif
            made.append(self)

    monkeypatch.setitem(sys.modules, "miniupnpc", types.SimpleNamespace(UPnP=UPnP))
    script = load_script(SCRIPT, "upnp_renew")
    return types.SimpleNamespace(script=script, made=made, settings=settings)


def renew(router, tmp_path, **config):
    path = tmp_path / "upnp-mappings.json"
    path.write_text(json.dumps(dict({"mappings": MAPPINGS}, **config)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = router.script.main(["upnp_renew.py", str(path)])
    return code, out.getvalue()


def test_every_mapping_is_added_again(router, tmp_path):
    code, out = renew(router, tmp_path, discovery_delay_ms=500)
    assert code == 0
    client = router.made[0]
    assert client.multicastif is None and client.discoverdelay == 500
    assert client.writes() == [("add", 8096, "TCP", LAN, 8096, "jellyfin_remote", "", 3600), ("add", 51820, "UDP", LAN, 51820, "wg", "", 0)]
    assert "upnp-renew: renewed TCP 8096 -> %s:8096 for 3600s" % LAN in out
    assert "upnp-renew: renewed UDP 51820 -> %s:51820 for 0s" % LAN in out


def test_multicast_interface_is_given_when_the_client_is_made(router, tmp_path):
    code, _ = renew(router, tmp_path, multicast_interface="br-lan")
    assert code == 0 and router.made[0].multicastif == "br-lan"
    assert router.made[0].discoverdelay == 2000  # the default


def test_no_router_answers(router, tmp_path):
    router.settings["devices"] = 0
    code, out = renew(router, tmp_path)
    assert code == 1
    assert out == "upnp-renew: no UPnP router found (no UPnP device answered); the mappings expire with their lease\n"
    assert router.made[0].writes() == []


def test_discovery_error(router, tmp_path):
    router.settings["igd"] = None
    code, out = renew(router, tmp_path)
    assert code == 1 and "no UPnP router found (No UPnP device discovered)" in out


def test_refused_mapping_is_reported_the_others_still_renewed(router, tmp_path):
    router.settings["add_error"] = ["Action Failed", None]
    code, out = renew(router, tmp_path)
    assert code == 1
    assert "upnp-renew: the router refused TCP 8096 -> %s:8096: Action Failed (port forwarding is impossible here: CGNAT or double NAT)" % LAN in out
    assert "upnp-renew: renewed UDP 51820" in out
    assert len(router.made[0].writes()) == 2


def test_other_refusal_has_no_cgnat_hint(router, tmp_path):
    router.settings["add_error"] = ["ConflictInMappingEntry", None]
    code, out = renew(router, tmp_path)
    assert code == 1 and "ConflictInMappingEntry" in out and "CGNAT" not in out
