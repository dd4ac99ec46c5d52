# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port_forward role's upnp_pinholes.py (IPv6 pinholes by IGDv2 through Debian's upnpc),
against a fake upnpc that answers as upnpc 2.2.4 does with miniupnpd 2.3.1 behind it (its
output lines as read in the lab: AddPinhole, UpdatePinhole, UPNP_DeletePinhole, code 606 for
ports below 1024, "No IGD UPnP Device found" without a router) and a fake `ip`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, "roles", "port_forward", "files", "upnp_pinholes.py")
ADDRESS = "2001:db8:5::10"

FAKE_UPNPC = r'''#!%(python)s
import json, os, sys
db = os.environ["FAKE_ROUTER"]
state = json.load(open(db)) if os.path.exists(db) else {"next": 1, "pinholes": {}, "calls": []}
args = sys.argv[1:]
state["calls"].append(list(args))
def save():
    json.dump(state, open(db, "w"))
if os.environ.get("FAKE_NO_IGD"):
    print("No IGD UPnP Device found on the network !")
    save(); sys.exit(1)
print("Found a (not connected?) IGD : http://[2001:db8:5::1]:5000/ctl/IPConn")
print("Trying to continue anyway")
assert args[:2] == ["-i", "-6"], args
if "-m" in args:
    i = args.index("-m"); del args[i:i + 2]
op = args[2]
if op == "-A":
    rhost, rport, client, port, proto, lease = args[3:9]
    if int(port) < 1024:
        print("AddPinhole([%%s]:%%s -> [%%s]:%%s) failed with code 606 (Action not authorized)" %% (rhost, rport, client, port))
    else:
        uid = str(state["next"]); state["next"] += 1
        state["pinholes"][uid] = [client, int(port), proto, int(lease)]
        print("AddPinhole: ([%%s]:%%s -> [%%s]:%%s) / Pinhole ID = %%s" %% (rhost, rport, client, port, uid))
elif op == "-U":
    uid, lease = args[3:5]
    if uid in state["pinholes"]:
        state["pinholes"][uid][3] = int(lease)
        print("UpdatePinhole: Pinhole ID = %%s with Lease Time: %%s" %% (uid, lease))
    else:
        print("CheckPinholeWorking() failed with code 402 (Invalid Args)")
elif op == "-D":
    # IGDv2: only the pinhole's own client may delete it (miniupnpd answers 606 to others).
    held = state["pinholes"].get(args[3])
    if held and held[0] != os.environ.get("FAKE_ADDRESS", held[0]):
        print("UPNP_DeletePinhole() returned : 606")
    else:
        print("UPNP_DeletePinhole() returned : %%d" %% (0 if state["pinholes"].pop(args[3], None) else 704))
save()
'''

FAKE_IP = r'''#!%(python)s
import json, os
address = os.environ.get("FAKE_ADDRESS", "%(address)s")
print(json.dumps([{"ifname": "eth0", "addr_info": [{"local": "fd00:5::10", "scope": "global"},
                                                   {"local": address, "scope": "global"},
                                                   {"local": "2001:db8:5::77", "scope": "global", "temporary": True},
                                                   {"local": "fe80::1", "scope": "link"}]}]))
'''


@pytest.fixture
def env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("upnpc", FAKE_UPNPC), ("ip", FAKE_IP)):
        path = bin_dir / name
        path.write_text(text % {"python": sys.executable, "address": ADDRESS})
        path.chmod(0o755)
    environ = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), FAKE_ROUTER=str(tmp_path / "router.json"))
    return {"env": environ, "state": str(tmp_path / "etc" / "upnp-pinholes.json"), "router": tmp_path / "router.json"}


def run(env, *argv, **args):
    cmd = [sys.executable, SCRIPT] + (list(argv) or [json.dumps(dict({"state_file": env["state"]}, **args))])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env["env"], check=False)
    return proc.returncode, json.loads(proc.stdout)


