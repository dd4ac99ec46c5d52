# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/run-gates.sh (what `make test` runs): the molecule gate runs beside the others, every
gate runs to the end whatever the others did, a failed gate fails the run and is named, and
the time table lists every gate. A stand-in `make` plays the gates (JFR_MAKE)."""

from __future__ import annotations

import os
import stat
import subprocess

from .conftest import REPO

SCRIPT = os.path.join(REPO, "tests", "run-gates.sh")

# make [options] GATE: log when the gate starts and ends, take a while, fail when named in
# FAKE_FAIL; the options run-gates.sh passes are logged too.
FAKE_MAKE = """#!/bin/bash
gate=${@: -1}
echo "start $gate $*" >> "$FAKE_LOG"
case $gate in molecule) sleep 1.5 ;; *) sleep 0.3 ;; esac
echo "end $gate" >> "$FAKE_LOG"
case " $FAKE_FAIL " in *" $gate "*) exit 2 ;; esac
exit 0
"""


def _run(tmp_path, gates, fail=""):
    fake = tmp_path / "make"
    fake.write_text(FAKE_MAKE)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "gates.log"
    log.write_text("")
    env = dict(os.environ, JFR_GATES=gates, JFR_MAKE=str(fake), FAKE_LOG=str(log), FAKE_FAIL=fail,
               JFR_TIMES=str(tmp_path / "times.tsv"))
    proc = subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=False)
    return proc, log.read_text().splitlines()


def test_molecule_runs_beside_the_other_gates(tmp_path):
    proc, events = _run(tmp_path, "units lint molecule docs")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    starts = [e.split()[1] for e in events if e.startswith("start ")]
    # Molecule started before the first other gate ended (the two start at once, in either
    # order), and every other gate started and ended while it still ran.
    first_start = next(i for i, e in enumerate(events) if e.startswith("start molecule"))
    assert first_start < events.index("end units"), events
    assert events.index("end molecule") == len(events) - 1, events
    assert [g for g in starts if g != "molecule"] == ["units", "lint", "docs"]
    # The gates do not make again what `make test` made before them.
    assert all("-o deps -o venv -o collection -o image" in e for e in events if e.startswith("start ")), events
    assert proc.stdout.rstrip().endswith("gates: 4 passed, 0 failed"), proc.stdout
    table = proc.stdout.split("==== times, longest first (s)")[1]
    for gate in ("units", "lint", "molecule", "docs"):
        assert "gate     %s" % gate in table, table


def test_a_failed_gate_fails_the_run_and_every_gate_still_runs(tmp_path):
    proc, events = _run(tmp_path, "units lint molecule docs", fail="lint molecule")
    assert proc.returncode != 0
    assert {e.split()[1] for e in events if e.startswith("end ")} == {"units", "lint", "molecule", "docs"}
    assert "gates: 2 passed, 2 failed" in proc.stdout, proc.stdout
    failed = [line for line in proc.stdout.splitlines() if line.startswith("failed gates: ")]
    assert failed and set(failed[0].split(": ")[1].split()) == {"lint", "molecule"}, proc.stdout


def test_without_molecule_the_gates_run_in_order(tmp_path):
    proc, events = _run(tmp_path, "units docs")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [e.split()[0:2] for e in events] == [["start", "units"], ["end", "units"], ["start", "docs"], ["end", "docs"]]
    assert proc.stdout.rstrip().endswith("gates: 2 passed, 0 failed")
