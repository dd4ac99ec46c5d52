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
