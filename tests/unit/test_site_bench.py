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
