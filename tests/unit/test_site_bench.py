"""benchmarks/site_bench.py's figures: recap counts, tasks per run, ratios to the goals, lab name."""

from __future__ import annotations

import importlib.util
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("site_bench", os.path.join(REPO, "benchmarks", "site_bench.py"))
site_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_bench)

RECAP = "server                     : ok=41   changed=0    unreachable=0    failed=0    skipped=57   rescued=0    ignored=0"


def test_recap_counts_and_tasks_run():
    assert site_bench.recap_counts(RECAP)["skipped"] == 57
    assert site_bench.tasks_run(RECAP) == (41, 57)
    assert site_bench.tasks_run("") == (0, 0)


def test_ratios_to_the_goals():
    first, rerun = site_bench.ratios("port_forward", 43.2 * 0.6, 30.0)
    assert first == pytest.approx(1.0) and rerun == pytest.approx(2.0)
    assert site_bench.ratios("tailscale", 10.0, 7.5) == (None, 0.5)  # no figure before: no first-converge goal


def test_default_lab_is_no_scenario_name():
    scenarios = set(os.listdir(os.path.join(REPO, "molecule")))
    assert "sitebench" not in scenarios


PROFILED_LOG = """\
TASK [homelab.jellyfin_remote.ddns : Install ddclient] ****
Tuesday 08 December 2026  01:23:11 +0000 (0:00:07.010)       0:00:40.100 ******
changed: [server]

PLAY RECAP *********************************************************************
server                     : ok=81   changed=32   unreachable=0    failed=0    skipped=72   rescued=0    ignored=0

Tuesday 08 December 2026  01:23:20 +0000 (0:00:00.412)       0:00:50.200 ******
===============================================================================
homelab.jellyfin_remote.port_forward : Install what the checks use on the host --- 9.12s
homelab.jellyfin_remote.ddns : Install ddclient ------------------------- 7.01s
homelab.jellyfin_remote._vpn : Write the firewall table ----------------- 0.90s
homelab.jellyfin_remote._vpn : Write the firewall table ----------------- 0.80s
Gathering Facts - - - - - - - - - - - - - - - - - - - - - - - - - - - - - 0.10s
"""


def test_slowest_tasks_from_the_profile(tmp_path):
    log = tmp_path / "converge.log"
    log.write_text(PROFILED_LOG)
    rows = site_bench.slowest(str(log), 2)
    assert rows == [(9.12, "homelab.jellyfin_remote.port_forward : Install what the checks use on the host"),
                    (7.01, "homelab.jellyfin_remote.ddns : Install ddclient")]
    # A task run twice (a role included twice) counts once, with both times.
    assert (1.7, "homelab.jellyfin_remote._vpn : Write the firewall table") in [
        (round(s, 2), t) for s, t in site_bench.slowest(str(log), 5)]
    unprofiled = tmp_path / "plain.log"
    unprofiled.write_text(PROFILED_LOG.split("Tuesday 08 December 2026  01:23:20")[0])
    assert site_bench.slowest(str(unprofiled), 5) == []


TWO_HOSTS_LOG = """\
PLAY RECAP *********************************************************************
relay                      : ok=12   changed=1    unreachable=0    failed=0    skipped=20   rescued=0    ignored=0
server                     : ok=70   changed=5    unreachable=0    failed=0    skipped=60   rescued=0    ignored=0

PLAY RECAP *********************************************************************
relay                      : ok=10   changed=0    unreachable=0    failed=0    skipped=22   rescued=0    ignored=0
server                     : ok=60   changed=0    unreachable=0    failed=0    skipped=70   rescued=0    ignored=0

Tuesday 08 December 2026  01:23:20 +0000 (0:00:00.412)       0:00:50.200 ******
===============================================================================
homelab.jellyfin_remote.vps_relay : Install WireGuard --- 1.50s
"""


def test_recaps_of_two_hosts_the_last_recap_wins():
    found = site_bench.recaps(TWO_HOSTS_LOG)
    assert sorted(found) == ["relay", "server"]
    assert site_bench.recap_counts(found["relay"])["ok"] == 10
    assert site_bench.hosts_tasks_run(found, ("server", "relay")) == (70, 92)
    assert site_bench.hosts_tasks_run(found, ("server",)) == (60, 70)
    # The profile's summary lines ("task --- 1.50s") are no recap.
    assert "homelab.jellyfin_remote.vps_relay" not in " ".join(found)


def test_rerun_must_leave_every_host_unchanged():
    last = site_bench.recaps(TWO_HOSTS_LOG)
    assert site_bench.unchanged(last, ("server", "relay")) is None
    first = site_bench.recaps(TWO_HOSTS_LOG.split("\n\n")[0])
    assert "relay " in site_bench.unchanged(first, ("server", "relay"))
    # A host the run never reached is no pass.
    assert site_bench.unchanged({"server": last["server"]}, ("server", "relay")) == "relay: no recap"
    failed = {"server": last["server"].replace("failed=0", "failed=1"), "relay": last["relay"]}
    assert site_bench.unchanged(failed, ("server", "relay"))


def test_vps_relay_runs_on_the_scenarios_lab_with_the_relay_in_its_group():
    topology, prepares, hosts = site_bench.method_lab("vps_relay")
    assert topology == "cgnat_relay" and hosts == ("server", "relay")
    assert prepares == (os.path.join(REPO, "molecule", "vps_relay", "prepare.yml"),)
    # The other methods keep the NAT lab and count the server alone.
    assert site_bench.method_lab("port_forward") == ("nat", (site_bench.PREPARE,), ("server",))
    assert site_bench.method_lab("cloudflare_tunnel")[1][-1].endswith("molecule/cloudflare_tunnel/prepare.yml")
    assert site_bench.groups_inventory("wireguard") is None
    relay = site_bench.groups_inventory("vps_relay")["all"]["children"]["jellyfin_relay"]["hosts"]["relay"]
    assert relay["reverse_proxy_server"] == "caddy"
    assert relay["reverse_proxy_acme_directory"] == "https://internet:14000/dir"


def test_vps_relay_variables_are_the_scenarios():
    import yaml

    with open(os.path.join(REPO, "molecule", "vps_relay", "molecule.yml"), encoding="utf-8") as handle:
        scenario = yaml.safe_load(handle)["provisioner"]["inventory"]
    ours = site_bench.METHOD_VARS["vps_relay"]
    for key in ("lab_acme_target", "lab_jellyfin_remote_client_bitrate_limit", "lab_site_vars_extra"):
        assert ours[key] == scenario["group_vars"]["all"][key], key
    relay = site_bench.groups_inventory("vps_relay")["all"]["children"]["jellyfin_relay"]["hosts"]["relay"]
    assert relay == scenario["host_vars"]["relay"]
    assert "vps_relay" in site_bench.METHODS and site_bench.ratios("vps_relay", 100.0, 15.0) == (None, 1.0)
