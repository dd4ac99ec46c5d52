#!/usr/bin/env python3
"""Time to a public-IP answer with one healthy and one black-holed source (not a test).

Side by side, in one run, on loopback only:
  * homelab.jellyfin_remote.public_ip, given both sources (healthy first, then dead first);
  * community.general.ipify_facts pointed at the same stand-ins. It asks one URL, so
    "healthy first" means it is given the healthy one and "dead first" the black hole
    (it then waits for its timeout, 10 s by default, and fails).
The healthy source is the lab's IP-echo stand-in answering after --delay (default 300 ms),
the black hole accepts the connection and never answers. Each module's main() runs in a
fresh Python process with its arguments patched in (ansible.module_utils.testing), timed
from the call of main() to its exit: the modules' own time to an answer, without Python
and Ansible start-up (which both pay alike).
Goal: within 1.5x the healthy source's own latency, whatever the order. The source's own
latency is printed two ways: warm (a long-lived process repeating requests) and as a module
meets it (a fresh process with Ansible's URL library imported, timing one request); the
ratios use the second, the fair one, and the warm figure is shown beside it.

    .venv/bin/python benchmarks/public_ip_race.py [--runs 3] [--delay-ms 300]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "ipecho", "ipecho_standin.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_echo(mode, delay_ms, workdir):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, STANDIN, "--listen", "127.0.0.1", "--dns-port", "0", "--https-port", "0",
         "--http-port", str(port), "--mode", mode, "--delay-ms", str(delay_ms),
         "--log", os.path.join(workdir, "%s.log" % mode)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, "http://127.0.0.1:%d/" % port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the ipecho stand-in did not start")


RUNNER = r"""
import json, sys, time
from ansible.module_utils.testing import patch_module_args
module_path, args = sys.argv[1], json.loads(sys.argv[2])
module = __import__(module_path, fromlist=["main"])
with patch_module_args(args):
    start = time.monotonic()
    try:
        module.main()
    except SystemExit:
        pass
    elapsed = time.monotonic() - start
sys.stderr.write("\nELAPSED %f\n" % elapsed)
"""


def run_module(module_path, args, env):
    proc = subprocess.run([sys.executable, "-c", RUNNER, module_path, json.dumps(args)],
                          capture_output=True, text=True, env=env, check=False, timeout=60)
    elapsed = float(proc.stderr.rsplit("ELAPSED ", 1)[1].split()[0])
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        result = {"failed": True, "msg": proc.stdout[-200:]}
    return elapsed, result


COLD_FETCH = r"""
import sys, time
from ansible.module_utils.urls import open_url
start = time.monotonic()
open_url(sys.argv[1], timeout=5).read()
sys.stderr.write("\nELAPSED %f\n" % (time.monotonic() - start))
"""


def cold_fetch(url, env):
    proc = subprocess.run([sys.executable, "-c", COLD_FETCH, url], capture_output=True, text=True,
                          env=env, check=True, timeout=30)
    return float(proc.stderr.rsplit("ELAPSED ", 1)[1].split()[0])


def median_time(module_path, args, env, runs):
    times, last = [], None
    for _ in range(runs):
        elapsed, last = run_module(module_path, args, env)
        times.append(elapsed)
    return statistics.median(times), last


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay-ms", type=int, default=300)
    args = parser.parse_args()

    collections = os.path.join(REPO, ".cache", "collections")
    link = os.path.join(collections, "ansible_collections", "homelab", "jellyfin_remote")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    env = dict(os.environ)
    env["PYTHONPATH"] = collections
    env["no_proxy"] = "*"

    with tempfile.TemporaryDirectory() as workdir:
        healthy_proc, healthy = start_echo("normal", args.delay_ms, workdir)
        dead_proc, dead = start_echo("blackhole", 0, workdir)
        try:
            latencies = []
            for _ in range(5):
                t = time.monotonic()
                urllib.request.urlopen(healthy, timeout=5).read()
                latencies.append(time.monotonic() - t)
            warm = statistics.median(latencies)
            own = statistics.median(cold_fetch(healthy, env) for _ in range(args.runs))

            def ours(urls):
                return median_time("ansible_collections.homelab.jellyfin_remote.plugins.modules.public_ip", {
                    "ip_versions": [4], "dns_sources": [], "wan_source": "none", "timeout": 5,
                    "allow_ranges": ["127.0.0.0/8"],
                    "http_sources": [{"name": "s%d" % i, "url": u, "family": 4} for i, u in enumerate(urls)],
                }, env, args.runs)

            def ipify(url):
                return median_time("ansible_collections.community.general.plugins.modules.ipify_facts",
                                   {"api_url": url}, env, args.runs)

            rows = [
                ("public_ip", "healthy first", ours([healthy, dead])),
                ("public_ip", "dead first", ours([dead, healthy])),
                ("ipify_facts", "healthy first", ipify(healthy)),
                ("ipify_facts", "dead first", ipify(dead)),
            ]
        finally:
            for proc in (healthy_proc, dead_proc):
                proc.terminate()
                proc.wait(10)

    print("healthy source's own latency: %.0f ms as a module meets it (fresh process), %.0f ms warm; "
          "stand-in delay %d ms; medians of %d runs" % (own * 1000, warm * 1000, args.delay_ms, args.runs))
    print("%-12s %-14s %10s %8s  %s" % ("module", "order", "answer", "x own", "result"))
    for module, order, (answer, result) in rows:
        if result.get("failed"):
            outcome = "FAILED: %s" % str(result.get("msg", ""))[:70]
        else:
            facts = result.get("ansible_facts", {})
            outcome = "answer %s" % (result.get("ipv4") or facts.get("ipify_public_ip"))
        print("%-12s %-14s %8.0f ms %7.2fx  %s" % (module, order, answer * 1000, answer / own, outcome))
    print("goal: public_ip within 1.5x the healthy source's own latency in both orders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
