"""benchmarks/relay_bench.py's figures: iperf3's JSON, the ratio relay / direct and its verdict,
the report, the rounds' order, the labs' inventories, and reverse_proxy_bench's harness aimed at
another host (the viewer on the internet host)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("relay_bench", os.path.join(REPO, "benchmarks", "relay_bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def iperf3_json(bps=None, error=None):
    data = {"start": {"connected": [{"local_host": "10.87.0.2", "remote_host": "10.87.0.1"}]}}
    if error:
        data["error"] = error
    else:
        data["end"] = {"sum_sent": {"bits_per_second": bps * 1.01}, "sum_received": {"bits_per_second": bps}}
    return json.dumps(data)


def test_iperf3_received_rate_in_mbits():
    assert bench.parse_iperf3(iperf3_json(943_500_000)) == pytest.approx(943.5)


def test_iperf3_failure_and_junk_are_named():
    with pytest.raises(ValueError, match="iperf3: unable to connect to server: Connection refused"):
        bench.parse_iperf3(iperf3_json(error="unable to connect to server: Connection refused"))
    with pytest.raises(ValueError, match="not JSON"):
        bench.parse_iperf3("iperf3: command not found")
    with pytest.raises(ValueError, match="not an iperf3 result"):
        bench.parse_iperf3("[1, 2]")
    with pytest.raises(ValueError, match="end.sum_received"):
        bench.parse_iperf3(json.dumps({"end": {}}))


def test_ratio_and_verdict_at_the_goal():
    res = {"direct": {"mibs": 100.0}, "relay": {"mibs": 80.0}}
    assert bench.throughput_ratio(res) == pytest.approx(0.8)
    assert bench.verdict(0.8) == "met"
    assert bench.verdict(0.79) == "NOT met"
    assert bench.mibs_to_mbits(1.0) == pytest.approx(8.388608)


def test_summarize_medians_and_cpu_per_gib():
    raw = {"direct": {"mibs": [90.0, 120.0, 100.0], "bytes": [2**30, 2**30], "cpu": [1.0, 2.0],
                      "seeks": [0.010, 0.030, 0.020]},
           "relay": {"mibs": [50.0], "bytes": [0], "cpu": [0.0], "seeks": [0.040]}}
    out = bench.summarize(raw)
    assert out["direct"] == {"mibs": 100.0, "seek_ms": pytest.approx(20.0), "cpu_per_gib": pytest.approx(1.5), "n": 3,
                             "reads_per_gib": None, "writes_per_gib": None, "bytes_per_read": None,
                             "bytes_per_write": None}
    assert out["relay"]["cpu_per_gib"] is None  # nothing streamed: no per-GiB figure
    assert bench.median_or_none([None, 900.0, 800.0, None]) == 850.0
    assert bench.median_or_none([None]) is None


def test_caddys_system_calls_per_gib_and_bytes_per_call():
    before = {"syscr": 100, "syscw": 50, "rchar": 1000, "wchar": 500}
    after = {"syscr": 100 + 65536, "syscw": 50 + 32768, "rchar": 1000 + 2**30, "wchar": 500 + 2**30 + 2**20}
    io = bench.io_per_gib(before, after, 2**30)
    assert (io["reads_per_gib"], io["bytes_per_read"]) == (65536, 16384)
    assert (io["writes_per_gib"], io["bytes_per_write"]) == (32768, (2**30 + 2**20) / 32768)
    assert bench.io_per_gib(before, before, 0) == dict.fromkeys(io)  # nothing streamed, no figure
    raw = {"relay": {"mibs": [1.0, 1.0], "bytes": [2**30] * 2, "cpu": [1.0] * 2, "seeks": [0.01], "io": [io, io]}}
    assert bench.summarize(raw)["relay"]["bytes_per_read"] == 16384


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux's per-process I/O accounting")
def test_caddys_counters_are_read_from_the_machine_for_caddy_only(monkeypatch):
    """podman top gives the container's processes as host pids; only caddy's /proc/<pid>/io
    counts (here this test's own process stands in for caddy, init is left out)."""
    seen = []

    def fake_run(argv, env=None, check=True, quiet=False):
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, "HPID COMMAND\n%d caddy\n1 systemd\n999999999 caddy\n"
                                           % os.getpid(), "")

    class FakeLab:
        env = {}

        def container(self, host):
            return "jfr-relaybench-relay-%s" % host

    monkeypatch.setattr(bench.rpb, "run", fake_run)
    with open("/proc/self/io", encoding="ascii") as handle:
        own = {k: int(v) for k, _, v in (line.partition(":") for line in handle.read().splitlines())}
    got = bench.caddy_io(FakeLab(), "relay")
    assert seen == [["podman", "top", "jfr-relaybench-relay-relay", "hpid", "comm"]]
    assert set(got) == {"syscr", "syscw", "rchar", "wchar"}
    assert own["syscr"] <= got["syscr"] < own["syscr"] + 100  # this process's, not init's; a gone pid is skipped


def test_rounds_alternate_which_path_goes_first():
    assert [bench.round_order(r)[0] for r in range(4)] == ["direct", "relay", "direct", "relay"]
    assert all(sorted(bench.round_order(r)) == sorted(bench.PATHS) for r in range(2))


