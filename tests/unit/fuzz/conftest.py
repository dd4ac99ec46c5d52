# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis profile and run summary for the module fuzz tests.

The profile is fixed (derandomize, no example database) so that every run tries the same
inputs; FUZZ_EXAMPLES overrides the number of examples per module.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Cases and problems per module, filled by test_fuzz_modules.py, printed at the end.
STATS = {}

settings.register_profile(
    "jellyfin_remote_fuzz",
    derandomize=True,
    database=None,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pytest_terminal_summary(terminalreporter):
    if not STATS:
        return
    terminalreporter.section("module fuzzing")
    total = {"cases": 0, "exit": 0, "fail": 0, "tracebacks": 0, "vague": 0, "blocked": 0}
    for module in sorted(STATS):
        row = STATS[module]
        for key in total:
            total[key] += row.get(key, 0)
        terminalreporter.write_line(
            "%-20s %5d cases: %4d exit_json, %4d fail_json, %d tracebacks, %d messages naming no option, "
            "%d network attempts blocked" % (module, row["cases"], row["exit"], row["fail"], row["tracebacks"], row["vague"], row["blocked"])
        )
    terminalreporter.write_line(
        "%-20s %5d cases: %4d exit_json, %4d fail_json, %d tracebacks, %d messages naming no option"
        % ("total", total["cases"], total["exit"], total["fail"], total["tracebacks"], total["vague"])
    )
