# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The home's upload, measured with iperf3 against a server the owner controls.

Plain Python, no AnsibleModule; the module upload_bandwidth wires it, and the unit tests run it
against a real iperf3 server on loopback.

- measure(): runs the iperf3 client (Debian's package, 3.12 in Debian 12, 3.18 in Debian 13)
  `runs` times against the owner's server, each run `seconds` long with the first second
  left out of the figures (TCP's slow start), and returns the median of the runs as received by
  the server (iperf3 --json, end.sum_received.bits_per_second: what got through the line, not
  what left the sender's socket buffer).
- The client sends, so the figure is the home's upload (the direction remote viewers use).
- Never a public iperf3 server: those are shared, busy and often rate-limited, and the owner has
  no say in what they measure; the option is the owner's own host (a VPS, a friend's server).

Errors name the option to change; iperf3's own error text (it prints one line of JSON "error")
is passed on, since it says which of refused, unreachable or busy happened.
"""

from __future__ import annotations

import json
import statistics

SERVER_OPTION = "server"
PORT_OPTION = "port"
RUNS_OPTION = "runs"
SECONDS_OPTION = "seconds"


class UploadError(Exception):
    """A measurement that could not be made; the message names the option or the cause."""


def check_settings(server, port, runs, seconds):
    if not isinstance(server, str) or not server.strip() or any(c.isspace() for c in server) or server.startswith("-"):
        raise UploadError("%s must be the host name or address of an iperf3 server you control (for example "
                          "vps.example.org); got %r" % (SERVER_OPTION, server))
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UploadError("%s must be a TCP port from 1 to 65535 (iperf3's default is 5201); got %r" % (PORT_OPTION, port))
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= 9:
        raise UploadError("%s must be from 1 to 9 (the median of the runs is used; 3 is usual); got %r" % (RUNS_OPTION, runs))
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 2 <= seconds <= 60:
        raise UploadError("%s must be from 2 to 60 (each run's length; the first second is left out); got %r"
                          % (SECONDS_OPTION, seconds))


def command(iperf3, server, port, seconds):
    """The client's argument list for one run (sending, JSON, first second omitted)."""
    return [iperf3, "--client", server, "--port", str(port), "--time", str(seconds), "--omit", "1",
            "--json", "--connect-timeout", "5000"]


def parse(stdout, server, port):
    """Bits per second the server received in one run, from iperf3's JSON output."""
    try:
        data = json.loads(stdout)
    except ValueError:
        raise UploadError("iperf3 printed no JSON result for %s:%s: %s" % (server, port, (stdout or "").strip()[:300]))
    if not isinstance(data, dict):
        raise UploadError("iperf3 printed an unexpected result for %s:%s" % (server, port))
    if data.get("error"):
        raise UploadError("iperf3 could not measure against %s:%s: %s. Start an iperf3 server there (iperf3 --server) "
                          "or name another host you control in %s" % (server, port, data["error"], SERVER_OPTION))
    try:
        bits = data["end"]["sum_received"]["bits_per_second"]
    except (KeyError, TypeError):
        raise UploadError("iperf3's result for %s:%s has no end.sum_received.bits_per_second" % (server, port))
    if isinstance(bits, bool) or not isinstance(bits, (int, float)) or bits <= 0:
        raise UploadError("iperf3 measured nothing through to %s:%s (%r bits/s)" % (server, port, bits))
    return float(bits)


def measure(run, iperf3, server, port=5201, runs=3, seconds=5):
    """Median upload in bits/s over `runs` runs, and each run's figure.

    run(argv, timeout) -> (rc, stdout, stderr) runs one command and stops it after timeout
    seconds with exit status 124 (the module runs it under coreutils timeout)."""
    check_settings(server, port, runs, seconds)
    figures = []
    for _run in range(runs):
        timeout = seconds + 30
        rc, stdout, stderr = run(command(iperf3, server, port, seconds), timeout)
        if rc in (124, 137):
            raise UploadError("iperf3 did not finish within %d s against %s:%s (the server stopped answering)"
                              % (timeout, server, port))
        if rc != 0 and not (stdout or "").strip():
            raise UploadError("iperf3 failed against %s:%s (exit %s): %s" % (server, port, rc, (stderr or "").strip()[:300]))
        figures.append(parse(stdout, server, port))
    return statistics.median(figures), figures


def mbps(bits):
    """Bits per second as Mbit/s, two decimals (a figure for a person and for the record)."""
    return round(bits / 1_000_000, 2)