def results():
    return {"direct": {"mibs": 200.0, "seek_ms": 10.0, "cpu_per_gib": 1.25, "n": 3},
            "relay": {"mibs": 150.0, "seek_ms": 15.0, "cpu_per_gib": 2.5, "n": 3, "reads_per_gib": 1024,
                      "bytes_per_read": 2**20, "writes_per_gib": 65536, "bytes_per_write": 16384}}


class Args:
    mib, rounds, seeks = 256, 3, 20


def test_report_table_ratio_ceiling_and_load(capsys):
    bench.report(results(), {"up": 1500.0, "down": 1200.0}, Args, ((1.5, 1.0, 0.5), (2.0, 1.25, 0.75)),
                 {"wireguard": "kernel", "mtu": "1420"})
    out = capsys.readouterr().out
    assert "before the rounds: 1.50 1.00 0.50, after: 2.00 1.25 0.75" in out
    assert "WireGuard (kernel on the relay), MTU 1420" in out
    rows = {line[:34].strip(): line[34:].split() for line in out.splitlines() if line.startswith(("direct", "relay"))}
    assert rows["direct (reverse_proxy, NAT lab)"] == ["200.0", "1678", "10.0", "1.25"]
    assert rows["relay (vps_relay, CGNAT lab)"] == ["150.0", "1258", "15.0", "2.50"]
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("throughput relay / direct  (goal >= 0.8)") and line.endswith("0.75   NOT met")
               for line in lines)
    assert any(line.startswith("seek TTFB relay / direct") and line.endswith("1.50") for line in lines)
    assert any("home -> relay (the viewers' streams)" in line and line.endswith("1500 Mbit/s") for line in lines)
    assert any("relay -> home (-R)" in line and line.endswith("1200 Mbit/s") for line in lines)
    assert any(line.startswith("relay stream / iperf3 ceiling") and line.endswith("0.84") for line in lines)
    calls = [line.split() for line in lines if line.startswith("relay (vps_relay") and "Mbit" not in line]
    assert calls[-1][-4:] == ["1024", "1048576", "65536", "16384"]


def test_report_says_when_iperf3_gave_nothing(capsys):
    bench.report(results(), {"up": None, "down": 700.0}, Args, ((0.0,) * 3, (0.0,) * 3), {})
    out = capsys.readouterr().out
    assert "home -> relay (the viewers' streams)" in out and "failed (see the log above)" in out
    assert "relay stream / iperf3 ceiling" not in out


def test_labs_settings_follow_the_scenarios(tmp_path):
    direct, relay = bench.lab_vars("direct", str(tmp_path)), bench.lab_vars("relay", str(tmp_path))
    assert direct["jellyfin_remote_method"] == "reverse_proxy" and "router" in direct["lab_acme_target"]
    assert relay["jellyfin_remote_method"] == "vps_relay" and "relay" in relay["lab_acme_target"]
    assert relay["lab_site_vars_extra"] == ["../vars/vps_relay.yml"]
    assert os.path.exists(os.path.join(REPO, "tests", "lab", "vars", "vps_relay.yml"))
    assert direct["jellyfin_remote_report_dir"] != relay["jellyfin_remote_report_dir"]
    groups = bench.groups_inventory("relay")["all"]["children"]
    assert list(groups["jellyfin_relay"]["hosts"]) == ["relay"]
    assert groups["jellyfin_relay"]["hosts"]["relay"]["reverse_proxy_server"] == "caddy"
    assert "jellyfin_relay" not in bench.groups_inventory("direct")["all"]["children"]


def test_lab_names_are_no_scenario_names():
    scenarios = set(os.listdir(os.path.join(REPO, "molecule")))
    assert not {bench.NAT_LAB, bench.RELAY_LAB} & scenarios


def test_harness_aims_at_the_viewer_host(monkeypatch):
    """reverse_proxy_bench's download and seeks run curl on the target's client host, with the
    name resolved to its address; the proxy's CPU is read on its own host."""
    calls = []

    class FakeLab:
        def sh(self, host, script, check=True):
            calls.append((host, script))
            if "CLK_TCK" in script:
                return subprocess.CompletedProcess([], 0, "10 5\n100\n", "")
            if "for o in" in script:
                return subprocess.CompletedProcess([], 0, "0.012 206\n0.020 206\n", "")
            return subprocess.CompletedProcess([], 0, "52428800 268435456 1.1", "")

    tgt = {"port": 443, "proxy": "caddy", "proxy_host": "relay", "client": "internet",
           "domain": bench.DOMAIN, "address": "192.0.2.10"}
    mibs, size, cpu, version = bench.rpb.download(FakeLab(), tgt, "h1")
    assert (mibs, size, cpu, version) == (50.0, 268435456, 0.0, "1.1")
    assert [call[0] for call in calls] == ["relay", "internet", "relay"]
    assert "--resolve jellyfin.ddns.lab.test:443:192.0.2.10" in calls[1][1]
    assert "https://jellyfin.ddns.lab.test:443/Videos/x/stream" in calls[1][1]
    calls.clear()
    assert bench.rpb.seek_ttfb(FakeLab(), tgt, 2, 2**28, seed=1) == [0.012, 0.020]
    assert calls[0][0] == "internet"
