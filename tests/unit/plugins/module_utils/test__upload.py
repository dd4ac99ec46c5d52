# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upload measurement: iperf3's JSON read as the real client prints it, the median, the
errors; and the module against a real iperf3 server on loopback (Debian's iperf3; the tests
that need it skip, saying why, where it is not installed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from harness import free_port, run_module

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upload
from ansible_collections.homelab.jellyfin_remote.plugins.modules import upload_bandwidth

IPERF3 = shutil.which("iperf3")
needs_iperf3 = pytest.mark.skipif(IPERF3 is None, reason="iperf3 is not installed (Debian: apt-get install iperf3)")


def result(bits_received, bits_sent=None):
    return json.dumps({"start": {}, "intervals": [], "end": {
        "sum_sent": {"bits_per_second": bits_sent or bits_received * 1.01},
        "sum_received": {"bits_per_second": bits_received}}})


def fake(outputs, calls=None):
    outputs = list(outputs)

    def run(argv, timeout):
        if calls is not None:
            calls.append((argv, timeout))
        return outputs.pop(0)
    return run


def test_median_of_the_runs_as_the_server_received_them():
    calls = []
    median, figures = _upload.measure(fake([(0, result(10e6), ""), (0, result(30e6), ""), (0, result(20e6), "")], calls),
                                      "/usr/bin/iperf3", "vps.example.org")
    assert (median, figures) == (20e6, [10e6, 30e6, 20e6])
    argv, timeout = calls[0]
    assert argv[:3] == ["/usr/bin/iperf3", "--client", "vps.example.org"] and "--json" in argv and "--reverse" not in argv
    assert argv[argv.index("--time") + 1] == "5" and argv[argv.index("--omit") + 1] == "1" and timeout == 35


def test_iperf3_error_is_passed_on_with_what_to_do():
    error = json.dumps({"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server: Connection refused"})
    with pytest.raises(_upload.UploadError, match=r"could not measure against vps.example.org:5201: unable to connect "
                                                  r"to server: Connection refused\. Start an iperf3 server there"):
        _upload.measure(fake([(1, error, "")]), "iperf3", "vps.example.org")


@pytest.mark.parametrize("output, rc, message", [
    ("not json", 0, "printed no JSON result"),
    (json.dumps({"end": {}}), 0, "no end.sum_received.bits_per_second"),
    (result(0), 0, "measured nothing"),
    ("", 1, r"failed against vps.example.org:5201 \(exit 1\): boom"),
    ("", 124, "did not finish within 35 s"),
])
def test_bad_runs_fail_clearly(output, rc, message):
    with pytest.raises(_upload.UploadError, match=message):
        _upload.measure(fake([(rc, output, "boom")]), "iperf3", "vps.example.org")


@pytest.mark.parametrize("settings, option", [
    (dict(server=""), "server"), (dict(server="-R"), "server"), (dict(server="a b"), "server"),
    (dict(port=0), "port"), (dict(port=True), "port"), (dict(runs=10), "runs"), (dict(runs=0), "runs"),
    (dict(seconds=1), "seconds"), (dict(seconds=61), "seconds"),
])
def test_settings_are_checked_naming_the_option(settings, option):
    values = dict(dict(server="vps.example.org", port=5201, runs=3, seconds=5), **settings)
    with pytest.raises(_upload.UploadError, match="^%s must" % option):
        _upload.check_settings(values["server"], values["port"], values["runs"], values["seconds"])


@pytest.fixture
def iperf3_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen([IPERF3, "--server", "--bind", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["ss", "-Htln", "sport = :%d" % port], capture_output=True, text=True).stdout.strip() == "":
        assert proc.poll() is None and time.monotonic() < deadline, "iperf3 --server did not start"
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


@needs_iperf3
def test_module_measures_against_a_real_iperf3_server(iperf3_server):
    kind, res, _ = run_module(upload_bandwidth.main, {"server": "127.0.0.1", "port": iperf3_server, "runs": 2, "seconds": 2},
                              check=True)
    assert kind == "exit" and res["changed"] is False, res
    assert len(res["runs_mbps"]) == 2 and min(res["runs_mbps"]) > 50  # loopback carries far more than 50 Mbit/s
    assert min(res["runs_mbps"]) <= res["mbps"] <= max(res["runs_mbps"])


@needs_iperf3
def test_module_says_what_to_do_when_no_server_answers():
    port = free_port()
    kind, res, _ = run_module(upload_bandwidth.main, {"server": "127.0.0.1", "port": port, "runs": 1, "seconds": 2})
    assert kind == "fail"
    assert res["msg"].startswith("iperf3 could not measure against 127.0.0.1:%d: " % port)
    assert "Start an iperf3 server there (iperf3 --server) or name another host you control in server" in res["msg"]


def test_module_refuses_bad_options_before_running_anything():
    kind, res, _ = run_module(upload_bandwidth.main, {"server": "vps.example.org", "runs": 12})
    assert kind == "fail" and res["msg"].startswith("runs must be from 1 to 9")