def router(env):
    return json.loads(env["router"].read_text())


def test_opens_what_it_may_and_says_what_the_owner_must_open(env):
    rc, out = run(env, address=ADDRESS, ports=[{"port": 80, "protocol": "tcp"}, {"port": 8920}], lease=600)
    assert rc == 0
    assert out["changed"] is True
    assert out["pinholes"] == [{"port": 8920, "protocol": "tcp", "id": "1"}]
    assert out["manual"] == [{"port": 80, "protocol": "tcp"}]
    assert "606" in out["refused"][0]["reason"]
    assert "error_kind" not in out
    assert router(env)["pinholes"] == {"1": [ADDRESS, 8920, "TCP", 600]}
    # upnpc was told the interface of the address (IPv6 discovery needs a name) and -i.
    assert all(call[:4] == ["-i", "-6", "-m", "eth0"] for call in router(env)["calls"])
    saved = json.load(open(env["state"]))
    assert saved == {"address": ADDRESS, "interface": "eth0", "lease": 600,
                     "pinholes": [{"port": 8920, "protocol": "tcp", "id": "1"}]}


def test_a_second_run_renews_and_changes_nothing(env):
    run(env, address=ADDRESS, ports=[{"port": 8920}], lease=600)
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8920}], lease=600)
    assert (rc, out["changed"], out["renewed"]) == (0, False, [8920])
    assert router(env)["pinholes"] == {"1": [ADDRESS, 8920, "TCP", 600]}


def test_a_pinhole_the_router_forgot_is_added_again(env):
    run(env, address=ADDRESS, ports=[{"port": 8920}])
    state = router(env)
    state["pinholes"] = {}  # a router reboot
    env["router"].write_text(json.dumps(state))
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8920}])
    assert out["changed"] is True and out["pinholes"][0]["id"] == "2"
    assert json.load(open(env["state"]))["pinholes"][0]["id"] == "2"


def test_ports_no_longer_planned_are_closed(env):
    run(env, address=ADDRESS, ports=[{"port": 8920}, {"port": 8096}])
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8096}])
    assert out["changed"] is True
    assert [(r["port"], r["protocol"]) for r in out["removed"]] == [(8920, "tcp")]
    assert [p[1] for p in router(env)["pinholes"].values()] == [8096]


def test_internal_port_is_the_one_opened(env):
    # IPv6 translates no port: the pinhole is for the port the host listens on.
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8443, "internal_port": 8920, "protocol": "tcp"}])
    assert out["pinholes"] == [{"port": 8920, "protocol": "tcp", "id": "1"}]


def test_removal_closes_every_recorded_pinhole_and_forgets_them(env):
    run(env, address=ADDRESS, ports=[{"port": 8920}, {"port": 8096}])
    rc, out = run(env, remove=True)
    assert out["changed"] is True and sorted(r["port"] for r in out["removed"]) == [8096, 8920]
    assert router(env)["pinholes"] == {}
    assert not os.path.exists(env["state"])
    rc, out = run(env, remove=True)
    assert out == {"address": "", "changed": False, "pinholes": [], "removed": [], "renewed": []}


def test_check_mode_changes_nothing(env):
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8920}], check=True)
    assert out["changed"] is True
    assert not env["router"].exists() or router(env)["pinholes"] == {}
    assert not os.path.exists(env["state"])
    run(env, address=ADDRESS, ports=[{"port": 8920}])
    rc, out = run(env, remove=True, check=True)
    assert out["changed"] is True and router(env)["pinholes"] != {}
    assert os.path.exists(env["state"])


def test_no_router_means_instructions(env):
    env["env"]["FAKE_NO_IGD"] = "1"
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8920}, {"port": 80}])
    assert (rc, out["error_kind"], out["changed"]) == (0, "no_igd", False)
    assert out["manual"] == [{"port": 80, "protocol": "tcp"}, {"port": 8920, "protocol": "tcp"}]
    assert not os.path.exists(env["state"])


def test_without_upnpc_every_port_is_for_the_owner(env):
    env["env"]["PATH"] = env["env"]["PATH"].split(":", 1)[1]
    if any(os.path.exists(os.path.join(d, "upnpc")) for d in env["env"]["PATH"].split(":")):
        pytest.skip("a real upnpc is installed on this machine")
    rc, out = run(env, address=ADDRESS, ports=[{"port": 8920}])
    assert out["error_kind"] == "no_upnpc" and out["manual"] == [{"port": 8920, "protocol": "tcp"}]


def test_an_address_this_host_does_not_hold_is_refused(env):
    rc, out = run(env, address="2001:db8:5::99", ports=[{"port": 8920}])
    assert out["error_kind"] == "no_address"
    assert not env["router"].exists()


def test_the_timer_renews_from_the_file_and_fails_loudly_without_a_router(env):
    run(env, address=ADDRESS, ports=[{"port": 8920}])
    rc, out = run(env, "--renew", env["state"])
    assert (rc, out["renewed"], out["changed"]) == (0, [8920], False)
    env["env"]["FAKE_NO_IGD"] = "1"
    state = router(env)
    state["pinholes"] = {}
    env["router"].write_text(json.dumps(state))
    rc, out = run(env, "--renew", env["state"])
    assert rc == 1 and out["error_kind"] == "no_igd"


def test_the_timer_follows_the_address_after_the_isp_renumbered(env):
    """The prefix changed: the renewal moves the pinholes to the interface's new global address
    (not the unique local one, not a temporary one), as the ddns timer moves the AAAA record."""
    run(env, address=ADDRESS, ports=[{"port": 8920}], lease=600)
    env["env"]["FAKE_ADDRESS"] = "2001:db8:7::10"
    rc, out = run(env, "--renew", env["state"])
    assert (rc, out["changed"], out["address"]) == (0, True, "2001:db8:7::10")
    # The router lets only the old address delete its pinhole: it stays until its lease ends.
    assert out["removed"] == []
    assert [(e["port"], e["id"], e["address"]) for e in out["expiring"]] == [(8920, "1", ADDRESS)]
    assert "606" in out["expiring"][0]["reason"]
    assert router(env)["pinholes"] == {"1": [ADDRESS, 8920, "TCP", 600], "2": ["2001:db8:7::10", 8920, "TCP", 600]}
    saved = json.load(open(env["state"]))
    assert (saved["address"], saved["pinholes"]) == ("2001:db8:7::10", [{"port": 8920, "protocol": "tcp", "id": "2"}])
    rc, out = run(env, "--renew", env["state"])
    assert (rc, out["changed"], out["renewed"]) == (0, False, [8920])


def test_the_timer_fails_loudly_when_no_address_of_the_kind_is_left(env):
    # Only a unique local (and a temporary) address remain: no pinhole is opened for them.
    run(env, address=ADDRESS, ports=[{"port": 8920}], lease=600)
    env["env"]["FAKE_ADDRESS"] = "fe80::2"
    rc, out = run(env, "--renew", env["state"])
    assert (rc, out["error_kind"]) == (1, "no_address")
    assert router(env)["pinholes"] == {"1": [ADDRESS, 8920, "TCP", 600]}


def test_removal_after_a_renumbering_asks_on_the_recorded_interface(env):
    run(env, address=ADDRESS, ports=[{"port": 8920}])
    env["env"]["FAKE_ADDRESS"] = "2001:db8:7::10"  # the old address is gone, the renewal did not run
    rc, out = run(env, remove=True)
    assert out["changed"] is True and out["removed"] == []
    assert [(e["port"], e["address"]) for e in out["expiring"]] == [(8920, ADDRESS)]
    assert router(env)["calls"][-1][:4] == ["-i", "-6", "-m", "eth0"]
    assert not os.path.exists(env["state"])

